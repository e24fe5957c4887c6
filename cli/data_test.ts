/**
 * The command line of durability, in-process: `kv serve --data/--fsync`'s
 * usage errors, `kv repair`'s, and the one line a missing file permission
 * gets (this suite runs with --allow-net only, so the permission is
 * missing for real). Loading, locks and repairs of real files are in
 * e2e/serve_data_e2e.ts.
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import { main } from "../main.ts";
import { FakeIo } from "../testing/mod.ts";

Deno.test("main() serve --fsync and --compact-min-bytes need --data; bad values are usage errors", async (t) => {
  const cases: [string[], string, string][] = [
    [["serve", "--fsync", "always"], "--fsync needs --data FILE", "serve"],
    [["serve", "--compact-min-bytes", "10"], "--compact-min-bytes needs --data FILE", "serve"],
    [
      ["serve", "--data", "kv.log", "--fsync", "sometimes"],
      'cannot use --fsync "sometimes": expected always, everysec, no',
      "serve",
    ],
    [["serve", "--data="], "option --data needs a value", "serve"],
    [["repair"], "expected one FILE to repair", "repair"],
    [["repair", "a.log", "b.log"], "expected one FILE to repair", "repair"],
    [
      ["repair", "a.log", "--truncate"],
      "options go before FILE: kv repair [OPTIONS] FILE (got a.log --truncate)",
      "repair",
    ],
  ];
  for (const [args, message, sub] of cases) {
    await t.step(`kv ${args.join(" ")}`, async () => {
      const fake = new FakeIo();
      assertEquals(await main(args, fake.io), 2);
      assertEquals(fake.stderr, `kv: ${message}\nRun "kv ${sub} --help" for usage.\n`);
    });
  }
});

Deno.test("main() serve --data without file permissions: exit 2, one line naming the flags to use", async () => {
  const fake = new FakeIo();
  assertEquals(await main(["serve", "--port", "0", "--data", "data/kv.log"], fake.io), 2);
  assertEquals(fake.stdout, "", "it never listened");
  assertEquals(
    fake.stderr,
    "kv: cannot use data file data/kv.log: permission denied " +
      "(run with --allow-read=data --allow-write=data)\n",
  );
});

Deno.test("main() repair without file permissions: exit 2, one line naming the flags to use", async () => {
  const fake = new FakeIo();
  assertEquals(await main(["repair", "/var/lib/kv/kv.log"], fake.io), 2);
  assertEquals(
    fake.stderr,
    "kv: cannot read /var/lib/kv/kv.log: permission denied " +
      "(run with --allow-read=/var/lib/kv --allow-write=/var/lib/kv)\n",
  );
});

Deno.test("main() serve --help and repair --help describe the data file", async () => {
  const serve = new FakeIo();
  assertEquals(await main(["serve", "--help"], serve.io), 0);
  for (
    const text of ["--data FILE", "--fsync MODE", "[default: everysec]", "--compact-min-bytes N"]
  ) {
    assertStringIncludes(serve.stdout, text);
  }
  const repair = new FakeIo();
  assertEquals(await main(["repair", "--help"], repair.io), 0);
  assertStringIncludes(repair.stdout, "kv repair [OPTIONS] FILE");
  assertStringIncludes(repair.stdout, "FILE.repaired");
  assertStringIncludes(repair.stdout, "--truncate");
});
