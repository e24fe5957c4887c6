/**
 * The words of a rule's result, in English and Korean: why it failed, what
 * it expected, why it was skipped, and why the cleanup thinks a key may be
 * left; and the tests that tell one reason from another. Each returns both
 * languages; the reporter picks one. The report's words around the rules are
 * in `report_messages.ts`, the hints after its summary in
 * `hint_messages.ts`.
 *
 * @module
 */

import type { Text } from "./rule.ts";
import { show } from "../net/show.ts";

/** A sentence in both languages. */
export function text(en: string, ko: string): Text {
  return { en, ko };
}

/** Milliseconds as seconds, to a tenth: `1500` is `"1.5"`. */
export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}`;
}

/** Why a rule failed. */
export const REASON = {
  timeout: (ms: number) =>
    text(`no answer within ${seconds(ms)} s`, `${seconds(ms)}초 안에 답이 없음`),
  quiet: (ms: number) =>
    text(
      `the answer stopped without a \\n (nothing more for ${ms} ms): answers must end with \\n`,
      `답이 \\n 없이 멈춤 (${ms} ms 동안 더 오지 않음): 답은 \\n으로 끝나야 함`,
    ),
  closed: () => text("the server closed the connection", "서버가 연결을 닫음"),
  closedSilently: () =>
    text("the server closed the connection without answering", "서버가 답 없이 연결을 닫음"),
  differs: () => text("a different answer", "기대와 다른 답"),
  answeredSome: (answered: number, requests: number, ms: number) =>
    text(
      `${answered} of the ${requests} answers, then none within ${
        seconds(ms)
      } s: does the server ` +
        "read one request per recv()? One recv() may return several requests sent together (or " +
        "part of one): split what it returns on \\n and answer each line",
      `답 ${requests}개 중 ${answered}개만 오고 ${
        seconds(ms)
      }초 안에 더 오지 않음: 서버가 recv() ` +
        "한 번에 요청 하나만 읽나요? recv() 한 번이 한꺼번에 보낸 요청 여러 개(또는 요청의 일부)를 " +
        "돌려줄 수 있으니, 받은 것을 \\n으로 나눠 줄마다 답하세요",
    ),
  spaces: () =>
    text(
      "a different answer: it has spaces or tabs around it. Does the server strip() each field " +
        'of a request ("PUT, key, value" has a space after each comma), and send its answers as ' +
        "they are?",
      "다른 답: 앞뒤에 공백이나 탭이 있음. 서버가 요청의 각 필드를 strip()하나요? " +
        '("PUT, key, value"에는 콤마마다 뒤에 공백이 있음) 답은 그대로 보내나요?',
    ),
  caseChanged: () =>
    text(
      "a different answer: the same letters in another case. Does the server lower() or " +
        "upper() the whole request (to take put for PUT)? Only the command word is " +
        "case-insensitive: keys and values must be kept as they were sent",
      "다른 답: 글자는 같은데 대소문자가 다름. 서버가 (put을 PUT으로 받으려고) 요청 전체를 " +
        "lower()나 upper()하나요? 대소문자를 구분하지 않는 것은 명령어뿐이고, key와 value는 " +
        "보낸 그대로 지켜야 함",
    ),
  notError: () =>
    text(
      'the answer is not one line starting with "Error: "',
      '답이 "Error: "로 시작하는 한 줄이 아님',
    ),
  crlf: () =>
    text("the line ends with \\r\\n, not \\n alone", "줄이 \\n 하나가 아니라 \\r\\n으로 끝남"),
  listShape: (line: Uint8Array) =>
    text(
      `a LIST line without ", " in it: ${show(line)}`,
      `", "가 없는 LIST 줄: ${show(line)}`,
    ),
  /** `instead`: the lines LIST shows for those keys, with another value (a value changed). */
  listMissing: (lines: readonly string[], instead: readonly string[] = []) =>
    text(
      `LIST left out ${lines.map((line) => show(line)).join(", ")}` +
        (instead.length === 0
          ? ""
          : `; for the same key it shows ${instead.map((line) => show(line)).join(", ")}`),
      `LIST에 ${lines.map((line) => show(line)).join(", ")} 줄이 없음` +
        (instead.length === 0
          ? ""
          : `. 같은 key로는 ${instead.map((line) => show(line)).join(", ")} 줄이 있음`),
    ),
  listTwice: (line: string) =>
    text(
      `LIST showed ${show(line)} more than once: each pair must be listed once`,
      `LIST가 ${show(line)} 줄을 두 번 이상 보여 줌: 쌍마다 한 번씩만 보여야 함`,
    ),
  listDeleted: (line: string) =>
    text(
      `LIST still shows ${show(line)}, though DELETE of its key answered Success!: ` +
        "a deleted pair must be gone from the store, not only from GET",
      `key의 DELETE가 Success!로 답했는데도 LIST가 ${show(line)} 줄을 아직 보여 줌: ` +
        "지운 쌍은 GET에서만이 아니라 저장소에서 없어져야 함",
    ),
  listCaseChanged: (lines: readonly string[]) =>
    text(
      `LIST left out ${
        lines.map((line) => show(line)).join(", ")
      }: it shows them with their letters in another case. Does the server lower() or upper() ` +
        "the whole request? Only the command word is case-insensitive: keys and values must be " +
        "kept as they were sent",
      `LIST에 ${
        lines.map((line) => show(line)).join(", ")
      } 줄이 없고, 대소문자만 다른 줄이 있음. ` +
        "서버가 요청 전체를 lower()나 upper()하나요? 대소문자를 구분하지 않는 것은 명령어뿐이고, " +
        "key와 value는 보낸 그대로 지켜야 함",
    ),
  listUnspaced: (lines: readonly string[]) =>
    text(
      `LIST left out ${
        lines.map((line) => show(line)).join(", ")
      }: it shows them without the space after the comma. Each pair is "key, value", a comma ` +
        "and a space between them (as the assignment's example shows)",
      `LIST에 ${
        lines.map((line) => show(line)).join(", ")
      } 줄이 없고, 콤마 뒤에 공백이 없는 줄이 있음. 한 쌍은 "key, value"처럼 콤마 다음에 공백 하나가 ` +
        "옴 (과제의 예시처럼)",
    ),
  listEnd: (ms: number) =>
    text(
      `no empty line within ${seconds(ms)} s: LIST's answer must end with one`,
      `${seconds(ms)}초 안에 빈 줄이 없음: LIST의 답은 빈 줄로 끝나야 함`,
    ),
  tooMuch: (bytes: number) =>
    text(
      `more than ${bytes.toLocaleString("en")} bytes without a \\n: the answer never ends`,
      `\\n 없이 ${bytes.toLocaleString("en")}바이트를 넘게 보냄: 답이 끝나지 않음`,
    ),
  lineTooLong: (bytes: number, longest: number, assumedLimit = false) =>
    text(
      `more than ${bytes.toLocaleString("en")} bytes came without a \\n, where a right answer's ` +
        `line has at most ${longest.toLocaleString("en")}` +
        (assumedLimit
          ? " (a pair is stored by a request within the server's line limit, taken to be " +
            `${longest.toLocaleString("en")} bytes: give a larger one with --assume-max-line-bytes)`
          : "") +
        ": this cannot be the answer, so the check stopped reading (does the server send " +
        "without end, or send one answer again and again?)",
      `\\n 없이 ${bytes.toLocaleString("en")}바이트를 넘게 받음. 맞는 답의 줄은 길어야 ` +
        `${longest.toLocaleString("en")}바이트` +
        (assumedLimit
          ? "(LIST의 쌍은 서버의 줄 한도 안에 드는 요청으로 저장되고, 그 한도를 " +
            `${
              longest.toLocaleString("en")
            }바이트로 봄. 서버의 한도가 더 크면 --assume-max-line-bytes로 알려 주세요)`
          : "") +
        "이므로 답일 수 없어 읽기를 멈춤 (서버가 끝없이 보내거나, 같은 답을 되풀이해 보내나요?)",
    ),
  /** A textbook answer (read to a pause) cut off: no right one is that long. */
  answerTooLong: (bytes: number, longest: number) =>
    text(
      `more than ${bytes.toLocaleString("en")} bytes came without a pause, where a right ` +
        `answer has at most ${longest.toLocaleString("en")}: this cannot be the answer, so the ` +
        "check stopped reading (does the server send without end, or send one answer again " +
        "and again?)",
      `멈춤 없이 ${bytes.toLocaleString("en")}바이트를 넘게 받음. 맞는 답은 길어야 ` +
        `${longest.toLocaleString("en")}바이트이므로 답일 수 없어 읽기를 멈춤 (서버가 끝없이 ` +
        "보내거나, 같은 답을 되풀이해 보내나요?)",
    ),
  /** A LIST answer cut off after `lines` lines that no pair has (no comma). */
  listNotPairs: (lines: number) =>
    text(
      `more than ${
        lines.toLocaleString("en")
      } lines in a row of LIST's answer have no comma: they ` +
        "cannot be pairs, so the check stopped reading (does the server send without end, or " +
        "send one answer again and again?)",
      `LIST의 답에서 쉼표 없는 줄을 ${
        lines.toLocaleString("en")
      }개 넘게 잇달아 받음. 쌍일 수 없어 ` +
        "읽기를 멈춤 (서버가 끝없이 보내거나, 같은 답을 되풀이해 보내나요?)",
    ),
  neverEnds: (bytes: number, ms: number) =>
    text(
      `the answer went on past ${bytes.toLocaleString("en")} bytes or ${
        seconds(ms)
      } s without a pause: it never ends`,
      `답이 멈춤 없이 ${bytes.toLocaleString("en")}바이트 또는 ${
        seconds(ms)
      }초를 넘게 이어짐: 끝나지 않음`,
    ),
  listNeverEnds: (ms: number) =>
    text(
      `LIST's answer went on for more than ${seconds(ms)} s without its empty line`,
      `LIST의 답이 빈 줄 없이 ${seconds(ms)}초 넘게 이어짐`,
    ),
  emptyAnswer: () => text("an empty answer", "빈 답"),
  stayedOpen: (ms: number, halfClosed: boolean) =>
    halfClosed
      ? text(
        `the connection was still open ${seconds(ms)} s after the client half-closed it ` +
          `(FIN, shutdown(SHUT_WR)): does the server's loop stop when recv() returns b""?`,
        `클라이언트가 쓰기 쪽을 닫고(FIN, shutdown(SHUT_WR)) ${seconds(ms)}초 뒤에도 연결이 열려 ` +
          '있음: recv()가 b""를 돌려줄 때 서버의 루프가 멈추나요?',
      )
      : text(
        `the connection was still open after ${seconds(ms)} s`,
        `${seconds(ms)}초 뒤에도 연결이 열려 있음`,
      ),
  sentMore: (halfClosed: boolean) =>
    halfClosed
      ? text(
        "the server sent more instead of closing, after the client half-closed " +
          '(FIN, shutdown(SHUT_WR)): does its loop stop when recv() returns b""?',
        "클라이언트가 쓰기 쪽을 닫은(FIN, shutdown(SHUT_WR)) 뒤에도 서버가 연결을 닫지 않고 더 보냄: " +
          'recv()가 b""를 돌려줄 때 루프가 멈추나요?',
      )
      : text("the server sent more instead of closing", "서버가 연결을 닫지 않고 더 보냄"),
  answeredEarly: () =>
    text("the server answered a line before its \\n came", "서버가 \\n이 오기 전에 답함"),
  connect: (why: string) =>
    text(
      `cannot connect: ${why} (has the server stopped?)`,
      `연결할 수 없음: ${why} (서버가 멈췄나요?)`,
    ),
  stopped: () =>
    text(
      "cannot connect: connection refused, so the server has stopped (did an earlier step crash it? see its terminal)",
      "연결할 수 없음: 연결이 거부되었으니 서버가 멈춘 것입니다 (앞 단계에서 죽었나요? 서버의 터미널을 보세요)",
    ),
  stoppedAfterReset: () =>
    text(
      "cannot connect: connection refused, so the server has stopped, right after a client " +
        "reset its connection (an RST, as a client killed with its answer unread sends). " +
        "Its recv() or send() raised ConnectionResetError ([Errno 104] on Linux, [WinError 10054] " +
        "on Windows, where accept() itself may raise it for a client that reset before it was " +
        "accepted): catch OSError around each client's conversation and around accept(), close " +
        "that socket, and go on accepting (see its terminal)",
      "연결할 수 없음: 연결이 거부되었으니 서버가 멈춘 것입니다. 바로 앞에서 클라이언트가 연결을 " +
        "리셋했습니다(답을 읽지 않은 채 강제 종료된 클라이언트처럼 RST를 보냄). 서버의 recv()나 " +
        "send()가 ConnectionResetError를 일으켰습니다(Linux에서는 [Errno 104], Windows에서는 " +
        "[WinError 10054]. Windows에서는 accept()되기 전에 리셋한 클라이언트 때문에 accept() 자체가 " +
        "이 예외를 일으킬 수도 있습니다): 클라이언트 하나와 주고받는 부분 전체와 accept()를 각각 " +
        "try/except OSError로 감싸고, 그 소켓을 닫은 뒤 계속 accept()하세요 (서버의 터미널을 보세요)",
    ),
  stoppedAfterProbe: () =>
    text(
      "cannot connect: connection refused, so the server has stopped, and it has answered " +
        "nothing since kv check's first connection, which connected and closed without " +
        "sending anything (to see that the server is up). Does it crash when a client leaves, " +
        'when recv() returns b""? A server must take an empty recv() as that client\'s end ' +
        "and go on accepting others (see its terminal)",
      "연결할 수 없음: 연결이 거부되었으니 서버가 멈춘 것입니다. 서버는 kv check의 첫 연결" +
        "(서버가 켜져 있는지 보려고 연결했다가 아무것도 보내지 않고 닫은 연결) 뒤로 아무 답도 " +
        '하지 않았습니다. 클라이언트가 나갈 때, 즉 recv()가 b""를 돌려줄 때 죽나요? 빈 recv()는 ' +
        "그 클라이언트의 끝으로 보고 다른 클라이언트를 계속 accept()해야 합니다 (서버의 터미널을 보세요)",
    ),
  writeTimeout: (ms: number) =>
    text(
      `the server read nothing for ${seconds(ms)} s while the request was being sent`,
      `요청을 보내는 중에 서버가 ${seconds(ms)}초 동안 아무것도 읽지 않음`,
    ),
  writeClosed: () =>
    text(
      "the server closed the connection before the request was sent",
      "요청을 다 보내기 전에 서버가 연결을 닫음",
    ),
  /** Prefixes a load's reason with which of its clients saw it. */
  client: (index: number, of: number, reason: Text) =>
    text(`client ${index} of ${of}: ${reason.en}`, `클라이언트 ${index}/${of}: ${reason.ko}`),
} as const;

/** Why the cleanup thinks a key of the run's may be left in the store. */
export const CLEANUP = {
  /** LIST still shows it; `answer` is what its DELETE got (undefined: nothing; null: not asked). */
  listed: (answer: string | undefined | null, line: string) =>
    answer === null
      ? text(`LIST still shows ${show(line)}`, `LIST에 아직 ${show(line)} 줄이 있음`)
      : answer === undefined
      ? text(
        `DELETE got no answer, and LIST still shows ${show(line)}`,
        `DELETE에 답이 없었고, LIST에 아직 ${show(line)} 줄이 있음`,
      )
      : text(
        `DELETE answered ${show(answer)}, yet LIST still shows ${show(line)}`,
        `DELETE에 ${show(answer)}(으)로 답했지만 LIST에 아직 ${show(line)} 줄이 있음`,
      ),
  listedOther: () =>
    text(
      "LIST shows this line of the run's, which names no key as it was sent (the server changed it)",
      "LIST에 이 실행의 줄이 있는데, 보낸 그대로의 key가 아님 (서버가 바꿔서 저장함)",
    ),
  notAsked: () =>
    text(
      "not asked to DELETE: the server had stopped answering",
      "DELETE를 보내지 않음: 서버가 더 답하지 않았음",
    ),
  stopped: () =>
    text(
      "not deleted: the server had stopped (its connect was refused)",
      "지우지 못함: 서버가 멈춰 있었음 (연결이 거부됨)",
    ),
  unanswered: () =>
    text(
      "DELETE got no answer, and LIST could not be read to see whether it is gone",
      "DELETE에 답이 없었고, 지워졌는지 LIST로 확인할 수 없었음",
    ),
  refused: (answer: string) =>
    text(`DELETE answered ${show(answer)}`, `DELETE에 ${show(answer)}(으)로 답함`),
  unconfirmed: () =>
    text(
      'DELETE answered "Not exist!", and LIST could not be read to see whether the server ' +
        'holds it under another name (" key", when a server does not strip() its fields)',
      'DELETE에 "Not exist!"로 답했고, 서버가 다른 이름으로(필드를 strip()하지 않는 서버라면 ' +
        '" key"로) 갖고 있는지 LIST로 확인할 수 없었음',
    ),
} as const;

/** What a rule expected, when that is not a literal answer. */
export const EXPECTED = {
  textbook: (answer: string) =>
    text(`${show(answer)} (a final \\n may follow)`, `${show(answer)} (끝의 \\n은 있어도 됨)`),
  error: () => text('one line starting with "Error: "', '"Error: "로 시작하는 한 줄'),
  any: () => text("any answer", "아무 답이든"),
  list: (lines: readonly string[]) =>
    text(
      `lines ${
        lines.map((line) => show(line)).join(", ")
      } in any order, among others, then an empty line`,
      `${
        lines.map((line) => show(line)).join(", ")
      } 줄 (순서 무관, 다른 줄도 있을 수 있음), 그리고 빈 줄`,
    ),
  textbookList: (lines: readonly string[]) =>
    text(
      `lines ${lines.map((line) => show(line)).join(", ")} in any order, among others`,
      `${lines.map((line) => show(line)).join(", ")} 줄 (순서 무관, 다른 줄도 있을 수 있음)`,
    ),
  closed: () => text("the server closes the connection", "서버가 연결을 닫음"),
  silence: (ms: number) => text(`no answer for ${ms} ms`, `${ms} ms 동안 답이 없음`),
  literal: (answer: string | Uint8Array) => text(show(answer), show(answer)),
} as const;

/** Why a rule was skipped. */
export const SKIPPED = {
  storeHasKeys: (pairs: number) =>
    text(
      `the store already holds ${pairs} pair(s), so an empty LIST cannot be checked`,
      `저장소에 이미 ${pairs}개의 쌍이 있어 빈 LIST를 확인할 수 없음`,
    ),
  framedByAuth: text(
    "with --password-file, AUTH ends with \\n first, so no connection is unframed any more",
    "--password-file을 주면 AUTH가 먼저 \\n으로 끝나므로, \\n을 보내지 않은 연결이 남지 않음",
  ),
} as const;

/** Whether a failed step sent a PING (the request that checks the server still answers). */
export function failedAtPing(failure: { readonly sent?: Uint8Array }): boolean {
  const sent = failure.sent === undefined ? "" : new TextDecoder().decode(failure.sent);
  return /^[ \t]*ping[ \t]*\r?\n?$/i.test(sent);
}

/** Whether a failure is that no answer came in time. */
export function isTimeout(reason: Text): boolean {
  return reason.en.startsWith("no answer within");
}

/** Whether a failure is for a line longer than any right answer's, cut off. */
export function isLineTooLong(reason: Text): boolean {
  return reason.en.includes("where a right answer's line has at most");
}

/** Whether a failure is for want of a `\n` at the end of an answer. */
export function isNoNewline(reason: Text): boolean {
  return reason.en.startsWith("the answer stopped without a \\n");
}
