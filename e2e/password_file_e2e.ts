/**
 * `--password-file`: what of a file's first line becomes the password, and
 * which first lines are refused with one clear line (they could never match
 * an AUTH); and what `kv client --lang ko` says of a password the server
 * refuses.
 * Reads real files, so it is not part of `deno test --allow-net`.
 *
 * Needs: --allow-read=.e2e-tmp --allow-write=.e2e-tmp (see .ci/run).
 *
 * @module
 */

import { assertEquals, assertMatch, assertRejects, assertThrows } from "@std/assert";
import { FileAccessError } from "../cli/options.ts";
import { readCa, readPassword, warnIfShared } from "../cli/secrets.ts";
import { main } from "../main.ts";
import { e2eDir, FakeIo, startTestServer } from "../testing/mod.ts";

/** Writes `bytes` to a private file in `dir` and reads it as a password file. */
async function passwordOf(dir: string, bytes: Uint8Array | string): Promise<string> {
  const path = `${dir}/pw`;
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  await Deno.writeFile(path, data, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
  return readPassword(path, () => {});
}

Deno.test("readPassword() takes the first line, without its \\r or a leading BOM, whatever follows it", async () => {
  await using dir = await e2eDir();
  assertEquals(await passwordOf(dir.path, "hunter2\n"), "hunter2");
  assertEquals(await passwordOf(dir.path, "hunter2\r\nsecond line\n"), "hunter2");
  assertEquals(await passwordOf(dir.path, "비밀 번호"), "비밀 번호");
  // Windows Notepad starts a UTF-8 file with a byte order mark: not part of the password.
  assertEquals(await passwordOf(dir.path, "\ufeffhunter2\r\n"), "hunter2");
  // Bytes that are not text after the first line do not matter.
  assertEquals(
    await passwordOf(dir.path, new Uint8Array([0x70, 0x77, 0x0a, 0xff, 0xfe])),
    "pw",
  );
});

Deno.test("readPassword() refuses a first line that no AUTH could match, in one line", async () => {
  await using dir = await e2eDir();
  const path = JSON.stringify(`${dir.path}/pw`);
  for (
    const [bytes, why] of [
      [new Uint8Array([0x70, 0xff, 0x71, 0x0a]), "its first line is not UTF-8 text"],
      ["\nhunter2\n", "its first line is empty"],
      [" hunter2\n", "the password starts or ends with a space or tab"],
    ] as const
  ) {
    await assertRejects(
      () => passwordOf(dir.path, bytes),
      FileAccessError,
      `cannot use --password-file ${path}: ${why}`,
    );
  }
});

Deno.test("warnIfShared() warns of a password or key file its group or others may read or change, as ssh does", async () => {
  await using dir = await e2eDir();
  const path = `${dir.path}/pw`;
  await Deno.writeTextFile(path, "hunter2\n");
  const warned = async (mode: number) => {
    await Deno.chmod(path, mode);
    const lines: string[] = [];
    warnIfShared(path, (line) => lines.push(line));
    return lines.join("\n");
  };
  assertEquals(await warned(0o600), "");
  assertEquals(await warned(0o400), "");
  for (const mode of [0o644, 0o640, 0o660, 0o602, 0o604, 0o620]) {
    const shown = mode.toString(8);
    assertEquals(
      await warned(mode),
      `warning: users other than its owner may read or change ${path} (mode ${shown}); ` +
        `make it private: chmod 600 ${path}`,
    );
  }
});

Deno.test("kv serve refuses a password AUTH could never carry, in one line, exit 2", async () => {
  await using dir = await e2eDir();
  const path = `${dir.path}/pw`;
  await Deno.writeTextFile(path, `${"p".repeat(20_000)}\n`, { mode: 0o600 });
  const fake = new FakeIo();
  assertEquals(await main(["serve", "-p", "0", "--password-file", path], fake.io), 2);
  assertEquals(
    fake.stderr,
    `kv: cannot use --password-file ${JSON.stringify(path)}: its password is 20000 bytes: ` +
      "AUTH could not carry it (at most 16377 bytes fit in the 16384-byte requests allowed before it)\n",
  );
});

Deno.test("readCa() refuses a file that holds no certificate (a key, a password file), in one line", async () => {
  await using dir = await e2eDir();
  const path = `${dir.path}/ca.pem`;
  await Deno.writeTextFile(path, "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n");
  const error = assertThrows(() => readCa(path), FileAccessError);
  assertEquals(
    error.message,
    `cannot use --tls-ca ${
      JSON.stringify(path)
    }: it holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`,
  );
  await Deno.writeTextFile(path, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  assertEquals(readCa(path).startsWith("-----BEGIN CERTIFICATE-----"), true);
});

Deno.test("kv client --lang ko: a password the server refuses (AUTH with --password-file)", async () => {
  await using dir = await e2eDir();
  const passwordFile = `${dir.path}/pw`;
  await Deno.writeTextFile(passwordFile, "wrong\n", { mode: 0o600 });
  await Deno.chmod(passwordFile, 0o600);
  await using server = startTestServer({ password: "right" });
  const client = async (lang: string, args: string[]) => {
    const fake = new FakeIo();
    const code = await main(["client", "--lang", lang, ...args, "PING"], fake.io);
    return { code, stdout: fake.stdout, stderr: fake.stderr };
  };
  const auth = ["--port", String(server.port), "--password-file", passwordFile];
  const refused = await client("ko", auth);
  assertEquals([refused.code, refused.stdout], [1, ""]);
  assertMatch(refused.stderr, /^kv: 서버가 AUTH를 거부했습니다: [^\n]+\n$/);
  const english = await client("en", auth);
  assertEquals(
    english.stderr,
    refused.stderr.replace("서버가 AUTH를 거부했습니다", "AUTH failed"),
  );
});
