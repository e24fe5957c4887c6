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

Deno.test({
  name: "describeConnectError(): Deno's refusal says how to get --allow-net; the system's does not",
  permissions: "none",
  fn() {
    // Not made over sockets: this machine has no firewall rule that refuses a connect (EPERM).
    assertEquals(
      describeConnectError(new Deno.errors.NotCapable("Requires net access")),
      "permission denied (run with --allow-net)",
    );
    assertEquals(
      describeConnectError(
        new Deno.errors.PermissionDenied("Operation not permitted (os error 1)"),
      ),
      "permission denied",
    );
  },
});
