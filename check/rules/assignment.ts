/**
 * The `assignment` level: only what the course assignment asks
 * (../shared/seeds/assignment.md), with its own examples. Each request goes
 * alone on a fresh connection, without `\n`, and its answer is whatever
 * arrives before a short quiet pause, with or without a final `\n`: the way
 * a textbook server (one client at a time, one `recv(1024)` per request)
 * and its client work.
 *
 * @module
 */

import { ANY, ask, line, type Rule, type Text } from "../rule.ts";

/** The assignment's example or words, quoted in both languages (the assignment is in Korean). */
function source(en: string, ko: string = en): Text {
  return { en: `assignment (과제): ${en}`, ko: `과제: ${ko}` };
}
const NOT_EXIST = line("Not exist!");
/** The server still answers: a fresh connection gets `Not exist!` for a missing key. */
const STILL_ANSWERS = ask("GET, {k}nobody", NOT_EXIST);

/** The assignment's rules, in the order they run. */
export const ASSIGNMENT_RULES: readonly Rule[] = [
  {
    id: "a.list-empty",
    level: "assignment",
    source: source("LIST → Not exist!"),
    first: true,
    text: {
      en: "LIST on an empty store answers Not exist! (skipped if the store already holds keys)",
      ko: "저장된 key가 없을 때 LIST는 Not exist!로 답한다 (이미 key가 있으면 건너뜀)",
    },
    steps: ask("LIST", { emptyList: true }),
  },
  {
    id: "a.put",
    level: "assignment",
    source: source("PUT, myname, yyjun → Success!"),
    text: {
      en: "PUT stores a value and answers Success!",
      ko: "PUT은 value를 저장하고 Success!로 답한다",
    },
    steps: ask("PUT, {k}myName, yyJun", line("Success!")),
  },
  {
    id: "a.get",
    level: "assignment",
    source: source("GET, myname → yyjun"),
    text: {
      en: "GET answers the value stored under the key",
      ko: "GET은 그 key에 저장된 value로 답한다",
    },
    steps: [
      // Mixed case: a server that lower()s the request (to take "put" for
      // "PUT") changes the data too, and must not pass.
      ...ask("PUT, {k}myName, yyJun", line("Success!")),
      ...ask("GET, {k}myName", line("yyJun")),
    ],
  },
  {
    id: "a.get-missing",
    level: "assignment",
    source: source("GET, myname → Not exist!"),
    text: {
      en: "GET of a key that does not exist answers Not exist!",
      ko: "없는 key를 GET하면 Not exist!로 답한다",
    },
    steps: ask("GET, {k}nobody", NOT_EXIST),
  },
  {
    id: "a.overwrite",
    level: "assignment",
    source: source(
      "PUT of the same key overwrites",
      "동일한 key에 대해서 PUT 요청이 오면 덮어쓰기",
    ),
    text: {
      en: "A second PUT of the same key overwrites its value",
      ko: "같은 key에 다시 PUT하면 value를 덮어쓴다",
    },
    steps: [
      ...ask("PUT, {k}overwrite, first", line("Success!")),
      ...ask("PUT, {k}overwrite, second", line("Success!")),
      ...ask("GET, {k}overwrite", line("second")),
    ],
  },
  {
    id: "a.delete",
    level: "assignment",
    source: source("DELETE, myname → Success!"),
    text: {
      en: "DELETE removes the pair and answers Success!; GET then answers Not exist!",
      ko: "DELETE는 그 쌍을 지우고 Success!로 답하며, 그 뒤 GET은 Not exist!로 답한다",
    },
    steps: [
      ...ask("PUT, {k}deleted, yyjun", line("Success!")),
      ...ask("DELETE, {k}deleted", line("Success!")),
      ...ask("GET, {k}deleted", NOT_EXIST),
    ],
  },
  {
    id: "a.delete-missing",
    level: "assignment",
    source: source("DELETE, myname → Not exist!"),
    text: {
      en: "DELETE of a key that does not exist answers Not exist!",
      ko: "없는 key를 DELETE하면 Not exist!로 답한다",
    },
    steps: ask("DELETE, {k}nobody", NOT_EXIST),
  },
  {
    id: "a.list",
    level: "assignment",
    source: source("LIST → name, yyjun / age, 20 / role, backend"),
    text: {
      en:
        "LIST answers a line key, value for every pair, once each, in any order; a deleted pair is gone from it",
      ko:
        "LIST는 모든 쌍을 한 줄에 하나씩 한 번만 key, value로 답한다 (순서는 상관없음). 지운 쌍은 LIST에서도 사라진다",
    },
    steps: [
      // Keys and values as sent: mixed case, and a space inside a value.
      ...ask("PUT, {k}Name, yyJun", line("Success!")),
      ...ask("PUT, {k}age, 20", line("Success!")),
      ...ask("PUT, {k}ROLE, Back End", line("Success!")),
      ...ask("LIST", { list: ["{k}Name, yyJun", "{k}age, 20", "{k}ROLE, Back End"] }),
      ...ask("DELETE, {k}age", line("Success!")),
      ...ask("LIST", { list: ["{k}Name, yyJun", "{k}ROLE, Back End"], deleted: ["{k}age"] }),
    ],
  },
  {
    id: "a.unknown-command",
    level: "assignment",
    source: source(
      "the server never dies (unknown command)",
      "서버는 항상 죽지 않고 요청을 수용 (알 수 없는 명령)",
    ),
    text: {
      en: "An unknown command gets an answer, and the server still answers after it",
      ko: "알 수 없는 명령에도 답하고, 그 뒤에도 서버가 계속 답한다",
    },
    steps: [...ask("HELLO, {k}myname", ANY), ...STILL_ANSWERS],
  },
  {
    id: "a.missing-fields",
    level: "assignment",
    source: source(
      "the server never dies (missing fields)",
      "서버는 항상 죽지 않고 요청을 수용 (필드 부족)",
    ),
    text: {
      en: "A request with missing fields gets an answer, and the server still answers after it",
      ko: "필드가 빠진 요청에도 답하고, 그 뒤에도 서버가 계속 답한다",
    },
    steps: [
      ...ask("PUT, {k}incomplete", ANY),
      ...ask("GET", ANY),
      ...ask("PUT", ANY),
      ...STILL_ANSWERS,
    ],
  },
  {
    id: "a.extra-fields",
    level: "assignment",
    source: source(
      "the server never dies (more fields than the command takes)",
      "서버는 항상 죽지 않고 요청을 수용 (명령보다 많은 필드)",
    ),
    text: {
      en:
        "A request with more fields than its command takes (or a value holding commas) gets an answer, and the server still answers after it",
      ko:
        "명령이 받는 것보다 필드가 많은 요청(또는 콤마가 든 value)에도 답하고, 그 뒤에도 서버가 계속 답한다",
    },
    // Which answer is not the assignment's to say (the contract's is in
    // req.value-commas and err.usage): only that one comes, and the server lives.
    steps: [
      ...ask("PUT, {k}greeting, hello, world", ANY),
      ...ask("GET, {k}greeting, extra", ANY),
      ...ask("DELETE, {k}greeting, extra", ANY),
      ...STILL_ANSWERS,
    ],
  },
  {
    id: "a.invalid-utf8",
    level: "assignment",
    source: source(
      "the server never dies (bytes that are not UTF-8)",
      "서버는 항상 죽지 않고 요청을 수용 (UTF-8이 아닌 바이트)",
    ),
    text: {
      en: "A request that is not valid UTF-8 gets an answer, and the server still answers after it",
      ko: "UTF-8이 아닌 바이트가 든 요청에도 답하고, 그 뒤에도 서버가 계속 답한다",
    },
    steps: [...ask(["PUT, {k}bytes, ", [0xff, 0xfe, 0xc3]], ANY), ...STILL_ANSWERS],
  },
  {
    id: "a.disconnect",
    over: "tcp",
    level: "assignment",
    source: source(
      "the server never dies (a client that leaves abruptly)",
      "서버는 항상 죽지 않고 요청을 수용 (갑자기 끊는 클라이언트)",
    ),
    text: {
      en:
        "Clients that disconnect abruptly (before sending, mid-request, before reading the answer, or with a reset as a killed client does) do not stop the server",
      ko:
        "클라이언트가 갑자기 끊어도 (보내기 전, 요청 도중, 답을 읽기 전, 또는 강제 종료된 클라이언트처럼 리셋으로) 서버는 멈추지 않는다",
    },
    steps: [
      { send: "" },
      { disconnect: true },
      { send: "GET, {k}nob" },
      { disconnect: true },
      { send: "GET, {k}nobody" },
      { disconnect: true, afterMs: 300 },
      // A reset (RST, no FIN): recv() raises ConnectionResetError, not b"".
      { reset: "", afterMs: 0 },
      { reset: "GET, {k}nobody", afterMs: 300 },
      ...STILL_ANSWERS,
    ],
  },
];
