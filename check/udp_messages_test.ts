/**
 * Tests of udp_messages.ts's words where they are put together from parts:
 * the Korean list of what went unanswered after a UDP server's last answer
 * reads as one sentence however many parts it has. Pure: no socket.
 *
 * @module
 */

import { assertStringIncludes } from "@std/assert";
import { udpSilentHint } from "./udp_messages.ts";

Deno.test({
  name: "udpSilentHint() in Korean lists what went unanswered with one particle, for 1 to 3 parts",
  permissions: "none",
  fn: () => {
    assertStringIncludes(
      udpSilentHint("ko", "a.put", 0, true),
      "그 뒤로는 정리(cleanup)에서 보낸 데이터그램 어느 것에도 답이 없었습니다",
    );
    assertStringIncludes(
      udpSilentHint("ko", "a.put", 3, false),
      "그 뒤로는 그 규칙의 나머지, 다음 규칙 3개와 정리(cleanup)에서 보낸 데이터그램 어느 것에도 " +
        "답이 없었습니다",
    );
    assertStringIncludes(
      udpSilentHint("en", "a.put", 3, false),
      "no datagram of that rule, of the 3 rules after it or of the cleanup got any answer",
    );
  },
});
