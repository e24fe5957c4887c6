/**
 * The `contract` level: PROTOCOL.md version 1's Requests and Responses, and
 * the parts of its connection rules a checker can see from outside (those
 * are in `contract_connections.ts`, and run last). Every
 * request ends in `\n` (except where a rule says otherwise), and every
 * answer is read as lines.
 *
 * Each rule names one thing, so that a server with one mistake fails the
 * rule that names it and no other: a request here uses the plainest form
 * of everything it does not check (`PUT, key, value`, no extra spaces, no
 * LIST), and an answer ended by `\r\n` fails `resp.lf` alone.
 *
 * @module
 */

import { ask, ERROR, line, type Rule, type Step, stillAnswers } from "../rule.ts";
import { CONTRACT_CONNECTION_RULES } from "./contract_connections.ts";

const REQUESTS = "PROTOCOL.md § Requests";
const RESPONSES = "PROTOCOL.md § Responses";
const SUCCESS = line("Success!");
const NOT_EXIST = line("Not exist!");

/** Each bad request answered with one `Error:` line, then a working request. */
function errorsThenPing(requests: readonly (string | readonly (string | number[])[])[]): Step[] {
  return requests.flatMap((request) => [...ask(request, ERROR), ...stillAnswers()]);
}

/**
 * The sentence of a rule whose bad request is answered and the next one
 * too: over TCP "the connection stays open", over UDP (no connection) the
 * server goes on answering. `en` and `ko` are the sentence up to there.
 */
function goesOn(en: string, ko: string): Pick<Rule, "text" | "udpText"> {
  return {
    text: { en: `${en}, and the connection stays open`, ko: `${ko} 연결을 유지한다` },
    udpText: { en: `${en}, and the server goes on answering`, ko: `${ko} 그 뒤에도 계속 답한다` },
  };
}

/** The contract's rules, in the order they run. */
export const CONTRACT_RULES: readonly Rule[] = [
  {
    id: "cmd.list-empty",
    level: "contract",
    source: REQUESTS,
    first: true,
    text: {
      en:
        "LIST on an empty store answers Not exist! then an empty line (skipped if the store already holds keys)",
      ko: "저장된 key가 없을 때 LIST는 Not exist!와 빈 줄로 답한다 (이미 key가 있으면 건너뜀)",
    },
    steps: ask("LIST\n", { emptyList: true }),
  },
  {
    id: "cmd.put",
    level: "contract",
    source: REQUESTS,
    text: { en: "PUT answers Success!", ko: "PUT은 Success!로 답한다" },
    steps: ask("PUT, {k}myname, yyjun\n", SUCCESS),
  },
  {
    id: "cmd.get",
    level: "contract",
    source: REQUESTS,
    text: { en: "GET answers the value stored", ko: "GET은 저장된 value로 답한다" },
    steps: [...ask("PUT, {k}myname, yyjun\n", SUCCESS), ...ask("GET, {k}myname\n", line("yyjun"))],
  },
  {
    id: "cmd.get-missing",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "GET of a missing key answers Not exist!",
      ko: "없는 key의 GET은 Not exist!로 답한다",
    },
    steps: ask("GET, {k}nobody\n", NOT_EXIST),
  },
  {
    id: "cmd.overwrite",
    level: "contract",
    source: REQUESTS,
    text: { en: "PUT overwrites an existing key", ko: "PUT은 이미 있는 key를 덮어쓴다" },
    steps: [
      ...ask("PUT, {k}overwrite, first\n", SUCCESS),
      ...ask("PUT, {k}overwrite, second\n", SUCCESS),
      ...ask("GET, {k}overwrite\n", line("second")),
    ],
  },
  {
    id: "cmd.delete",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "DELETE answers Success! for a key it removed, and Not exist! for a missing one",
      ko: "DELETE는 지운 key에 Success!, 없는 key에 Not exist!로 답한다",
    },
    steps: [
      ...ask("PUT, {k}deleted, yyjun\n", SUCCESS),
      ...ask("DELETE, {k}deleted\n", SUCCESS),
      ...ask("GET, {k}deleted\n", NOT_EXIST),
      ...ask("DELETE, {k}deleted\n", NOT_EXIST),
    ],
  },
  {
    id: "cmd.list",
    level: "contract",
    source: REQUESTS,
    text: {
      en:
        "LIST answers one line key, value per pair, once each, in any order, then an empty line; a deleted pair is gone from it",
      ko:
        "LIST는 쌍마다 key, value 한 줄씩 한 번만 (순서 무관) 답하고 빈 줄로 끝낸다. 지운 쌍은 LIST에서도 사라진다",
    },
    steps: [
      ...ask("PUT, {k}name, yyjun\n", SUCCESS),
      ...ask("PUT, {k}age, 20\n", SUCCESS),
      ...ask("LIST\n", { list: ["{k}name, yyjun", "{k}age, 20"] }),
      ...ask("DELETE, {k}age\n", SUCCESS),
      ...ask("LIST\n", { list: ["{k}name, yyjun"], deleted: ["{k}age"] }),
    ],
  },
  {
    id: "cmd.ping",
    level: "contract",
    source: REQUESTS,
    text: { en: "PING answers PONG", ko: "PING은 PONG으로 답한다" },
    steps: stillAnswers(),
  },
  {
    id: "cmd.quit",
    over: "tcp",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "QUIT answers Bye! and the server closes the connection, running nothing sent after it",
      ko: "QUIT은 Bye!로 답하고 서버가 연결을 닫으며, 그 뒤에 보낸 요청은 실행하지 않는다",
    },
    steps: [
      ...ask("QUIT\nPUT, {k}after-quit, 1\n", line("Bye!")),
      { expect: { closed: true } },
      ...ask("GET, {k}after-quit\n", NOT_EXIST, "next"),
    ],
  },
  {
    id: "req.crlf",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "A \\r before the \\n of a request is dropped, so \\r\\n works",
      ko: "요청의 \\n 앞에 있는 \\r은 버려지므로 \\r\\n으로 끝나도 된다",
    },
    steps: [
      ...ask("PUT, {k}crlf, windows\r\n", SUCCESS),
      ...ask("GET, {k}crlf\r\n", line("windows")),
      ...ask("PING\r\n", line("PONG")),
    ],
  },
  {
    id: "req.trim",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "Every field is trimmed of spaces and tabs",
      ko: "모든 필드의 앞뒤 공백과 탭은 잘라낸다",
    },
    steps: [
      ...ask("  PUT ,{k}trim,\t yyjun \t\n", SUCCESS),
      ...ask("GET,{k}trim\n", line("yyjun")),
      ...ask("\tGET\t,  {k}trim  \n", line("yyjun")),
    ],
  },
  {
    id: "req.trim-only-space-tab",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "Only spaces and tabs are trimmed: other white space (U+00A0, U+3000) is kept",
      ko: "공백과 탭만 잘라내고, 다른 공백 문자(U+00A0, U+3000)는 그대로 둔다",
    },
    steps: [
      ...ask("PUT, {k}nbsp, \u00a0yyjun\u3000\n", SUCCESS),
      ...ask("GET, {k}nbsp\n", line("\u00a0yyjun\u3000")),
    ],
  },
  {
    id: "req.case",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "The command word is case-insensitive",
      ko: "명령어는 대소문자를 구분하지 않는다",
    },
    steps: [
      ...ask("put, {k}case, 1\n", SUCCESS),
      ...ask("Get, {k}case\n", line("1")),
      ...ask("dElEtE, {k}case\n", SUCCESS),
      ...ask("ping\n", line("PONG")),
    ],
  },
  {
    id: "req.case-data",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "Keys and values keep their case: only the command word is case-insensitive",
      ko: "key와 value는 대소문자를 그대로 지킨다: 대소문자를 구분하지 않는 것은 명령어뿐이다",
    },
    steps: [
      ...ask("PUT, {k}MixedCase, yyJun\n", SUCCESS),
      ...ask("GET, {k}MixedCase\n", line("yyJun")),
      ...ask("GET, {k}mixedcase\n", NOT_EXIST),
    ],
  },
  {
    id: "req.case-ascii",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "Only ASCII letters are folded: pıng (dotless ı) is an unknown command",
      ko: "ASCII 글자만 대소문자를 맞춘다: pıng(점 없는 ı)은 알 수 없는 명령이다",
    },
    steps: [...ask("pıng\n", ERROR), ...stillAnswers()],
  },
  {
    id: "req.blank-line",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "An empty line, or one of only spaces and tabs, gets no answer",
      ko: "빈 줄이나 공백과 탭뿐인 줄에는 답하지 않는다",
    },
    steps: ask("\n \t\n\r\nPING\n", line("PONG")),
  },
  {
    id: "req.pipeline",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "Requests sent together are all answered, in order, one answer each",
      ko: "한꺼번에 보낸 요청마다 하나씩, 보낸 순서대로 답한다",
    },
    steps: ask(
      "PUT, {k}p1, 1\nPUT, {k}p2, 2\nGET, {k}p1\nGET, {k}p2\nDELETE, {k}p1\nGET, {k}p1\nPING\n",
      { lines: ["Success!", "Success!", "1", "2", "Success!", "Not exist!", "PONG"] },
    ),
  },
  {
    id: "req.split",
    over: "tcp",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "A request that arrives in pieces (split mid-word and mid-character) is one request",
      ko: "여러 조각으로 나뉘어 도착한 요청(단어와 글자 중간에서 나뉨)도 하나의 요청이다",
    },
    steps: [
      ...stillAnswers(),
      { sendPieces: ["PU", "T, {k}split, 한", [[0xea, 0xb8]], [[0x80]], "\n"], gapMs: 50 },
      { expect: SUCCESS },
      ...ask("GET, {k}split\n", line("한글")),
    ],
  },
  {
    id: "req.value-commas",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "A PUT value is everything after the second comma, commas included",
      ko: "PUT의 value는 두 번째 콤마 뒤 전부이며, 콤마도 포함한다",
    },
    steps: [
      ...ask("PUT, {k}greeting, hello, world\n", SUCCESS),
      ...ask("GET, {k}greeting\n", line("hello, world")),
      ...ask("PUT, {k}csv, a,b,,c\n", SUCCESS),
      ...ask("GET, {k}csv\n", line("a,b,,c")),
    ],
  },
  {
    id: "req.value-empty",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "A PUT value may be empty; GET then answers an empty line",
      ko: "PUT의 value는 비어 있어도 되며, 그때 GET은 빈 줄로 답한다",
    },
    steps: [
      ...ask("PUT, {k}empty,\n", SUCCESS),
      ...ask("GET, {k}empty\n", line("")),
      ...ask("PUT, {k}blank, \t \n", SUCCESS),
      ...ask("GET, {k}blank\n", line("")),
    ],
  },
  {
    id: "req.unicode",
    level: "contract",
    source: REQUESTS,
    text: {
      en: "Korean, emoji and NUL are ordinary characters in keys and values",
      ko: "한글, 이모지, NUL도 key와 value의 평범한 글자다",
    },
    steps: [
      ...ask("PUT, {k}과일, 사과 🍎\n", SUCCESS),
      ...ask("GET, {k}과일\n", line("사과 🍎")),
      ...ask("PUT, {k}nul, a\0b\n", SUCCESS),
      ...ask("GET, {k}nul\n", line("a\0b")),
    ],
  },
  {
    id: "resp.lf",
    level: "contract",
    source: RESPONSES,
    text: {
      en: "Every answer line ends with \\n alone, with no \\r before it",
      ko: "모든 응답 줄은 \\r 없이 \\n 하나로 끝난다",
    },
    steps: [
      ...ask("PING\n", { raw: "PONG\n" }),
      ...ask("PUT, {k}lf, 1\n", { raw: "Success!\n" }),
      ...ask("GET, {k}lf\n", { raw: "1\n" }),
    ],
  },
  {
    id: "err.unknown",
    level: "contract",
    source: RESPONSES,
    ...goesOn(
      "An unknown or empty command gets one Error: line",
      "알 수 없는 명령이나 빈 명령에는 Error: 한 줄로 답하고",
    ),
    steps: errorsThenPing(["FOO, bar\n", ", {k}x\n"]),
  },
  {
    id: "err.usage",
    level: "contract",
    source: RESPONSES,
    ...goesOn(
      "A wrong number of fields gets one Error: line, stores nothing",
      "필드 수가 틀리면 Error: 한 줄로 답하고, 아무것도 저장하지 않으며,",
    ),
    steps: [
      ...errorsThenPing([
        "PUT, {k}usage\n",
        "GET\n",
        "GET, {k}usage,\n",
        "DELETE\n",
        "DELETE, {k}usage, x\n",
        "LIST, x\n",
        "PING, x\n",
        "QUIT, x\n",
      ]),
      ...ask("GET, {k}usage\n", NOT_EXIST),
    ],
  },
  {
    id: "err.empty-key",
    level: "contract",
    source: RESPONSES,
    ...goesOn("An empty key gets one Error: line", "빈 key에는 Error: 한 줄로 답하고"),
    steps: errorsThenPing(["PUT, , x\n", "PUT,,x\n", "GET, \n", "DELETE,\t\n"]),
  },
  {
    id: "err.utf8",
    level: "contract",
    source: RESPONSES,
    ...goesOn(
      "A request that is not valid UTF-8 gets one Error: line, stores nothing",
      "UTF-8이 아닌 요청에는 Error: 한 줄로 답하고, 아무것도 저장하지 않으며,",
    ),
    steps: [
      ...errorsThenPing([["PUT, {k}bad, ", [0xff, 0xfe], "\n"], ["GET, {k}", [0xc3], "\n"]]),
      ...ask("GET, {k}bad\n", NOT_EXIST),
    ],
  },
  ...CONTRACT_CONNECTION_RULES,
];
