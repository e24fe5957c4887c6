/**
 * The hints `kv check` gives after its summary, in English and Korean: when
 * many rules failed for one likely cause (answers without `\n`, no PING, a
 * server that waits for `\n` or serves one client at a time, answers that
 * are not UTF-8 or none at all), what to fix first. Each takes the report's
 * language and returns whole lines.
 *
 * @module
 */

import type { Lang } from "./rule.ts";
import { show, showAsBytes } from "../net/show.ts";
import { readAsCp949 } from "../wire/utf8.ts";
import { seconds } from "./messages.ts";

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
 * Said after the summary when several rules were cut off for a line far
 * longer than any right answer's: a server that sends without end.
 */
export function endlessHint(lang: Lang, rules: number): string {
  return lang === "en"
    ? `Hint: in ${rules} rules your server sent far more bytes without a \\n than any right ` +
      "answer has, so kv check stopped reading them. A server that sends without end is " +
      'usually a loop that goes on once recv() returns b"" (the client has gone: close the ' +
      "connection), or one that sends the same answer in a loop instead of once per request.\n"
    : `힌트: 규칙 ${rules}개에서 서버가 어떤 맞는 답보다도 훨씬 많은 바이트를 \\n 없이 보내서 ` +
      'kv check가 읽기를 멈췄습니다. 끝없이 보내는 서버는 대개 recv()가 b""를 돌려준 뒤에도 ' +
      '루프를 계속 돌거나(b""는 클라이언트가 떠났다는 뜻이니 연결을 닫으세요), 같은 답을 요청마다 ' +
      "한 번이 아니라 루프에서 거듭 보냅니다.\n";
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

/**
 * Said before the first rule when the first request, sent without `\n`,
 * was answered only once its `\n` followed: the textbook rules ahead
 * (`rules` of them) will each wait `timeoutMs` for an answer.
 */
export function waitsForNewlineNotice(lang: Lang, rules: number, timeoutMs: number): string {
  const each = seconds(timeoutMs);
  const all = seconds(rules * timeoutMs);
  return lang === "en"
    ? "Note: your server answered the first request only once a \\n followed it. This level " +
      "sends each request without \\n, as the course's client does, so each rule may wait " +
      `${each} s for an answer (about ${all} s in all); the hint at the end says what to do.\n`
    : "참고: 서버가 첫 요청에는 답하지 않다가, 그 뒤에 \\n을 이어 보내자 그제야 답했습니다. 이 수준은 " +
      "수업의 클라이언트처럼 요청을 \\n 없이 보내므로, 규칙마다 답을 " +
      `${each}초씩 기다리게 될 수 있습니다(모두 합쳐 약 ${all}초). ` +
      "어떻게 하면 되는지는 맨 끝의 힌트에 있습니다.\n";
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
      "and of connections: unframed clients): in Python, conn.settimeout(0.1) while a line has " +
      "no \\n yet, and take what came as the request when recv() raises socket.timeout. For the " +
      "assignment alone, reading each request with one recv(), as the course's server does, " +
      "also works: readline() on the file makefile() returns is what waits for the \\n.\n"
    : `힌트: 규칙 ${rules}개에서 답이 없었지만, 같은 요청을 \\n으로 끝내 보내자 바로 답했습니다. ` +
      "이 수준은 수업의 클라이언트처럼 요청을 \\n 없이 보내는데, 서버는 \\n을 기다립니다. " +
      "요청을 \\n으로 끝내는 것은 PROTOCOL.md가 요구하는 방식이니 --level contract로 확인하세요. " +
      "수업의 클라이언트와도 함께 쓰려면, 잠깐 동안 바뀌지 않은 줄을 요청으로 받으세요 " +
      "(PROTOCOL.md, Ends of lines and of connections: unframed clients). Python에서는 줄에 " +
      "아직 \\n이 없는 동안 conn.settimeout(0.1)을 걸고, recv()가 socket.timeout을 일으키면 " +
      "그때까지 온 것을 요청으로 받으면 됩니다. 과제만 생각한다면 수업의 서버처럼 요청마다 " +
      "recv()를 한 번 하는 방식으로도 됩니다: \\n을 기다리는 것은 makefile()이 돌려준 파일의 readline()입니다.\n";
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
export function closesHint(lang: Lang, rules: number, tls: boolean): string {
  // A TLS server closes a plain connection the same way, with nothing said.
  const plain = tls
    ? ""
    : lang === "en"
    ? " A server that speaks TLS closes a plain connection just so: then run kv check with " +
      "--tls (and --tls-ca FILE)."
    : " TLS를 쓰는 서버도 평문 연결은 이렇게 답 없이 닫습니다: 그런 서버라면 kv check에 --tls(와 " +
      "--tls-ca FILE)를 붙여 실행하세요.";
  return lang === "en"
    ? "Hint: your server closed the connection without answering PING, and " +
      `${rules} more rules failed at a PING the same way. Does it close each connection ` +
      "right after accept() or after one answer, or stop on a request it cannot handle? " +
      `See its terminal, then run kv check again.${plain}\n`
    : "힌트: 서버가 PING에 답하지 않고 연결을 닫았고, 다른 규칙 " +
      `${rules}개도 PING 단계에서 같은 식으로 실패했습니다. accept() 직후나 답 하나 뒤에 ` +
      "연결을 닫나요, 아니면 처리하지 못하는 요청에서 멈추나요? 서버의 터미널을 보고 kv check를 " +
      `다시 실행하세요.${plain}\n`;
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

/** `a`, `a and b`, `a, b and c` (`a, b, c` in Korean, which lists with commas). */
function listed(lang: Lang, ids: readonly string[]): string {
  if (lang === "ko" || ids.length < 2) return ids.join(", ");
  return `${ids.slice(0, -1).join(", ")} and ${ids.at(-1)}`;
}

/**
 * Said after the summary when rules got no answer at all, their connection
 * left open, yet the server answered the rules after them: it sends nothing
 * for some request (an `if` with no `else`), or the code serving that
 * client stopped there (an exception that ended its thread, the socket
 * left open).
 */
export function unansweredHint(lang: Lang, ids: readonly string[]): string {
  const which = listed(lang, ids);
  return lang === "en"
    ? `Hint: ${which} got no answer, the connection left open, yet the server answered the ` +
      "rules after. For that request it sent nothing and did not close: does it send nothing " +
      "in some case (an if with no else), or did the code serving that client stop there, " +
      "on an exception in its thread (a ValueError of cmd, key, value = fields with more or " +
      "fewer fields, KeyError, IndexError, UnicodeDecodeError)? Look for a " +
      "Traceback in the server's terminal. The assignment asks for an answer to every request, " +
      "a bad one too: catch the error and send it as the answer.\n"
    : `힌트: ${which}에서 서버가 답하지도 연결을 닫지도 않았지만, 그 뒤의 규칙에는 답했습니다. ` +
      "서버가 어떤 경우에는 아무것도 보내지 않나요(else 없는 if)? 아니면 그 클라이언트를 맡은 " +
      "스레드가 그 요청에서 예외(필드 수가 다를 때 cmd, key, value = fields가 일으키는 " +
      "ValueError, KeyError, IndexError, UnicodeDecodeError 등)로 죽었나요? 서버를 " +
      "실행한 터미널에 Traceback이 찍혔는지 보세요. 과제는 잘못된 요청에도 답할 것을 요구합니다: " +
      "예외를 잡아(try/except) 그 오류를 답으로 보내세요.\n";
}

/**
 * Said after the summary when rules' requests got a close and no answer,
 * yet the server answered the rules after them: the code serving that
 * client stopped there on an exception, and its socket was closed
 * (`socketserver` prints the Traceback and closes it; so does a
 * `with conn:` block).
 */
export function closedUnansweredHint(lang: Lang, ids: readonly string[]): string {
  const which = listed(lang, ids);
  return lang === "en"
    ? `Hint: at ${which} the server closed the connection without answering, yet it answered ` +
      "the rules after: the code serving that client stopped at that request, on an exception " +
      "(a ValueError of cmd, key, value = fields with more or fewer fields, KeyError, " +
      "IndexError, UnicodeDecodeError), and its socket was closed (socketserver " +
      "prints the Traceback and closes the connection; so does a with conn: block). Look for a " +
      "Traceback in the server's terminal. The assignment asks for an answer to every request, " +
      "a bad one too: catch the error and send it as the answer.\n"
    : `힌트: ${which}에서 서버가 답하지 않고 연결을 닫았지만, 그 뒤의 규칙에는 답했습니다. 그 ` +
      "클라이언트를 맡은 코드가 그 요청에서 예외(필드 수가 다를 때 cmd, key, value = fields가 " +
      "일으키는 ValueError, KeyError, IndexError, UnicodeDecodeError 등)로 " +
      "멈추고 소켓이 닫힌 것입니다(socketserver는 Traceback을 찍고 연결을 닫습니다. with conn: " +
      "블록도 마찬가지입니다). 서버를 실행한 터미널에 Traceback이 찍혔는지 보세요. 과제는 잘못된 " +
      "요청에도 답할 것을 요구합니다: 예외를 잡아(try/except) 그 오류를 답으로 보내세요.\n";
}

/**
 * Said after the summary when connects were refused (the server had
 * stopped) from a step of rule `id` on, or from the rule after `id`, with
 * `rules` rules after `id`: a request of that rule, or its abrupt client,
 * ended the whole server (an exception outside any try, in the one thread
 * that serves everyone or in accept()'s loop).
 */
export function stoppedAtHint(lang: Lang, id: string, rules: number): string {
  return lang === "en"
    ? `Hint: the server stopped during or right after ${id}: ` +
      (rules === 0
        ? "its next connect was refused. "
        : rules === 1
        ? "the rule after it could not connect (refused). "
        : `the ${rules} rules after it could not connect (refused). `) +
      "Something that rule sent (a bad request, or a client that left " +
      "abruptly) raised an exception nothing caught, and it ended the whole server; its " +
      "terminal shows the Traceback. Catch the error around each request (try/except) and send " +
      "it as the answer, and around each client's conversation (OSError), so one client cannot " +
      "stop the rest. The assignment's server never dies.\n"
    : `힌트: 서버가 ${id} 도중이나 직후에 멈췄습니다: ` +
      (rules === 0
        ? "그다음 연결이 거부되었습니다. "
        : `그 뒤의 규칙 ${rules}개는 연결할 수 없었습니다(연결 거부). `) +
      "그 규칙의 잘못된 요청이나 갑자기 연결을 끊은 클라이언트가 잡히지 않은 예외를 일으켜 " +
      "서버 전체가 종료된 것입니다. 서버를 실행한 터미널에 Traceback이 찍혀 있습니다. 요청마다 " +
      "예외를 잡아(try/except) 그 오류를 답으로 보내고, 클라이언트 하나와 주고받는 부분 전체에서도 " +
      "예외(OSError)를 잡아 한 클라이언트 때문에 다른 클라이언트까지 멈추지 않게 하세요. 과제의 " +
      "서버는 죽지 않아야 합니다.\n";
}

/**
 * Said after the summary when the server answered rules, then none from
 * `id` on: something that rule's requests did stopped every client (a lock
 * never released, a loop that never goes back to recv() or accept()).
 */
export function stoppedAnsweringHint(lang: Lang, id: string, rules: number): string {
  return lang === "en"
    ? `Hint: from ${id} on, no rule got an answer (${rules} rules), though the server had ` +
      "answered the ones before and its connections were still taken: after a request of that " +
      "rule it answered nobody. Something it did stopped every client: a lock acquired and " +
      "never released (an exception between acquire() and release(): use with lock:), or a " +
      "loop that never goes back to recv() or accept(). See the server's terminal.\n"
    : `힌트: ${id}부터는 어느 규칙도 답을 받지 못했습니다(규칙 ${rules}개). 서버는 그 앞의 ` +
      "규칙에는 답했고 연결도 여전히 되었지만, 그 규칙의 요청 뒤로는 누구에게도 답하지 않았습니다. " +
      "그 요청을 처리하며 서버가 한 무언가가 모든 클라이언트를 멈춰 세운 것입니다. acquire()한 뒤 " +
      "release()하지 않은 락이 있나요(acquire()와 release() 사이에서 예외가 나면 그렇게 됩니다: " +
      "with lock: 문을 쓰세요)? 아니면 recv()나 accept()로 돌아가지 않는 루프가 있나요? 서버를 " +
      "실행한 터미널을 보세요.\n";
}

/**
 * Said first after the summary when the server greets a client before any
 * request (`CheckRun.greeting`), and `rules` rules got that greeting as (the
 * start of) an answer.
 */
export function greetingHint(lang: Lang, greeting: Uint8Array, rules: number): string {
  return lang === "en"
    ? `Hint: your server sends ${show(greeting)} as soon as a client connects, before any ` +
      "request. A client reads an answer after it sends its request, so it takes that greeting " +
      `for the answer to its first request (in ${rules === 1 ? "1 rule" : `${rules} rules`} ` +
      "above, the answer was the greeting or began with it), and every answer after is one " +
      "late. The server speaks only to answer: send nothing before a request comes (print() " +
      "a greeting in the server's own terminal instead).\n"
    : `힌트: 클라이언트가 연결하자마자, 요청을 받기도 전에 서버가 ${show(greeting)}을(를) ` +
      "보냅니다. 클라이언트는 요청을 보낸 뒤에 답을 읽으므로 이 인사를 첫 요청의 답으로 읽고" +
      `(위의 규칙 ${rules}개에서 답이 이 인사였거나 인사로 시작했습니다), 그 뒤의 답은 하나씩 ` +
      "밀립니다. 서버는 요청에 답할 때만 보내야 합니다: 요청이 오기 전에는 아무것도 보내지 말고, " +
      "인사는 서버의 터미널에 print()로 찍으세요.\n";
}

/**
 * Said after the summary when the failed rules all got one same answer
 * (`got`), to requests that wanted different ones: the server recognises
 * none of its requests.
 */
export function sameAnswerHint(lang: Lang, got: string, rules: number): string {
  return lang === "en"
    ? `Hint: in ${rules} rules every request got the same answer, ${show(got)}, whatever it ` +
      "asked (PUT, GET, DELETE and LIST alike): your server recognises none of them. Have it " +
      "print the request it parses (print(repr(request))) and compare that with what your code " +
      "looks for: str(data) gives \"b'PUT, k, v'\" (decode with data.decode() instead), and a " +
      'line compared whole (request == "LIST") still has the "\\n" or "\\r\\n" a client ' +
      "sends (strip() it first).\n"
    : `힌트: 규칙 ${rules}개에서 무엇을 요청하든(PUT이든 GET이든 DELETE든 LIST든) 같은 답 ` +
      `${show(got)}이(가) 왔습니다: 서버가 어떤 요청도 알아보지 못합니다. 서버가 해석하는 요청을 ` +
      "찍어 보고(print(repr(request))) 코드가 찾는 것과 비교하세요: str(data)는 " +
      "\"b'PUT, k, v'\"가 되므로 data.decode()로 바꾸세요. 줄 전체를 비교한다면" +
      '(request == "LIST") 클라이언트가 보낸 "\\n"이나 "\\r\\n"이 남아 있으니 먼저 ' +
      "strip()하세요.\n";
}

/** What a server with a password answers a request before AUTH (PROTOCOL.md, Authentication). */
export const AUTH_REQUIRED = "Error: authentication required (send AUTH, password first)";

/**
 * Said after the summary, in place of {@linkcode sameAnswerHint}, when the
 * one answer the failed rules got was {@linkcode AUTH_REQUIRED}: the server
 * knows the requests, and wants a password first.
 */
export function authRequiredHint(lang: Lang, rules: number): string {
  return lang === "en"
    ? `Hint: in ${rules} rules every request got "${AUTH_REQUIRED}": the server asks for a ` +
      "password before any request (PROTOCOL.md, Authentication). Give kv check the server's " +
      "password with --password-file FILE (the password on the file's first line).\n"
    : `힌트: 규칙 ${rules}개에서 모든 요청이 "${AUTH_REQUIRED}" 답을 받았습니다: 서버가 요청을 ` +
      "받기 전에 비밀번호를 요구합니다(PROTOCOL.md, Authentication). --password-file FILE로 " +
      "kv check에 서버의 비밀번호를 알려 주세요(비밀번호는 파일의 첫 줄에 씁니다).\n";
}

/**
 * Said after the summary when rule `id` sent one request in `pieces` (each
 * `gapMs` apart) and got a wrong answer, `got`, where the whole request's
 * was due: the server took what one `recv()` returned for a request.
 */
export function piecesHint(
  lang: Lang,
  id: string,
  pieces: readonly Uint8Array[],
  gapMs: number,
  got: Uint8Array,
): string {
  const shown = pieces.map((piece) => show(piece)).join(", ");
  return lang === "en"
    ? `Hint: ${id} sent one request in ${pieces.length} pieces, ${gapMs} ms apart (${shown}), ` +
      `as TCP may deliver a request, and your server answered ${show(got)}, not the answer to ` +
      "the whole request: it took what one recv() returned for a whole request. One recv() " +
      "returns whatever bytes have come, part of a request or several: keep them in a buffer " +
      'until a \\n comes (buf += data; then while b"\\n" in buf: line, buf = ' +
      'buf.split(b"\\n", 1)), and decode a line once it is whole (a Korean character may be ' +
      "split too).\n"
    : `힌트: ${id} 규칙은 요청 하나를 ${pieces.length}조각으로 ${gapMs} ms 간격을 두고 보냈는데` +
      `(${shown}. TCP는 요청을 이렇게 나눠 전달할 수 있습니다), 서버가 요청 전체의 답이 아니라 ` +
      `${show(got)}(으)로 답했습니다: recv() 한 번이 돌려준 것을 요청 하나로 본 것입니다. ` +
      "recv()는 그때까지 도착한 바이트를 돌려줄 뿐이므로 그것은 요청의 일부일 수도, 여러 요청일 " +
      "수도 있습니다: \\n이 올 때까지 버퍼에 모으고(buf += data 뒤에 " +
      'while b"\\n" in buf: line, buf = buf.split(b"\\n", 1)), 줄이 다 모인 뒤에 디코딩하세요' +
      "(한글 한 글자의 바이트도 중간에서 나뉠 수 있습니다).\n";
}
