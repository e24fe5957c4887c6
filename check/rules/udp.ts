/**
 * The rules only `kv check --udp` plays: PROTOCOL.md's promises about
 * datagrams ("Datagrams (`--udp`)"). Each request is one datagram, its
 * answer one datagram (`check/datagram_probe.ts`). They run at the
 * `contract` level (and `full`), after the contract's other rules.
 *
 * @module
 */

import { ask, line, type Rule } from "../rule.ts";

const DATAGRAMS = "PROTOCOL.md § Datagrams (--udp)";
const SUCCESS = line("Success!");
// Past the 1,024 bytes a textbook server's recvfrom(1024) takes of a datagram.
const BIG_VALUE = "x".repeat(2_000);
// Nine GETs of values of 8,000 bytes answer 72,009 bytes: more than one datagram holds
// (65,507). Each value goes in a PUT of its own, a datagram of about 8 KB: macOS sends none
// longer than 9,216 bytes (net.inet.udp.maxdgram), so one PUT of a 40 KB value fails there
// in the checker's own sendto(), whatever the server does.
const PART_VALUE = "y".repeat(8_000);
const PARTS = Array.from({ length: 9 }, (_, i) => `{k}huge${i}`);

/** The datagram rules, in the order they run. */
export const UDP_RULES: readonly Rule[] = [
  {
    id: "udp.last-line",
    level: "contract",
    source: DATAGRAMS,
    over: "udp",
    text: {
      en: "A datagram's last line may leave out its \\n: the datagram's end ends it",
      ko: "데이터그램의 마지막 줄은 \\n을 빼도 된다: 데이터그램이 끝나면 그 줄도 끝난다",
    },
    steps: [
      ...ask("PING", line("PONG")),
      ...ask("PUT, {k}no-newline, 1", SUCCESS),
      ...ask("GET, {k}no-newline", line("1")),
    ],
  },
  {
    id: "udp.lines",
    level: "contract",
    source: DATAGRAMS,
    over: "udp",
    text: {
      en:
        "Several request lines in one datagram are all answered in one datagram, in order, each answer line ending in \\n",
      ko:
        "데이터그램 하나에 담긴 요청 줄 여러 개에 데이터그램 하나로, 보낸 순서대로, 줄마다 \\n으로 끝내어 모두 답한다",
    },
    steps: ask("PUT, {k}lines, 1\nGET, {k}lines\nDELETE, {k}lines\nGET, {k}lines\nPING", {
      lines: ["Success!", "1", "Success!", "Not exist!", "PONG"],
    }),
  },
  {
    id: "udp.quit",
    level: "contract",
    source: DATAGRAMS,
    over: "udp",
    text: {
      en:
        "QUIT answers Bye! and changes nothing: there is no connection to close, and the server goes on answering",
      ko: "QUIT은 Bye!로 답할 뿐 아무것도 바꾸지 않는다: 닫을 연결이 없고, 서버는 계속 답한다",
    },
    steps: [
      ...ask("PUT, {k}quit, 1\n", SUCCESS),
      ...ask("QUIT\n", line("Bye!")),
      ...ask("GET, {k}quit\n", line("1")),
    ],
  },
  {
    id: "udp.big-request",
    level: "contract",
    source: DATAGRAMS,
    over: "udp",
    text: {
      en: "A request of 2,000 bytes in one datagram is read whole, not cut at 1,024",
      ko: "데이터그램 하나에 담긴 2,000바이트 요청도 1,024바이트에서 잘리지 않고 통째로 읽는다",
    },
    steps: [
      ...ask(`PUT, {k}big, ${BIG_VALUE}\n`, SUCCESS),
      ...ask("GET, {k}big\n", line(BIG_VALUE)),
    ],
  },
  {
    id: "udp.too-large",
    level: "contract",
    source: DATAGRAMS,
    over: "udp",
    text: {
      en:
        "An answer too large for one datagram (65,507 bytes) is replaced by Error: answer too large for a datagram",
      ko:
        "데이터그램 하나(65,507바이트)에 담기지 않는 답은 Error: answer too large for a datagram 줄로 바뀐다",
    },
    steps: [
      ...PARTS.flatMap((key) => ask(`PUT, ${key}, ${PART_VALUE}\n`, SUCCESS)),
      ...ask(PARTS.map((key) => `GET, ${key}\n`).join(""), {
        error: true,
        starting: "answer too large for a datagram",
      }),
    ],
  },
];
