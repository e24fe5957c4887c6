/**
 * The `contract` level's rules about connections: PROTOCOL.md's Ends of
 * lines and of connections (a half-close, a client that never sends `\n`,
 * one that leaves mid-request or resets) and, through its Limits, many
 * clients served at once. They run after the requests and responses
 * (`contract.ts`).
 *
 * @module
 */

import { ask, line, type Rule, stillAnswers } from "../rule.ts";

const ENDS = "PROTOCOL.md § Ends of lines and of connections";
const LIMITS = "PROTOCOL.md § Limits";
const SUCCESS = line("Success!");

/** The contract's connection rules, in the order they run. */
export const CONTRACT_CONNECTION_RULES: readonly Rule[] = [
  {
    id: "conn.half-close",
    over: "tcp",
    level: "contract",
    source: ENDS,
    text: {
      en:
        "A last line with no \\n is still answered when the client half-closes, then the server closes",
      ko:
        "클라이언트가 쓰기 쪽을 닫으면(half-close) \\n 없는 마지막 줄에도 답하고 서버가 연결을 닫는다",
    },
    steps: [
      ...ask("PUT, {k}half, 1\n", SUCCESS),
      { send: "GET, {k}half" },
      { closeWrite: true },
      { expect: line("1") },
      { expect: { closed: true } },
    ],
  },
  {
    id: "conn.unframed",
    over: "tcp",
    level: "contract",
    source: ENDS,
    unframed: true,
    text: {
      en: "A client that has never sent \\n gets its line answered after a short pause",
      ko: "\\n을 한 번도 보내지 않은 클라이언트의 줄은 잠깐 멈춘 뒤 요청으로 받아 답한다",
    },
    steps: [
      ...ask("PING", line("PONG")),
      ...ask("PUT, {k}unframed, 1", SUCCESS),
      ...ask("GET, {k}unframed\n", line("1")),
    ],
  },
  {
    id: "conn.unframed-after-newline",
    over: "tcp",
    level: "contract",
    source: ENDS,
    text: {
      en: "Once a client has sent \\n, only \\n ends its requests: a partial line waits for it",
      ko: "클라이언트가 한 번 \\n을 보낸 뒤에는 \\n만이 요청을 끝낸다: 덜 온 줄은 \\n을 기다린다",
    },
    steps: [
      ...stillAnswers(),
      ...ask("PING", { silenceMs: 500 }),
      ...ask("\n", line("PONG")),
    ],
  },
  {
    id: "conn.concurrent",
    over: "tcp",
    level: "contract",
    // The contract says it through the limit: clients are served at once up
    // to --max-connections. A server that serves one at a time fails here.
    source: `${LIMITS}: up to --max-connections (10000) clients at once, not one at a time`,
    text: {
      en: "A second client is served while the first stays connected",
      ko: "첫 클라이언트가 연결된 채로 있어도 두 번째 클라이언트에 답한다",
    },
    steps: [...stillAnswers("first"), ...stillAnswers("second"), ...stillAnswers("first")],
  },
  {
    id: "conn.disconnect",
    over: "tcp",
    level: "contract",
    source: ENDS,
    text: {
      en:
        "A client that disconnects mid-request and mid-pipeline, or resets its connection, costs nothing but its own connection",
      ko:
        "요청이나 파이프라인 도중에 끊거나 연결을 리셋한 클라이언트는 자기 연결 말고는 아무것도 잃게 하지 않는다",
    },
    steps: [
      ...ask("PUT, {k}survivor, 1\n", SUCCESS),
      ...stillAnswers("leaver"),
      { send: "GET, {k}survivor\nGET, {k}survivor\nGET, {k}surv", on: "leaver" },
      { disconnect: true, afterMs: 100, on: "leaver" },
      { reset: "GET, {k}survivor\nGET, {k}survivor\nGET, {k}surv", afterMs: 100 },
      ...ask("GET, {k}survivor\n", line("1")),
      ...stillAnswers("newcomer"),
    ],
  },
];
