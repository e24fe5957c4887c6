/**
 * The words `kv check --udp` adds, in English and Korean: why a rule failed
 * over datagrams, the note for an answer that needed a resend, the header's
 * line about the rules left out, and the hint for a datagram cut at 1,024
 * bytes; `udp_transport.ts` says which fits. No answer and a resend are
 * said in `kv client --udp`'s words (`cli/client_udp_messages.ts`).
 *
 * @module
 */

import { udpNoAnswerMessage, udpUnreachableMessage } from "../client/udp.ts";
import { udpNoAnswerLine, udpRetryNote } from "../cli/client_udp_messages.ts";
import type { Lang, Text } from "./rule.ts";
import { text } from "./messages.ts";

/** One of `kv client --udp`'s stderr lines, without its `kv: ` and its `\n`. */
function bare(line: string): string {
  return line.replace(/^kv: /, "").replace(/\n$/, "");
}

/** Why a rule failed over UDP. */
export const UDP_REASON = {
  /** No datagram came back after every try. */
  noAnswer: (address: string, tries: number, timeoutMs: number) => {
    const message = udpNoAnswerMessage(address, tries, timeoutMs);
    return text(
      bare(udpNoAnswerLine("en", message, address, tries, timeoutMs)),
      bare(udpNoAnswerLine("ko", message, address, tries, timeoutMs)),
    );
  },
  /**
   * The server's host answered with ICMP "port unreachable": nothing listens
   * on the port (any more). Only Windows tells a UDP socket so.
   */
  unreachable: (address: string) =>
    text(
      `${udpUnreachableMessage(address)}: has the server stopped? (see its terminal)`,
      `${address}에서 기다리는 UDP 서버가 없습니다: 그 호스트가 "port unreachable"(ICMP)로 ` +
        "답했습니다(Windows는 이를 오류 10054로 알립니다). 서버가 멈췄나요? (서버의 터미널을 보세요)",
    ),
  /**
   * The answer datagram's last line has no `\n` (its words begin as TCP's
   * `REASON.quiet` does, so that the hint about `\n` counts it).
   */
  noNewline: () =>
    text(
      "the answer stopped without a \\n (at the end of its datagram): over UDP too, every " +
        "answer line ends with \\n",
      "답이 \\n 없이 멈춤 (데이터그램 끝에서): UDP에서도 답의 모든 줄은 \\n으로 끝나야 함",
    ),
  /** The answer datagram held fewer lines than the requests in its datagram call for. */
  ended: () =>
    text(
      "the answer datagram ended before the answer did: one datagram must hold the answers to " +
        "every request of the datagram it answers (a LIST's empty line too)",
      "답 데이터그램이 답보다 먼저 끝남: 데이터그램 하나로 보낸 요청 모두의 답(LIST의 빈 줄까지)이 " +
        "답 데이터그램 하나에 담겨야 함",
    ),
  /** The answer was a datagram of 0 bytes (a textbook server's `sendto(b"")`). */
  empty: () =>
    text(
      "the answer was an empty datagram (0 bytes): an answer is at least one line, ending with \\n",
      "답이 빈 데이터그램(0바이트)임: 답에는 \\n으로 끝나는 줄이 적어도 하나 있어야 함",
    ),
  /** More datagrams came after the first: an answer sent in pieces. */
  split: () =>
    text(
      "the answer came in more than one datagram (one sendto() per line?): over UDP the whole " +
        "answer to a datagram is one datagram, since datagrams may be lost or come out of order",
      "답이 데이터그램 여러 개로 나뉘어 옴 (줄마다 sendto()?): UDP에서는 데이터그램 하나에 대한 답 " +
        "전체가 데이터그램 하나여야 함 (데이터그램은 사라지거나 순서가 바뀔 수 있음)",
    ),
  /** The request could not be sent at all. */
  sendFailed: (why: string) =>
    text(`the request could not be sent: ${why}`, `요청을 보낼 수 없음: ${why}`),
  /** A step that has no meaning without a connection (a rule that is TCP's alone). */
  noConnection: () => text("UDP has no connections", "UDP에는 연결이 없음"),
};

/** Whether `reason` is {@linkcode UDP_REASON.unreachable}'s. */
export function isUdpUnreachable(reason: Text): boolean {
  return reason.en.startsWith("no UDP server listens on");
}

/** Whether `reason` is {@linkcode UDP_REASON.noAnswer}'s. */
export function isUdpNoAnswer(reason: Text): boolean {
  return reason.en.startsWith("no answer from") && reason.en.includes("over UDP");
}

/** The last line of `kv check --list` without `--udp`: the datagram rules, and how to see them. */
export function listUdpLine(lang: Lang): string {
  return lang === "en"
    ? "Over UDP (kv check --udp) the datagram rules (udp.*) are added and the connection rules " +
      "left out: kv check --list --udp shows them.\n"
    : "UDP에서는(kv check --udp) 데이터그램 규칙(udp.*)이 더해지고 연결 규칙은 빠집니다: " +
      "kv check --list --udp로 보세요.\n";
}

/**
 * Whether `reason` is about how an answer was framed or came, not what it
 * said: no `\n`, a datagram that ended early or came in pieces, no answer,
 * a request not sent. A request cut at 1,024 bytes explains none of them.
 */
export function isUdpFramingFailure(reason: Text): boolean {
  return isUdpNoAnswer(reason) || isUdpUnreachable(reason) ||
    reason.en.startsWith(UDP_REASON.sendFailed("").en) ||
    [UDP_REASON.noNewline(), UDP_REASON.ended(), UDP_REASON.split()].some((framing) =>
      framing.en === reason.en
    );
}

/** The note under a rule whose answer came only after a resend (`kv client --udp`'s words). */
export function retriedNote(lang: Lang, tries: number): string {
  return bare(udpRetryNote(lang, tries));
}

/** The header's line under `--udp`: the rules of the level left out, and why. */
export function leftOutLine(lang: Lang, ids: readonly string[]): string {
  if (ids.length === 0) return "";
  return lang === "en"
    ? `Over UDP, each request is one datagram and its answer one datagram (sent again after ` +
      `each timeout, as kv client --udp does). Left out, as UDP has no connections: ` +
      `${ids.join(", ")}.\n`
    : `UDP에서는 요청 하나가 데이터그램 하나, 답도 데이터그램 하나입니다 (제한 시간 안에 답이 ` +
      `없으면 kv client --udp처럼 다시 보냄). UDP에는 연결이 없으므로 뺀 규칙: ${
        ids.join(", ")
      }.\n`;
}

/**
 * Said after the summary when rules that sent a datagram of more than
 * 1,024 bytes then got a wrong or missing answer (not one framed wrong): a
 * server reading with `recvfrom(1024)` gets only its first 1,024 bytes, and
 * the rest is dropped.
 */
export function cutDatagramHint(lang: Lang, ids: readonly string[]): string {
  return lang === "en"
    ? `Hint: ${ids.join(", ")} sent a datagram of more than 1,024 bytes and failed. A server ` +
      "that reads with recvfrom(1024) gets only the first 1,024 bytes of a datagram: the rest " +
      "is dropped, not kept for the next read as TCP keeps a stream's. Read with " +
      "recvfrom(65535) (no datagram is longer). On Windows the same recvfrom(1024) raises " +
      "OSError [WinError 10040] instead, which stops a server that does not catch it.\n"
    : `힌트: 1,024바이트가 넘는 데이터그램을 보낸 규칙(${ids.join(", ")})이 실패했습니다. ` +
      "recvfrom(1024)로 읽는 서버는 데이터그램의 앞 1,024바이트만 받고 나머지는 버려집니다: " +
      "TCP는 스트림의 나머지를 다음 읽기를 위해 남겨 두지만 UDP는 그러지 않습니다. " +
      "recvfrom(65535)로 읽으세요 (그보다 긴 데이터그램은 없습니다). Windows에서는 같은 " +
      "recvfrom(1024)가 잘라 주는 대신 OSError [WinError 10040]을 일으키므로, 이를 잡지 않는 " +
      "서버는 멈춥니다.\n";
}

/** How many bytes a textbook UDP server's `recvfrom(1024)` takes of a datagram. */
export const TEXTBOOK_RECV_BYTES = 1024;

/**
 * Said after the summary when, over UDP, the server's port answered with
 * ICMP "port unreachable" from a step of rule `id` on (only Windows lets
 * kv check see it), with `rules` rules after `id` that met it too: the
 * server stopped in `id`. `big`: the bytes of the longest datagram `id`
 * sent, when past a textbook `recvfrom(1024)`. The two ways Windows stops
 * a textbook UDP server that Linux lets live: WSAEMSGSIZE (10040) for a
 * datagram longer than the buffer, where Linux cuts it; and WSAECONNRESET
 * (10054) on the `recvfrom()` after a `sendto()` to a closed port, where
 * Linux says nothing. Python's `socket.ioctl()` cannot turn the second
 * off (it takes SIO_RCVALL, SIO_KEEPALIVE_VALS and SIO_LOOPBACK_FAST_PATH
 * only): catching it is the way.
 */
export function udpStoppedHint(
  lang: Lang,
  id: string,
  rules: number,
  big: number | undefined,
): string {
  const size = big?.toLocaleString("en-US");
  return lang === "en"
    ? `Hint: the server stopped during or right after ${id}: from then on its port answered ` +
      'kv check\'s datagrams with "port unreachable" (ICMP)' +
      (rules > 0 ? `, in the ${rules === 1 ? "rule" : `${rules} rules`} after it too` : "") +
      ": nothing listened there any more, and its terminal shows why (a Traceback). On Windows " +
      "two things stop a textbook UDP server that Linux lets live. recvfrom(1024) raises " +
      "OSError [WinError 10040] for a datagram longer than 1,024 bytes (Linux cuts it short)" +
      (size === undefined ? "" : `, and ${id} sent one of ${size} bytes`) +
      ": read with recvfrom(65535). And recvfrom() raises ConnectionResetError " +
      "[WinError 10054] once a sendto() went to a client that had closed its socket (one that " +
      "gave up waiting, or a second answer after a resend: kv check --udp closes each " +
      "request's socket once it has the answer). Neither harms the server's socket: catch " +
      "ConnectionResetError around recvfrom() and go on to the next datagram, and catch errors " +
      "around the handling of each datagram, so that no datagram can stop the server.\n"
    : `힌트: 서버가 ${id} 도중이나 직후에 멈췄습니다: 그때부터 서버의 포트가 kv check의 ` +
      '데이터그램에 "port unreachable"(ICMP)로 답했습니다' +
      (rules > 0 ? `(그 뒤의 규칙 ${rules}개에서도)` : "") +
      ". 그 포트에서 기다리는 프로그램이 더 이상 없었다는 뜻이고, 서버를 실행한 터미널에 그 까닭" +
      "(Traceback)이 찍혀 있습니다. Linux에서라면 살아남을 교재식 UDP 서버도 Windows에서는 다음 두 " +
      "가지 때문에 멈춥니다. 첫째, recvfrom(1024)는 1,024바이트보다 긴 데이터그램에 OSError " +
      "[WinError 10040]을 일으킵니다(Linux는 잘라서 줍니다)" +
      (size === undefined ? "" : `. ${id} 규칙이 보낸 데이터그램은 ${size}바이트였습니다`) +
      ": recvfrom(65535)로 읽으세요. 둘째, 서버가 sendto()로 보낸 답이 이미 소켓을 닫은 " +
      "클라이언트에게 가면(클라이언트가 기다리다 포기했거나, 다시 보낸 요청에 두 번째 답을 보낸 경우. " +
      "kv check --udp는 답을 받으면 그 요청의 소켓을 닫습니다) 다음 recvfrom()이 " +
      "ConnectionResetError [WinError 10054]를 일으킵니다. 어느 쪽도 서버의 소켓을 망가뜨리지 " +
      "않습니다: recvfrom()을 ConnectionResetError를 잡는 try로 감싸 다음 데이터그램으로 넘어가고, " +
      "데이터그램 하나를 처리하는 부분 전체에서도 예외를 잡아 어떤 데이터그램도 서버를 멈추지 못하게 " +
      "하세요.\n";
}

/**
 * Said after the summary when, over UDP, the server's last answer came in
 * rule `id` (`passed`: that rule passed), and nothing after it, not the
 * `rules` rules after nor the cleanup, got one: it stopped there, and no
 * "port unreachable" said so (only Windows reports one to a UDP socket).
 */
export function udpSilentHint(lang: Lang, id: string, rules: number, passed: boolean): string {
  const after = {
    en: [
      passed ? "" : "of that rule",
      rules === 0 ? "" : `of the ${rules === 1 ? "rule" : `${rules} rules`} after it`,
      "of the cleanup",
    ].filter((part) => part !== ""),
    ko: [
      passed ? "" : "그 규칙의 나머지",
      rules === 0 ? "" : `다음 규칙 ${rules}개`,
      "정리(cleanup)",
    ].filter((part) => part !== ""),
  };
  const en = after.en.length === 1
    ? after.en[0]!
    : `${after.en.slice(0, -1).join(", ")} or ${after.en.at(-1)}`;
  // "나머지" and "N개" both end in a vowel: 와, not 과.
  const ko = after.ko.length === 1
    ? after.ko[0]!
    : `${after.ko.slice(0, -1).join(", ")}와 ${after.ko.at(-1)}`;
  return lang === "en"
    ? `Hint: the server's last answer came in ${id}; after it, no datagram ${en} got any ` +
      "answer: the server stopped answering there. Over UDP nothing tells kv check that " +
      "nothing listens any more (its sockets are not connected, and to those only Windows " +
      'reports "port unreachable"), so look in the ' +
      "server's terminal: a Traceback there names the request that ended it (decode() of bytes " +
      "that are not UTF-8, say). Catch errors around the handling of each datagram, so that no " +
      "datagram can stop the server, and answer every request, a bad one too.\n"
    : `힌트: 서버의 마지막 답은 ${id}에서 왔습니다. 그 뒤로는 ${ko}에서 보낸 데이터그램 ` +
      "어느 것에도 답이 없었습니다: 서버가 거기서 답하기를 멈췄습니다. UDP에서는 그 포트에서 " +
      "기다리는 프로그램이 없어져도 kv check가 알 수 없으므로(kv check의 소켓은 connect()하지 " +
      '않은 소켓이라 Windows만 "port unreachable"을 알려 줍니다) 서버를 실행한 터미널을 ' +
      "보세요: Traceback이 있다면 " +
      "서버를 멈춘 요청이 거기 나옵니다(예: UTF-8이 아닌 바이트를 decode()한 경우). " +
      "데이터그램마다 처리하는 부분을 try/except로 감싸 어떤 데이터그램도 서버를 멈추지 못하게 " +
      "하고, 잘못된 요청에도 답하세요.\n";
}
