/**
 * The guard against accidental exposure (PROTOCOL.md, Transport): serve()
 * refuses to listen beyond loopback without a password or noAuth, what
 * counts as loopback, and how `kv serve` says so (one line, exit 2), as it
 * does a password or certificate file it cannot use.
 */

import { assert, assertEquals, assertFalse, assertStringIncludes, assertThrows } from "@std/assert";
import { main } from "../main.ts";
import { ExposureError, isLoopback } from "../server/listen.ts";
import { serve } from "../server/serve.ts";
import { FakeIo } from "../testing/mod.ts";

Deno.test("serve() refuses to listen beyond loopback without a password or noAuth", () => {
  for (const hostname of ["0.0.0.0", "::", "192.0.2.1", "10.0.0.1"]) {
    assertThrows(() => serve({ hostname, port: 0 }), ExposureError, "without a password");
  }
  // The library's caller is told of serve()'s options, not kv serve's.
  assertThrows(() => serve({ hostname: "0.0.0.0", port: 0 }), ExposureError, "the password option");
  // With noAuth the guard lets it through (to an address this machine does not have).
  const error = assertThrows(() =>
    serve({ hostname: "192.0.2.1", port: 0, noAuth: true, log: () => {} })
  );
  assertFalse(error instanceof ExposureError);
  const withPassword = assertThrows(() => serve({ hostname: "192.0.2.1", port: 0, password: "x" }));
  assertFalse(withPassword instanceof ExposureError);
});

Deno.test({
  name: "isLoopback() knows 127.0.0.0/8, ::1 and localhost",
  permissions: "none",
  fn: () => {
    for (
      const host of [
        "127.0.0.1",
        "127.1.2.3",
        "localhost",
        "LOCALHOST",
        "::1",
        "[::1]",
        "::ffff:127.0.0.1",
      ]
    ) {
      assert(isLoopback(host), host);
    }
    for (
      const host of ["0.0.0.0", "::", "128.0.0.1", "192.168.1.1", "localhost.example", "1270.0.0.1"]
    ) {
      assertFalse(isLoopback(host), host);
    }
  },
});

Deno.test("main() serve: the exposure refusal and a password file it may not read are one line and exit 2", async (t) => {
  await t.step("--host 0.0.0.0 without a password", async () => {
    const fake = new FakeIo();
    assertEquals(await main(["serve", "--host", "0.0.0.0", "-p", "0"], fake.io), 2);
    assertEquals(fake.stdout, "");
    assert(
      fake.stderr.startsWith("kv: refusing to listen on 0.0.0.0 without a password"),
      fake.stderr,
    );
    assertStringIncludes(fake.stderr, "--password-file FILE, or pass --no-auth");
    assertEquals(
      fake.stderr.trimEnd().split("\n").length,
      2,
      "one line, and the pointer to --help",
    );
  });
  await t.step("--password-file without --allow-read", async () => {
    const fake = new FakeIo();
    assertEquals(await main(["serve", "--password-file", "pw.txt", "-p", "0"], fake.io), 2);
    assertEquals(
      fake.stderr.split("\n")[0],
      'kv: cannot read --password-file "pw.txt": permission denied (run with --allow-read=pw.txt)',
    );
  });
  await t.step("--tls-cert without --tls-key", async () => {
    const fake = new FakeIo();
    assertEquals(await main(["serve", "--tls-cert", "c.pem"], fake.io), 2);
    assertEquals(fake.stderr.split("\n")[0], "kv: --tls-cert and --tls-key go together: give both");
  });
});
