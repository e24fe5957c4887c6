/**
 * The `full` level adds to the contract what loads the server: many
 * clients at once, a line past the length limit, a client that does not
 * read, many abrupt disconnects, and at the end the server still
 * answering. The loads themselves are in `check/load.ts`.
 *
 * @module
 */

import { ask, line, type Rule, stillAnswers } from "../rule.ts";

const RESPONSES = "PROTOCOL.md § Responses";
const ENDS = "PROTOCOL.md § Ends of lines and of connections";
const LIMITS = "PROTOCOL.md § Limits";

/** The loads, in the order they run (after every contract rule). */
export const FULL_RULES: readonly Rule[] = [
  {
    id: "load.clients",
    over: "tcp",
    level: "full",
    source: LIMITS,
    text: {
      en:
        "50 clients at once each PUT, GET and DELETE keys of their own, and every answer is theirs",
      ko: "클라이언트 50개가 동시에 각자의 key를 PUT, GET, DELETE하고, 모든 답이 자기 요청에 맞다",
    },
    steps: [{ load: "clients", clients: 50, keysEach: 20 }],
  },
  {
    id: "load.long-line",
    over: "tcp",
    level: "full",
    source: RESPONSES,
    text: {
      en:
        "A line past the limit (--assume-max-line-bytes) gets Error: before its end; the server skips to its \\n and goes on",
      ko:
        "한도(--assume-max-line-bytes)를 넘는 줄은 끝나기 전에 Error:로 답하고, 서버는 그 \\n까지 건너뛴 뒤 계속한다",
    },
    steps: [{ load: "longLine" }],
  },
  {
    id: "load.slow-reader",
    over: "tcp",
    level: "full",
    source: ENDS,
    text: {
      en:
        "A client that sends 1,000 GETs of a 16 KiB value without reading does not delay another client, and gets every answer",
      ko:
        "16 KiB value의 GET 1,000개를 읽지 않고 보낸 클라이언트가 다른 클라이언트를 늦추지 않고, 나중에 모든 답을 받는다",
    },
    steps: [{ load: "slowReader", gets: 1_000, valueBytes: 16 * 1024 }],
  },
  {
    id: "load.disconnects",
    over: "tcp",
    level: "full",
    source: ENDS,
    text: {
      en:
        "200 clients that disconnect abruptly (mid-line, mid-pipeline, before reading) cost nothing to the others",
      ko:
        "갑자기 끊는 클라이언트 200개(줄 도중, 파이프라인 도중, 읽기 전)가 다른 클라이언트에 아무 영향을 주지 않는다",
    },
    steps: [{ load: "disconnects", connections: 200 }],
  },
  {
    id: "load.alive",
    level: "full",
    source: ENDS,
    text: {
      en: "After all of that, the server still stores, reads and answers",
      ko: "그 모든 일 뒤에도 서버는 여전히 저장하고, 읽고, 답한다",
    },
    steps: [
      ...ask("PUT, {k}alive, 1\n", line("Success!")),
      ...ask("GET, {k}alive\n", line("1")),
      ...stillAnswers(),
    ],
  },
];
