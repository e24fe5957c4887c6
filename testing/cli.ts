/**
 * The command line's tests' helpers: {@linkcode runClient} and
 * {@linkcode runKvCheck} run `kv client` and `kv check` in-process through
 * `main(args, io)` with a {@linkcode FakeIo}, {@linkcode assertNoStackTrace}
 * checks that an error reached the user as one message, and
 * {@linkcode UNKNOWN_FOO} is the contract's answer to an unknown command.
 * Re-exported by `testing/mod.ts`.
 *
 * @module
 */

import { assert } from "@std/assert";
import { main } from "../main.ts";
import { FakeIo } from "./fake_io.ts";

/** Runs `kv check -p port ...args` in-process, with its standard streams captured. */
export async function runKvCheck(
  port: number,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const fake = new FakeIo();
  const code = await main(["check", "-p", String(port), ...args], fake.io);
  return { code, stdout: fake.stdout, stderr: fake.stderr };
}

/** Runs `kv client --port PORT ...words` against `port`. */
export async function runClient(
  port: number,
  words: string[],
  options: ConstructorParameters<typeof FakeIo>[0] = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const fake = new FakeIo(options);
  const code = await main(["client", "--port", String(port), ...words], fake.io);
  return { code, stdout: fake.stdout, stderr: fake.stderr };
}

/** Fails if `text` (what went to stderr) holds a stack trace. */
export function assertNoStackTrace(text: string): void {
  assert(!/^\s+at /m.test(text), `a stack trace on stderr:\n${text}`);
}

/** The answer to the request `FOO`, which no server knows. */
export const UNKNOWN_FOO =
  'Error: unknown command "FOO" (expected PUT, GET, DELETE, LIST, PING or QUIT)';
