/**
 * The checker's words, in English and Korean: why a rule failed, what it
 * expected, and the lines of the report around the rules. Each function
 * returns both languages; the reporter picks one.
 *
 * @module
 */

import type { Lang, Level, Text } from "./rule.ts";
import { show, showAsBytes } from "../net/show.ts";
import { readAsCp949 } from "../wire/utf8.ts";

/** A sentence in both languages. */
function text(en: string, ko: string): Text {
  return { en, ko };
}

function seconds(ms: number): string {
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
        '("PUT, key, value"에는 쉼표마다 뒤에 공백이 있음) 답은 그대로 보내나요?',
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
  listMissing: (lines: readonly string[]) =>
    text(
      `LIST left out ${lines.map((line) => show(line)).join(", ")}`,
      `LIST에 ${lines.map((line) => show(line)).join(", ")} 줄이 없음`,
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
      } 줄이 없고, 쉼표 뒤에 공백이 없는 줄이 있음. 한 쌍은 "key, value"처럼 쉼표 다음에 공백 하나가 ` +
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
        "Its recv() or send() raised ConnectionResetError: catch OSError around each " +
        "client's conversation, close that socket, and go on accepting (see its terminal)",
      "연결할 수 없음: 연결이 거부되었으니 서버가 멈춘 것입니다. 바로 앞에서 클라이언트가 연결을 " +
        "리셋했습니다(답을 읽지 않은 채 강제 종료된 클라이언트처럼 RST를 보냄). 서버의 recv()나 " +
        "send()가 ConnectionResetError를 일으켰습니다: 클라이언트마다 대화를 " +
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

const LEVEL_NAMES: Record<Level, Text> = {
  assignment: text("assignment", "과제(assignment)"),
  contract: text("contract", "규약(contract)"),
  full: text("full", "전체(full)"),
};

/** The report's fixed words. */
export const WORDS = {
  sent: text("sent", "보냄"),
  expected: text("expected", "기대"),
  got: text("got", "받음"),
  step: text("step", "단계"),
  nothing: text("(nothing)", "(없음)"),
} as const;

/** A long reason said already, under an earlier rule: only where. */
export function sameReasonAs(id: string): Text {
  return text(`the same as under ${id} above`, `위의 ${id}와 같은 이유`);
}

/** Said after the summary when several rules failed for want of a `\n`. */
export function noNewlineHint(lang: Lang, rules: number): string {
  return lang === "en"
    ? `Hint: ${rules} rules failed because an answer did not end with \\n. End every answer ` +
      "line with \\n (and LIST's answer with an empty line), then run kv check again: " +
      "what is left is the rest of the contract.\n"
    : `힌트: 규칙 ${rules}개가 답이 \\n으로 끝나지 않아 실패했습니다. 모든 답 줄을 \\n으로 ` +
      "끝내고 (LIST의 답은 빈 줄로 끝내고) kv check를 다시 실행하세요: 그다음에도 실패하는 규칙이 " +
      "규약에서 남은 문제입니다.\n";
}

/**
 * Said after the summary when answers were not UTF-8: `got` is one of them,
 * shown as it reads in cp949 where it is Korean (a student's
 * `.encode("cp949")`).
 */
export function encodingHint(lang: Lang, rules: number, got: Uint8Array): string {
  const korean = readAsCp949(got);
  const what = lang === "en" ? (rules === 1 ? "1 rule" : `${rules} rules`) : `규칙 ${rules}개`;
  return lang === "en"
    ? `Hint: in ${what} your server answered bytes that are not UTF-8 (${showAsBytes(got)}` +
      (korean === undefined ? ")" : ` reads as cp949: ${show(korean)})`) +
      '. PROTOCOL.md\'s text is UTF-8: encode answers with .encode() or .encode("utf-8")' +
      (korean === undefined ? "" : ', not "cp949"') +
      ', and decode requests with .decode("utf-8").\n'
    : `힌트: ${what}에서 서버가 UTF-8이 아닌 바이트로 답했습니다(${showAsBytes(got)}` +
      (korean === undefined ? ")" : `, cp949로 읽으면 ${show(korean)})`) +
      '. 규약의 텍스트는 UTF-8입니다: 답은 .encode()나 .encode("utf-8")로' +
      (korean === undefined ? "" : '("cp949"가 아니라)') +
      ' 인코딩하고, 요청은 .decode("utf-8")로 디코딩하세요.\n';
}

/** Said after the summary when the textbook requests got no answer and one with a `\n` did. */
export function waitsForNewlineHint(lang: Lang, rules: number): string {
  return lang === "en"
    ? `Hint: ${rules} ${
      rules === 1 ? "rule" : "rules"
    } got no answer, yet the same kind of request ending with \\n was ` +
      "answered at once. This level sends each request as the course's client does, without " +
      "\\n; your server waits for one. That is what PROTOCOL.md asks of requests: check your " +
      "server with --level contract. To work with the course's client as well, take a line " +
      "that has waited unchanged for a short pause as a request (PROTOCOL.md, Ends of lines " +
      "and of connections: unframed clients).\n"
    : `힌트: 규칙 ${rules}개에서 답이 없었지만, 같은 요청을 \\n으로 끝내 보내자 바로 답했습니다. ` +
      "이 수준은 수업의 클라이언트처럼 요청을 \\n 없이 보내는데, 서버는 \\n을 기다립니다. " +
      "요청을 \\n으로 끝내는 것은 PROTOCOL.md가 요구하는 방식이니 --level contract로 확인하세요. " +
      "수업의 클라이언트와도 함께 쓰려면, 잠깐 동안 바뀌지 않은 줄을 요청으로 받으세요 " +
      "(PROTOCOL.md, Ends of lines and of connections: unframed clients).\n";
}

/**
 * Said after the summary when cmd.ping failed and other rules failed at a
 * PING step: `got` is the answer to PING when it was almost PONG.
 */
export function noPingHint(lang: Lang, rules: number, got?: Uint8Array): string {
  if (got !== undefined && got.length > 0) {
    return lang === "en"
      ? `Hint: your server answers PING with ${show(got)}, not exactly "PONG\\n" ` +
        `(PROTOCOL.md, Requests), and ${rules} more rules failed at a PING: they send one to see ` +
        "that the server still answers after what they test. Answer PING with exactly PONG and " +
        "\\n, then run kv check again: what is left is the rest of the contract.\n"
      : `힌트: 서버가 PING에 ${show(got)}(으)로 답합니다. 정확히 "PONG\\n"이어야 합니다` +
        `(PROTOCOL.md, Requests). 다른 규칙 ${rules}개도 PING 단계에서 실패했습니다: 검사한 것 ` +
        "뒤에도 서버가 계속 답하는지 PING으로 보기 때문입니다. PING에 정확히 PONG과 \\n으로 답하게 " +
        "고치고 kv check를 다시 실행하세요: 그다음에도 실패하는 규칙이 규약에서 남은 문제입니다.\n";
  }
  return lang === "en"
    ? `Hint: your server does not answer PING with PONG (PROTOCOL.md, Requests), and ${rules} ` +
      "more rules failed at a PING: they send one to see that the server still answers after " +
      "what they test. Add PING, then run kv check again: what is left is the rest of the " +
      "contract.\n"
    : `힌트: 서버가 PING에 PONG으로 답하지 않습니다(PROTOCOL.md, Requests). 다른 규칙 ${rules}개도 ` +
      "PING 단계에서 실패했습니다: 검사한 것 뒤에도 서버가 계속 답하는지 PING으로 보기 때문입니다. " +
      "PING 명령을 구현하고 kv check를 다시 실행하세요: 그다음에도 실패하는 규칙이 규약에서 남은 " +
      "문제입니다.\n";
}

/**
 * Said instead of {@linkcode noPingHint} when cmd.ping failed because the
 * connection closed (or could not be made) with nothing said: the server
 * may know PING, but it does not keep a connection to answer on.
 */
export function closesHint(lang: Lang, rules: number): string {
  return lang === "en"
    ? "Hint: your server closed the connection without answering PING, and " +
      `${rules} more rules failed at a PING the same way. Does it close each connection ` +
      "right after accept() or after one answer, or stop on a request it cannot handle? " +
      "See its terminal, then run kv check again.\n"
    : "힌트: 서버가 PING에 답하지 않고 연결을 닫았고, 다른 규칙 " +
      `${rules}개도 PING 단계에서 같은 식으로 실패했습니다. accept() 직후나 답 하나 뒤에 ` +
      "연결을 닫나요, 아니면 처리하지 못하는 요청에서 멈추나요? 서버의 터미널을 보고 kv check를 " +
      "다시 실행하세요.\n";
}

/** Said after the summary when the server serves one client at a time (`CheckRun.oneAtATime`). */
export function oneAtATimeHint(lang: Lang): string {
  return lang === "en"
    ? "Hint: while one client stays connected, your server answers nobody else: it serves one " +
      "client at a time (accept(), then that client until it leaves). Anyone who keeps a client " +
      "open (nc, or kv client's prompt) locks everyone else out. The assignment asks that the " +
      "server always take clients' requests, and PROTOCOL.md that it serve many at once " +
      "(conn.concurrent; conn.disconnect fails too, its first client staying connected). Serve " +
      "each client in its own thread (threading.Thread(target=handle, args=(conn,)).start()), " +
      "or with select.\n"
    : "힌트: 클라이언트 하나가 연결된 채로 있는 동안 서버가 다른 누구에게도 답하지 않습니다: 한 번에 " +
      "클라이언트 하나만 받습니다(accept() 뒤 그 클라이언트가 나갈 때까지 그것만 처리). 누군가 " +
      "클라이언트를 열어 두면(nc나 kv client 프롬프트) 다른 모두가 막힙니다. 과제는 서버가 항상 " +
      "클라이언트의 요청을 수용할 것을, PROTOCOL.md는 여러 클라이언트를 동시에 받을 것을 요구합니다" +
      "(conn.concurrent 규칙. 첫 클라이언트가 연결된 채로 있는 conn.disconnect도 그래서 실패합니다). " +
      "클라이언트마다 스레드를 쓰거나(threading.Thread(target=handle, args=(conn,)).start()) " +
      "select를 쓰세요.\n";
}

/** Said after the summary when most rules got no answer at all in time. */
export function silentHint(lang: Lang, rules: number, total: number): string {
  return lang === "en"
    ? `Hint: ${rules} of ${total} rules got no answer at all in time. Is the server reading ` +
      "what clients send? A server that serves one client at a time answers nobody else while " +
      "one stays connected (close other clients, such as nc or a kv client prompt); one that " +
      "waits for more than a request before it answers never answers a single one.\n"
    : `힌트: 규칙 ${total}개 중 ${rules}개가 제시간에 아무 답도 받지 못했습니다. 서버가 클라이언트에게서 ` +
      "온 데이터를 읽고 있나요? 한 번에 클라이언트 하나만 받는 서버는 하나가 연결되어 있는 동안 " +
      "다른 누구에게도 답하지 않습니다(nc나 kv client 프롬프트 같은 다른 클라이언트를 닫으세요). " +
      "요청보다 더 많은 것을 기다린 뒤에 답하는 서버는 요청 하나에도 답하지 않습니다.\n";
}

/**
 * Why a run stopped before its first rule: the server took the connection
 * and answered nothing (`CheckRun.noAnswer`). Said instead of a summary.
 */
export function noAnswerText(
  address: string,
  noAnswer: {
    readonly request: string;
    readonly newlineAfter: boolean;
    readonly followUp: string;
    readonly ms: number;
  },
): Text {
  const { request, newlineAfter, followUp, ms } = noAnswer;
  const waited = seconds(ms);
  return text(
    `the server at ${address} accepted the connection but sent nothing back for ${waited} s, ` +
      `keeping it open (kv check asked ${show(request)}` +
      (newlineAfter ? ", without \\n as the course's client does, then with it" : "") +
      `, then ${show(followUp)}). ` +
      "Most likely another client is still connected to it (nc, or kv client in another " +
      "terminal) and it serves one client at a time: close that client and run kv check again. " +
      "To take other clients while one stays connected, serve each client in its own thread " +
      "(threading.Thread) or with select. If no other client is connected, the server reads " +
      "requests but never answers (see its terminal), or needs a longer --timeout. No rule was " +
      "run, and no key was written.",
    `서버(${address})가 연결은 받았지만, 연결을 열어 둔 채 ${waited}초 동안 아무것도 보내지 ` +
      `않았습니다(kv check가 보낸 요청: ${show(request)}` +
      (newlineAfter ? "(수업의 클라이언트처럼 \\n 없이 보내고, 이어서 \\n을 보냄)" : "") +
      `, 그다음 ${show(followUp)}). ` +
      "다른 클라이언트(nc, 또는 다른 터미널의 kv client)가 아직 연결되어 있고, 서버가 한 번에 " +
      "클라이언트 하나만 받는 것 같습니다: 그 클라이언트를 닫고 kv check를 다시 실행하세요. " +
      "한 클라이언트가 연결되어 있는 동안에도 다른 클라이언트를 받으려면, 클라이언트마다 " +
      "스레드(threading.Thread)를 쓰거나 select를 쓰세요. 연결된 다른 클라이언트가 없다면, 서버가 " +
      "요청을 읽기만 하고 답하지 않거나(서버의 터미널을 보세요) 답이 --timeout보다 느린 " +
      "것입니다(그렇다면 --timeout을 더 길게 주세요). 규칙은 하나도 실행하지 않았고, key도 쓰지 " +
      "않았습니다.",
  );
}

/** The JUnit test case of a run that stopped before its first rule ({@linkcode noAnswerText}). */
export const FIRST_ANSWER = text(
  "the server answers a first request, before any rule",
  "규칙을 실행하기 전에 보낸 첫 요청에 서버가 답한다",
);

/** Whether a failed step sent a PING (the request that checks the server still answers). */
export function failedAtPing(failure: { readonly sent?: Uint8Array }): boolean {
  const sent = failure.sent === undefined ? "" : new TextDecoder().decode(failure.sent);
  return /^[ \t]*ping[ \t]*\r?\n?$/i.test(sent);
}

/** Whether a failure is that no answer came in time. */
export function isTimeout(reason: Text): boolean {
  return reason.en.startsWith("no answer within");
}

/** Whether a failure is for want of a `\n` at the end of an answer. */
export function isNoNewline(reason: Text): boolean {
  return reason.en.startsWith("the answer stopped without a \\n");
}

/** The first lines of a run: what it checks and what it writes. */
export function header(
  lang: Lang,
  run: { address: string; level: Level; only: readonly string[]; rules: number; prefix: string },
): string {
  const level = LEVEL_NAMES[run.level][lang];
  const what = run.only.length > 0
    ? (lang === "en"
      ? `${run.only.length === 1 ? "rule" : "rules"} ${run.only.join(", ")}`
      : `규칙 ${run.only.join(", ")}`)
    : (lang === "en" ? `level ${level}` : `수준 ${level}`);
  return lang === "en"
    ? `kv check ${run.address}, ${what}: ${run.rules} ${run.rules === 1 ? "rule" : "rules"}\n` +
      `It writes only keys that start with ${show(run.prefix)}, and deletes them at the end.\n`
    : `kv check ${run.address}, ${what}: 규칙 ${run.rules}개\n` +
      `${show(run.prefix)}(으)로 시작하는 key만 쓰고, 끝나면 지웁니다.\n`;
}

/** How many keys the summary names, with why each may be left. */
const SHOWN_LEFT_KEYS = 5;

/** The last lines: the counts, the time, and what was left in the store, and why. */
export function summary(
  lang: Lang,
  run: {
    passed: number;
    failed: number;
    skipped: number;
    ms: number;
    written: number;
    deleted: number;
    prefix: string;
    notRun?: number;
    /** Of the keys gone, how many the server did not hold (DELETE: `Not exist!`). */
    absent?: number;
    /** The keys that may be left, and why. */
    left?: readonly { key: string; why: Text }[];
  },
): string {
  const { passed, failed, skipped, written, deleted } = run;
  const notRun = run.notRun ?? 0;
  // Under 0.05 s: milliseconds, not "0 s".
  const short = run.ms < 50;
  const ms = `${Math.max(1, Math.round(run.ms))}`;
  const left = Math.max(written - deleted, run.left?.length ?? 0);
  const none = left === 0 && written > 0 && run.absent === written;
  const which =
    (run.left ?? []).slice(0, SHOWN_LEFT_KEYS).map(({ key, why }) =>
      `  ${show(key)}: ${why[lang]}\n`
    ).join("") +
    ((run.left?.length ?? 0) > SHOWN_LEFT_KEYS
      ? (lang === "en"
        ? `  … and ${run.left!.length - SHOWN_LEFT_KEYS} more\n`
        : `  … 그리고 ${run.left!.length - SHOWN_LEFT_KEYS}개 더\n`)
      : "");
  if (lang === "ko") {
    const cleanup = written === 0
      ? "쓴 key가 없습니다."
      : none
      ? `서버에 쓰라고 보낸 key ${written}개가 하나도 남아 있지 않아 지울 것이 없었습니다 (DELETE에 모두 Not exist!, LIST에도 없음).`
      : left === 0
      ? `쓴 key ${written}개를 모두 지웠습니다.`
      : `쓴 key ${written}개 중 ${left}개를 지우지 못했습니다 (${show(run.prefix)}(으)로 시작).`;
    const stopped = notRun > 0 ? `중단됨: 규칙 ${notRun}개는 실행하지 않았습니다.\n` : "";
    const verdict = failed > 0
      ? `규칙 ${failed}개를 어깁니다.`
      : notRun > 0
      ? "실행한 규칙은 모두 지킵니다."
      : "모든 규칙을 지킵니다.";
    const time = short ? `${ms} ms` : `${seconds(run.ms)}초`;
    return `${stopped}${cleanup}\n${which}통과 ${passed}, 실패 ${failed}, 건너뜀 ${skipped} (${time}): ${verdict}\n`;
  }
  const keys = written === 1 ? "key" : "keys";
  const cleanup = written === 0
    ? "It wrote no keys."
    : none
    ? `None of the ${written} ${keys} it asked the server to write was there to delete (DELETE answered Not exist! to each, and LIST shows none).`
    : left === 0
    ? `Deleted the ${written} ${keys} it wrote.`
    : `Could not delete ${left} of the ${written} ${keys} it asked the server to write (they start with ${
      show(run.prefix)
    })${which === "" ? "." : ":"}`;
  const stopped = notRun > 0 ? `Interrupted: ${notRun} rule(s) not run.\n` : "";
  const verdict = failed > 0
    ? `${failed} rule(s) broken.`
    : notRun > 0
    ? "every rule that ran holds."
    : "every rule holds.";
  const time = short ? `${ms} ms` : `${seconds(run.ms)} s`;
  return `${stopped}${cleanup}\n${which}${passed} passed, ${failed} failed, ${skipped} skipped in ${time}: ${verdict}\n`;
}
