/**
 * `kv client --udp`'s notes and lines in English and Korean (`--lang`): a
 * send that failed, no answer after every try (UDP promises no delivery),
 * an answer that needed a resend, answers without `\n`. `kv check --udp`
 * says the first two in the same words (check/udp_messages.ts).
 *
 * @module
 */

import { udpUnreachableMessage } from "../client/udp.ts";
import { errorMessage } from "../net/conn.ts";
import { permissionDenied } from "../net/permission.ts";
import { NOTE } from "./client_messages.ts";
import type { Lang } from "./lang.ts";

/**
 * `kv client --udp`'s line when no datagram came back after every try:
 * UDP promises no delivery; or nothing listens there; or the server
 * answered another address (a learner's `sendto()` to a fixed port).
 * `message` is the library's (in English).
 */
export function udpNoAnswerLine(
  lang: Lang,
  message: string,
  address: string,
  tries: number,
  timeoutMs: number,
): string {
  if (lang === "ko") {
    return `kv: 서버(${address})에 UDP로 ${tries}번 보냈지만(매번 ${timeoutMs} ms씩 ` +
      "기다림) 답이 " +
      "없었습니다: UDP는 전달을 약속하지 않습니다(요청이나 그 답이 사라졌을 수도 있고, 그 주소에서 " +
      "kv serve --udp 같은 UDP 서버가 기다리지 않을 수도 있고, 서버가 요청이 온 곳이 아닌 다른 " +
      "주소로 답했을 수도 있습니다: 답은 recvfrom()이 돌려준 주소로 sendto()해야 합니다)\n";
  }
  return `kv: ${message}: UDP promises no delivery (the request or its answer may have been ` +
    "lost; or no UDP server, such as kv serve --udp, listens there; or the server answered " +
    "another address than the request came from: it must sendto() the address its recvfrom() " +
    "returned)\n";
}

/**
 * `kv client --udp`'s line when the server's host said that nothing listens
 * on its port (ICMP port unreachable: only Windows tells a UDP socket so).
 */
export function udpUnreachableLine(lang: Lang, address: string): string {
  if (lang === "ko") {
    return `kv: ${address}에서 기다리는 UDP 서버가 없습니다: 그 호스트가 "port unreachable"` +
      '(ICMP)로 답했습니다(Windows는 이를 오류 10054, "현재 연결은 원격 호스트에 의해 강제로 ' +
      '끊겼습니다"로 알립니다). 그 주소에서 kv serve --udp 같은 UDP 서버를 실행하거나, --host와 ' +
      "--port를 확인하세요\n";
  }
  return `kv: ${udpUnreachableMessage(address)}: start a UDP server there (such as ` +
    "kv serve --udp), or check --host and --port\n";
}

/**
 * `kv client --udp`'s line when the send itself failed: no permission to
 * bind the client's own port, a host name with no address, a request too
 * long for one datagram (EMSGSIZE); anything else in the OS's words.
 */
export function udpSendFailedLine(
  lang: Lang,
  error: unknown,
  server: { address: string; host: string },
): string {
  // Deno's permission: say how to get it. The operating system's refusal is in `message`.
  const notCapable = error instanceof Deno.errors.NotCapable;
  const message = errorMessage(error);
  const unresolved = message.startsWith("failed to lookup address");
  const tooLong = error instanceof Error && (error as { code?: unknown }).code === "EMSGSIZE";
  if (lang === "ko") {
    const why = notCapable
      ? permissionDenied(["--allow-net"], Deno.build.standalone, {
        lang,
        why: ": 클라이언트는 보내는 것 말고도 자기 로컬 포트를 bind합니다",
      })
      : unresolved
      ? `호스트 이름 ${server.host}의 주소를 찾지 못했습니다(${message}). --host가 맞나요?`
      : tooLong
      ? `요청이 너무 길어서 데이터그램 하나에 담을 수 없습니다(${message}). 긴 요청은 --udp 없이 ` +
        `TCP로 보내세요. ${MAXDGRAM.ko}`
      : message;
    return `kv: UDP로 서버(${server.address})에 보낼 수 없습니다: ${why}\n`;
  }
  const why = notCapable
    ? permissionDenied(["--allow-net"], Deno.build.standalone, {
      why: ": the client binds a local port as well as sending",
    })
    : tooLong
    ? `${message}: the request is longer than this system sends in one datagram; send long ` +
      `requests over TCP (without --udp). ${MAXDGRAM.en}`
    : message;
  return `kv: cannot send to ${server.address} over UDP: ${why}\n`;
}

/**
 * Where a datagram's limit is lower than the contract's 65,507 bytes: macOS
 * refuses to send one past `net.inet.udp.maxdgram` (9,216 bytes by default),
 * even on loopback.
 */
const MAXDGRAM = {
  en: "(macOS sends at most net.inet.udp.maxdgram bytes, 9216 by default; " +
    "sudo sysctl -w net.inet.udp.maxdgram=65535 raises it until the next restart)",
  ko: "(macOS는 데이터그램을 net.inet.udp.maxdgram에 정한 크기까지만 보냅니다. 기본값은 " +
    "9216바이트이고, sudo sysctl -w net.inet.udp.maxdgram=65535로 다음 재시동 때까지 한도를 " +
    "올릴 수 있습니다)",
};

/** `kv client --udp`'s note for an answer that came only after a resend. */
export function udpRetryNote(lang: Lang, tries: number): string {
  return lang === "ko"
    ? `${NOTE.ko}${tries}번째 보낸 뒤에야 답이 왔습니다: 데이터그램이 사라졌거나 늦었습니다` +
      "(요청이 두 번 이상 실행되었을 수도 있습니다)\n"
    : `${NOTE.en}the answer came on try ${tries}: a datagram was lost or late (and the request may have run more than once)\n`;
}

/** `kv client --udp`'s note, said once, for answers that do not end with `\n`. */
export function udpNoNewlineNote(lang: Lang): string {
  return lang === "ko"
    ? `${NOTE.ko}서버가 답을 \\n으로 끝내지 않습니다. UDP에서는 데이터그램 하나가 답 전체이므로 ` +
      "받은 그대로 보여 줍니다\n"
    : `${NOTE.en}the server does not end its answers with \\n; over UDP a datagram is one whole answer, so it is shown as it came\n`;
}
