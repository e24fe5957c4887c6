/** Tests of the words `kv client` and `kv bench` give a failed connection (errors.ts). Pure. */

import { assertEquals, assertStringIncludes } from "@std/assert";
import { describeConnectError } from "./errors.ts";

Deno.test({
  name:
    "describeConnectError() says how to fix the two certificate problems a self-signed server meets",
  permissions: "none",
  fn() {
    assertStringIncludes(
      describeConnectError(new Error("invalid peer certificate: UnknownIssuer")),
      "give it with --tls-ca FILE",
    );
    assertStringIncludes(
      describeConnectError(
        new Error("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))"),
      ),
      "basicConstraints=critical,CA:FALSE",
    );
    assertEquals(describeConnectError(new Deno.errors.ConnectionReset("x")), "connection reset");
    assertEquals(describeConnectError("plain"), "plain");
  },
});
