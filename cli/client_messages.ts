/**
 * `kv client`'s notes and hints in English and Korean (`--lang`): the ones
 * a learner meets most, with a server of their own. An answer taken after
 * the pause, and the `--unframed` hints; an answer that did not come in
 * time; a connection not made (refused, a host name with no address, no
 * connection in time, the TLS errors the library hints at), a password
 * refused, a server that closed the connection or reset it; an answer that
 * is not UTF-8; one the close cut off before its `\n` (over UDP:
 * client_udp_messages.ts). In English the
 * client library's own message leads; in Korean it is said again from the
 * error's fields. A batch's answer lines past its requests. Anything else
 * stays as the library says it, in English.
 *
 * @module
 */

import {
  type KvAnswerError,
  type KvConnectionError,
  type KvTimeoutError,
  seconds,
} from "../client/errors.ts";
import type { AnswerEnd, IrregularAnswer } from "../client/options.ts";
import { isOutOfDescriptors } from "../net/conn.ts";
import { show, showAsBytes } from "../net/show.ts";
import { permissionDenied } from "../net/permission.ts";
import { quote } from "../wire/line/reply.ts";
import { readAsCp949 } from "../wire/utf8.ts";
import type { Lang } from "./lang.ts";

/** Which `--unframed` hint a note carries: a batch's, or one request's. */
export type UnframedHint = "batch" | "one";

/** Why a close with requests unanswered happened, as far as the client can tell. */
export type CloseHint =
  | "closes-after-answer"
  | "glued-at-end"
  | "list-took-answers"
  | "glued"
  | "stopped"
  | "silent"
  | "silent-batch";

/** How a note starts, in each language. */
export const NOTE = { en: "kv: note: ", ko: "kv: 참고: " } as const;

/**
 * The note for an answer the pause (or the close) took without its end,
 * with its `--unframed` hint if one fits; `again`: the note was said
 * already, and only the hint is new (only an answer without its `\n` gets one).
 * `endedBy`: what took it, the pause waited out or the server's close
 * (then no pause was waited, and a slow server is not the likely cause),
 * right after the answer or once our requests ended (our FIN: a textbook
 * server's loop ends when `recv()` returns `b""`, and answers without `\n`
 * that came by then are one).
 */
export function pauseNote(
  lang: Lang,
  missing: IrregularAnswer,
  pauseMs: number,
  hint: UnframedHint | undefined,
  again = false,
  endedBy: AnswerEnd = "pause",
): string {
  const newline = missing === "newline";
  if (lang === "ko") {
    const tail = hint === "batch"
      ? ". 서버가 recv() 한 번에 요청 하나를 읽는다면 --unframed로 보내세요"
      : hint === "one"
      ? ". 답이 이상하면 --unframed를 써 보세요(마지막 필드를 strip()하지 않는 서버라면 " +
        "kv client가 보내는 \\n이 그 필드에 그대로 남습니다)"
      : "";
    if (again) return `${NOTE.ko}이 답도 \\n 없이 왔습니다${tail}\n`;
    const what = newline ? "답이 \\n 없이 왔습니다" : "LIST의 답이 마지막 빈 줄 없이 왔습니다";
    if (endedBy === "close") {
      return `${NOTE.ko}${what}. 서버가 답을 보내고 바로 연결을 닫아서, 받은 데까지를 답으로 ` +
        `보았습니다${tail}\n`;
    }
    if (endedBy === "close-after-end") {
      const taken = hint === "batch"
        ? "그때까지 받은 것을 모두 답 하나로 보았습니다: \\n 없는 답들은 서로 붙어 버립니다"
        : "받은 데까지를 답으로 보았습니다";
      return `${NOTE.ko}${what}. kv client가 요청을 다 보냈다고 알리자(FIN) 서버가 연결을 ` +
        `닫아서, ${taken}${tail}\n`;
    }
    return `${NOTE.ko}${what}. ${pauseMs} ms 동안 더 오는 것이 없어 받은 데까지를 답으로 ` +
      `보았습니다(서버가 느릴 뿐이라면 --pause-ms를 더 크게 주세요)${tail}\n`;
  }
  const tail = hint === "batch"
    ? "; for a server that reads one request per recv(), send them with --unframed"
    : hint === "one"
    ? "; if an answer looks wrong, try --unframed (a server that does not strip() its last " +
      "field keeps the \\n kv client sends)"
    : "";
  if (again) return `${NOTE.en}another answer came without its \\n${tail}\n`;
  const what = newline
    ? "an answer came without its \\n"
    : "a LIST answer came without its closing empty line";
  if (endedBy === "close") {
    return `${NOTE.en}${what}; the server closed the connection right after it, so it was ` +
      `taken as it came${tail}\n`;
  }
  if (endedBy === "close-after-end") {
    const taken = hint === "batch"
      ? "all that had come was taken as one answer: answers without \\n run together"
      : "it was taken as it came";
    return `${NOTE.en}${what}; the server closed the connection once kv client's requests ` +
      `ended (its FIN), so ${taken}${tail}\n`;
  }
  return `${NOTE.en}${what}; it was taken once nothing more came for ${pauseMs} ms ` +
    `(--pause-ms; if the server is only slow, give more)${tail}\n`;
}

/** `kv client PING --port 1` sent `PING --port 1`: the note that says why. */
export function optionsFirstNote(lang: Lang): string {
  return lang === "ko"
    ? `${NOTE.ko}옵션은 요청보다 앞에 씁니다(kv client --port 1 PING)\n`
    : `${NOTE.en}options go before the request (kv client --port 1 PING)\n`;
}

/** No answer in time: what the wait was, what arrived, and the likely cause. Two lines. */
export function timeoutLines(
  lang: Lang,
  error: KvTimeoutError,
  address: string,
  unframed: boolean,
): string {
  const got = error.received;
  // A LIST printed as it came keeps only the two ends of what came: all `show` needs.
  const gotBytes = error.receivedBytes;
  const shown = got.length === 0 ? "" : show(got, { totalBytes: gotBytes });
  if (lang === "ko") {
    const cause = got.length === 0
      ? "아무것도 오지 않았습니다: 서버가 다른 클라이언트를 처리하는 중일 수 있습니다(한 번에 " +
        "클라이언트 하나만 받는 서버는 먼저 연결한 클라이언트가 나가야 답합니다)" +
        (unframed
          ? ""
          : ". 아니면 요청의 나머지를 기다리는 중일 수도 있습니다(--unframed를 써 보세요)") +
        ". 아니면 이 클라이언트를 맡은 서버 코드가 이 요청에서 오류로 멈추고 연결만 열어 두었을 수도 " +
        "있습니다(서버를 실행한 터미널에 Traceback이 찍혔나요?). 아니면 서버 프로세스가 일시 중지되어 " +
        "있을 수도 있습니다(그 터미널에서 Ctrl-Z를 누르면 서버가 끝나지 않고 일시 중지됩니다: 거기서 " +
        "fg를 입력하면 다시 돌아가고, 끝내려면 Ctrl-C를 누르세요)"
      : error.flowing
      ? `${gotBytes}바이트(${shown})가 답의 끝 없이 계속 오고 있었습니다: 서버가 끝없이 보내고 ` +
        '있습니다(클라이언트의 요청이 끝나 recv()가 b""를 돌려줄 때 서버의 루프가 멈추나요?)'
      : got.at(-1) === 0x0a
      ? `${gotBytes}바이트(${shown})가 왔지만 답의 끝은 오지 않았습니다(LIST의 답은 빈 줄로 끝납니다)`
      : `${gotBytes}바이트(${shown})가 왔지만 \\n은 오지 않았습니다: 답은 \\n으로 끝나야 ` +
        "합니다(또는 --pause-ms를 주세요)";
    return `kv: ${timeoutKo(error, address)}\nkv: ${cause}\n`;
  }
  const cause = got.length === 0
    ? "nothing arrived: the server may be serving another client (a server that serves one " +
      "client at a time answers only once the others leave)" +
      (unframed ? "" : ", or be waiting for more of the request (try --unframed)") +
      ", or its code for this client may have stopped on an error at this request, leaving the " +
      "connection open (is there a traceback where the server runs?), or its process may be stopped " +
      "(Ctrl-Z in its terminal stops it, Ctrl-C ends it: fg there resumes it)"
    : error.flowing
    ? `got ${gotBytes} bytes, ${shown}, and more kept coming with no end of the answer: ` +
      'the server sends without end (does its loop stop when recv() returns b"", the end of the client\'s requests?)'
    : got.at(-1) === 0x0a
    ? `got ${gotBytes} bytes, ${shown}, but not the end of the answer ` +
      "(a LIST answer ends with an empty line)"
    : `got ${gotBytes} bytes, ${shown}, with no \\n after them: answers must end with \\n ` +
      "(or give --pause-ms)";
  return `kv: ${error.message}\nkv: ${cause}\n`;
}

/** The timeout's first line in Korean, from its numbers (the message itself if they are not known). */
function timeoutKo(error: KvTimeoutError, address: string): string {
  const ms = error.timeoutMs;
  const waited = error.waitedMs;
  if (ms === undefined || waited === undefined) return error.message;
  const some = error.received.length > 0;
  if (waited >= 1.5 * ms) {
    return `서버(${address})에서 ${
      seconds(waited)
    }초 동안 답이 다 오지 않았습니다: \\n 없이 바이트가 ` +
      `왔고, 64 KiB가 올 때마다 ${ms / 1000}초 제한 시간이 다시 시작되었습니다`;
  }
  return `서버(${address})에서 ${ms / 1000}초 안에 답이 ${some ? "다 " : ""}오지 않았습니다`;
}

/**
 * The line for a connection that could not be made. In Korean, from the
 * error underneath (`cause`): refused, a host name with no address, no
 * connection in time, no answer to AUTH in time, the TLS errors the library
 * gives a hint for, no permission, a reset; anything else stays as the
 * library says it, in English.
 */
export function connectFailedLine(
  lang: Lang,
  error: unknown,
  server: { address: string; host: string },
): string {
  const message = error instanceof Error ? error.message : String(error);
  const why = lang === "ko" && error instanceof Error
    ? connectReasonKo(error.cause, server.host)
    : undefined;
  if (why === undefined) return `kv: ${message}\n`;
  return `kv: 서버(${server.address})에 연결할 수 없습니다: ${why}\n`;
}

/** Why a connection could not be made or was lost, in Korean; `undefined` where no Korean is known. */
function connectReasonKo(cause: unknown, host: string): string | undefined {
  if (cause instanceof Deno.errors.ConnectionRefused) {
    return "연결이 거부되었습니다(서버를 실행했나요? 포트는 맞나요?)";
  }
  if (cause instanceof Deno.errors.ConnectionReset) {
    return "연결이 리셋되었습니다(서버가 FIN 대신 RST를 보냈습니다)";
  }
  if (cause instanceof Deno.errors.NotCapable) {
    return permissionDenied(["--allow-net"], Deno.build.standalone, { lang: "ko" });
  }
  if (cause instanceof Deno.errors.PermissionDenied) return "권한이 없습니다";
  if (cause instanceof Deno.errors.TimedOut) {
    return cause.message === "no answer to AUTH in time"
      ? "AUTH의 답이 제한 시간 안에 오지 않았습니다"
      : cause.message === "timed out"
      ? "제한 시간 안에 연결되지 않았습니다"
      : undefined;
  }
  if (!(cause instanceof Error)) return undefined;
  const message = cause.message;
  if (isOutOfDescriptors(cause)) {
    return `이 프로세스의 파일 디스크립터가 바닥났습니다(${message}). 서버가 아니라 이쪽 ` +
      "문제입니다: ulimit -n을 올리거나 연결을 줄이세요";
  }
  if (message.startsWith("failed to lookup address")) {
    return `호스트 이름 ${host}의 주소를 찾지 못했습니다(${message}). --host가 맞나요?`;
  }
  if (/UnknownIssuer/.test(message)) {
    return `서버의 인증서를 믿을 수 없습니다(${message}). 자체 서명 인증서라면 ` +
      "--tls-ca FILE로 그 인증서를 주세요";
  }
  if (/InvalidContentType/.test(message)) {
    return `서버가 TLS를 쓰지 않습니다(${message}). --tls와 --tls-ca 없이 연결하세요`;
  }
  const name = /certificate not valid for name "([^"]*)"/.exec(message)?.[1];
  if (name !== undefined) {
    return `서버의 인증서에 없는 이름(${name})으로 연결했습니다(${message}). --host를 인증서에 ` +
      `있는 이름으로 주거나, README.ko.md "보안"처럼 -addext subjectAltName에 "${name}"도 ` +
      "넣어 서버의 인증서를 다시 만드세요";
  }
  if (/certificate expired|certificate not valid yet/.test(message)) {
    return `서버의 인증서가 유효 기간을 벗어났습니다(${message}). 서버 주인이 인증서를 새로 ` +
      "만들어야 합니다. 아니면 이 컴퓨터의 시계가 틀렸을 수도 있습니다";
  }
  if (/CaUsedAsEndEntity/.test(message)) {
    return `서버의 인증서가 CA 인증서입니다(${message}). README.ko.md "보안"처럼 ` +
      "-addext basicConstraints=critical,CA:FALSE를 주어 인증서를 다시 만드세요";
  }
  return undefined;
}

/** `kv client`'s line for a password the server refused (`message`: its answer after `Error: `). */
export function authFailedLine(lang: Lang, message: string): string {
  return lang === "ko"
    ? `kv: 서버가 AUTH를 거부했습니다: ${message}\n`
    : `kv: AUTH failed: ${message}\n`;
}

/**
 * The line for a connection that ended with requests unanswered (or that a
 * later request found closed), with the likely cause. `tls`: whether the
 * client spoke TLS (a server's silent close then is not the plaintext hint).
 */
export function closedLine(
  lang: Lang,
  error: KvConnectionError,
  address: string,
  seen: { tls: boolean; hint: CloseHint | undefined },
): string {
  const silent = error.serverClose !== undefined && error.serverClose.unanswered > 0 &&
    error.serverClose.silent && error.unasked === undefined;
  if (lang !== "ko" && silent && seen.hint !== undefined) {
    return `kv: connection closed by ${address} before any answer (${CLOSE_HINTS.en[seen.hint]}` +
      (seen.tls ? "" : `${CLOSE_HINTS.en[seen.hint].endsWith("?") ? " If" : "; if"} it speaks ` +
        "TLS, connect with --tls") +
      ")\n";
  }
  if (lang !== "ko") return `kv: ${error.message}${closeHintText("en", seen.hint)}\n`;
  if (error.unasked !== undefined) {
    return `kv: 서버(${address})가 요청이 없는데도 답 줄을 계속 보내서(기다리는 요청 없이 ` +
      "1,000줄 또는 256 KiB를 넘음) kv client가 읽기를 멈추고 연결을 닫았습니다: 서버가 끝없이 " +
      "보내고 있습니다" +
      '(recv()가 b""를 돌려줄 때 서버의 루프가 멈추나요?)\n';
  }
  const close = error.serverClose;
  if (close === undefined) {
    // Not a close the client saw: a reset, a lost connection. Korean where its cause is known.
    const why = error.message.startsWith("lost connection to ")
      ? connectReasonKo(error.cause, "")
      : undefined;
    const what = why === undefined
      ? error.message
      : `서버(${address})와의 연결이 끊겼습니다: ${why}`;
    return `kv: ${what}${closeHintText("ko", seen.hint)}\n`;
  }
  const server = `서버(${address})가`;
  if (close.unanswered > 0 && close.silent && seen.hint !== undefined) {
    // The likely cause first, then the TLS one, in one parenthesis.
    return `kv: ${server} 답을 하나도 보내지 않고 연결을 닫았습니다(${CLOSE_HINTS.ko[seen.hint]}` +
      (seen.tls ? "" : `${CLOSE_HINTS.ko[seen.hint].endsWith("?") ? "" : "."} TLS를 쓰는 ` +
        "서버라면 --tls로 연결하세요") +
      ")\n";
  }
  const what = close.unanswered === 0
    ? `${server} 연결을 닫았습니다`
    : close.silent
    ? `${server} 답을 하나도 보내지 않고 연결을 닫았습니다` +
      (seen.tls ? "" : "(TLS를 쓰는 서버라면 --tls로 연결하세요)")
    : error.afterEnd !== undefined
    ? `요청을 다 보내고 나자 ${server} 답하지 않은 요청 ${close.unanswered}개를 남기고 연결을 닫았습니다`
    : `${server} 답하지 않은 요청을 남기고 연결을 닫았습니다`;
  return `kv: ${what}${closeHintText("ko", seen.hint)}\n`;
}

function closeHintText(lang: Lang, hint: CloseHint | undefined): string {
  if (hint === undefined) return "";
  return lang === "ko" ? `(${CLOSE_HINTS.ko[hint]})` : ` (${CLOSE_HINTS.en[hint]})`;
}

/** Each {@linkcode CloseHint}'s words, in each language. */
const CLOSE_HINTS: Record<Lang, Record<CloseHint, string>> = {
  en: {
    "closes-after-answer":
      "a server that closes after each answer takes one request per connection: run kv client once per request",
    "glued-at-end":
      "an answer shown may be several run together, as answers without \\n have no end to split them at; or a server that reads one request per recv() took requests sent together as one, and answered once: send them with --unframed; one that closes after each answer takes one request per connection: run kv client once per request",
    "list-took-answers":
      "its LIST answer has no empty line at the end, so the answers after a LIST were read as part of it: send LIST last, or one request at a time with --unframed",
    glued:
      "a server that reads one request per recv() takes requests that arrive together as one, and answers once for them: send them with --unframed, one at a time; or it stopped at a request: see its terminal",
    stopped: "it may have stopped at that request: see its terminal",
    silent:
      "the code serving this client may have stopped at the request on an exception and closed the socket: is there a Traceback in the server's terminal?",
    "silent-batch":
      "the code serving this client may have stopped at a request on an exception and closed the socket (is there a Traceback in the server's terminal?); a server that reads one request per recv() takes requests that arrive together as one, and may stop at that: send them with --unframed, one at a time",
  },
  ko: {
    "closes-after-answer":
      "답할 때마다 연결을 닫는 서버는 연결마다 요청을 하나만 받습니다: 요청마다 kv client를 따로 실행하세요",
    "glued-at-end":
      "\\n이 없으면 답을 나눌 곳이 없어서, 출력된 답 하나가 여러 답이 붙은 것일 수 있습니다. 아니면 recv() 한 번에 요청 하나를 읽는 서버가 함께 보낸 요청들을 한 요청으로 받아 한 번만 답했을 수도 있습니다: --unframed로 보내세요. 서버가 답할 때마다 연결을 닫는다면 연결마다 요청을 하나만 받으니, 요청마다 kv client를 따로 실행하세요",
    "list-took-answers":
      "LIST의 답 끝에 빈 줄이 없어서 LIST 뒤에 온 답들까지 LIST의 답으로 읽혔습니다: LIST를 마지막에 보내거나, --unframed로 하나씩 보내세요",
    glued:
      "recv() 한 번에 요청 하나를 읽는 서버는 함께 도착한 요청들을 한 요청으로 받고 한 번만 답합니다: --unframed로 하나씩 보내세요. 아니면 서버가 어떤 요청을 처리하다 멈췄을 수도 있습니다: 서버의 터미널을 보세요",
    stopped: "서버가 그 요청을 처리하다 멈췄을 수 있습니다: 서버의 터미널을 보세요",
    silent:
      "이 클라이언트를 맡은 서버 코드가 요청을 처리하다 예외로 멈추고 소켓을 닫았을 수 있습니다: 서버를 실행한 터미널에 Traceback이 찍혔나요?",
    "silent-batch":
      "이 클라이언트를 맡은 서버 코드가 요청을 처리하다 예외로 멈추고 소켓을 닫았을 수 있습니다(서버를 실행한 터미널에 Traceback이 찍혔나요?). recv() 한 번에 요청 하나를 읽는 서버는 함께 도착한 요청들을 한 요청으로 받아 처리하다가 멈추기도 합니다: --unframed로 하나씩 보내세요",
  },
};

/**
 * A batch's note for answer lines past the last request's answer, with the
 * likely cause: more than the client keeps, so it stopped reading (`flood`:
 * `extra` holds those kept), a server that kept sending after our FIN
 * without closing (`endless`), an answer with an empty line inside it,
 * read as more than one (`empty-line`), or a long request read and
 * answered in pieces.
 */
export function extraLinesNote(
  lang: Lang,
  extra: readonly string[],
  why: "flood" | "endless" | "empty-line" | "pieces",
): string {
  const shown = show(extra.join("\n"));
  if (why === "flood") {
    const count = extra.length.toLocaleString("en");
    return lang === "ko"
      ? `${NOTE.ko}서버가 요청 수보다 답 줄을 ${count}줄 넘게 더 보내서(${shown}) kv client가 ` +
        "읽기를 멈췄습니다: 서버가 끝없이 보내고 있습니다. 요청이 끝나(kv client의 FIN, " +
        'shutdown(SHUT_WR)) recv()가 b""를 돌려줄 때 서버의 루프가 멈추나요?\n'
      : `${NOTE.en}the server sent more than ${count} answer lines past the requests ` +
        `(${shown}), and kv client stopped reading them: it sends without end (does its loop ` +
        'stop when recv() returns b"", at the end of the requests: our FIN, shutdown(SHUT_WR)?)\n';
  }
  if (lang === "ko") {
    const cause = why === "endless"
      ? "요청이 끝난 뒤에도(kv client의 FIN, shutdown(SHUT_WR)) 서버가 계속 보내고 연결을 닫지 " +
        '않았습니다. recv()가 b""를 돌려줄 때 서버의 루프가 멈추나요?'
      : why === "empty-line"
      ? "안에 빈 줄이 든 답(value가 자기 \\n을 그대로 가진 LIST의 답?)은 여러 답으로 읽힙니다"
      : "긴 요청을 조각으로 나눠 읽는 서버(recv(1024)를 여러 번)는 조각마다 답합니다";
    return `${NOTE.ko}서버가 요청 수보다 답 줄을 ${extra.length}줄 더 보냈습니다(${shown}): ${cause}\n`;
  }
  const cause = why === "endless"
    ? "it kept sending after the end of the requests (our FIN, shutdown(SHUT_WR)) and did not " +
      'close: does its loop stop when recv() returns b""?'
    : why === "empty-line"
    ? "an answer with an empty line inside it (a LIST whose values end with their own \\n?) " +
      "reads as more than one"
    : "a server that reads a long request in pieces (one recv(1024) at a time) answers each piece";
  return `${NOTE.en}the server sent ${extra.length} more answer line(s) than there were requests ` +
    `(${shown}): ${cause}\n`;
}

/** The line for a close in the middle of an answer line, with `--pause-ms 0` (no \n, no answer). */
export function cutLine(lang: Lang, error: KvConnectionError, address: string): string {
  const cut = error.cut ?? new Uint8Array(0);
  if (lang === "ko") {
    return `kv: 서버(${address})가 답을 보내던 중에 연결을 닫았습니다(${cut.length}바이트 ` +
      `${
        quote(new TextDecoder().decode(cut))
      }만 오고 \\n은 오지 않았습니다): 답은 \\n으로 끝나야 ` +
      "합니다(또는 --pause-ms를 0보다 크게 주면, 연결이 끝날 때 답도 끝난 것으로 봅니다)\n";
  }
  return `kv: ${error.message}: answers must end with \\n (or give --pause-ms above 0, ` +
    "and the end of the stream ends an answer)\n";
}

/** The line for an answer that is not UTF-8: its bytes, and as cp949 where it reads as Korean. */
export function notUtf8Line(lang: Lang, error: KvAnswerError, address: string): string {
  if (lang !== "ko") return `kv: ${error.message}\n`;
  const line = error.bytes;
  const korean = readAsCp949(line.length > 64 * 1024 ? line.subarray(0, 64 * 1024) : line);
  return `kv: 서버(${address})가 UTF-8이 아닌 답 줄을 보냈습니다: ${showAsBytes(line)} ` +
    (korean === undefined
      ? "(답은 UTF-8 텍스트여야 합니다: 서버가 답을 latin-1이나 cp949 같은 다른 인코딩으로 보내나요?)"
      : `(cp949로 읽으면 ${show(korean)}입니다. 답은 UTF-8 텍스트여야 합니다: "cp949"가 아니라 ` +
        '.encode()나 .encode("utf-8")로 인코딩하세요)') +
    "\n";
}

/** The note for lines a server sent before the first request (a greeting): no answer to any. */
export function greetingNote(lang: Lang, lines: readonly string[]): string {
  const shown = show(lines.join("\n"));
  return lang === "ko"
    ? `${NOTE.ko}서버가 요청을 받기도 전에, 연결하자마자 ${shown}을(를) 보냈습니다. 어느 요청의 ` +
      "답도 아니므로 답으로 보지 않았습니다(요청을 보낸 뒤에 답을 읽는 클라이언트는 이것을 첫 " +
      "요청의 답으로 읽고, 그 뒤의 답은 하나씩 밀립니다: 요청이 오기 전에는 아무것도 보내지 " +
      "마세요)\n"
    : `${NOTE.en}the server sent ${shown} as soon as we connected, before any request: it ` +
      "answers no request, so it was not taken as one (a client that reads an answer after its " +
      "request takes it for the first answer, and every answer after comes one late: send " +
      "nothing before a request comes)\n";
}
