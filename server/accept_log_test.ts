import { assert, assertEquals, assertMatch } from "@std/assert";
import type { LogLevel } from "../net/log.ts";
import { ACCEPT_LOG_EVERY_MS, AcceptFailures } from "./accept_log.ts";

/** EMFILE as Deno throws it from accept(). */
function emfile(): Error {
  return Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" });
}

function collect(): { lines: string[]; failures: AcceptFailures; at: (ms: number) => void } {
  const lines: string[] = [];
  let now = 0;
  const failures = new AcceptFailures(
    (level: LogLevel, message: string) => lines.push(`${level} ${message}`),
    () => now,
  );
  return { lines, failures, at: (ms) => (now = ms) };
}

Deno.test("AcceptFailures: a run of failures is one line, then one every 10 s, and one when accepts work again", () => {
  const { lines, failures, at } = collect();
  for (let ms = 0; ms < ACCEPT_LOG_EVERY_MS; ms += 5) {
    at(ms);
    failures.failed(emfile(), 40);
    failures.accepted(40); // At the limit a client leaves and the next takes its descriptor.
  }
  assertEquals(lines.length, 1, lines.join("\n"));
  assertMatch(
    lines[0]!,
    /^error out of file descriptors \(Error: Too many open files .*40 are connected.*Raise ulimit -n/,
  );
  at(ACCEPT_LOG_EVERY_MS);
  failures.failed(emfile(), 40);
  assertEquals(lines.length, 2);
  assertMatch(
    lines[1]!,
    /^error still out of file descriptors: 2000 accepts failed in the last 10\.0 s/,
  );
  assert(failures.failing);
  at(ACCEPT_LOG_EVERY_MS + 100);
  failures.accepted(39); // Fewer connected than at the last failure: a descriptor to spare.
  assertEquals(lines.length, 3);
  assertMatch(lines[2]!, /^info accepting clients again, after 2001 failed accepts over 10\.1 s/);
  assert(!failures.failing);
});

Deno.test("AcceptFailures: a run that starts within 10 s of the last line is counted in the next line", () => {
  const { lines, failures, at } = collect();
  failures.failed(emfile(), 3);
  failures.accepted(2);
  assertEquals(lines.length, 2);
  at(1_000);
  failures.failed(emfile(), 3);
  failures.failed(emfile(), 3);
  failures.accepted(2); // Its first line was not logged: neither is its end.
  assertEquals(lines.length, 2, lines.join("\n"));
  at(ACCEPT_LOG_EVERY_MS);
  failures.failed(emfile(), 3);
  assertEquals(lines.length, 3);
  assertMatch(lines[2]!, /^error out of file descriptors .*; 2 more failed before it\./);
});

Deno.test("AcceptFailures: two accepts in a row end a run; another error is said as it is", () => {
  const { lines, failures } = collect();
  failures.failed(new Error("something else"), 0);
  assertMatch(
    lines[0]!,
    /^error accept failed, retrying with a backoff up to 1 s: Error: something else$/,
  );
  failures.accepted(1);
  assert(failures.failing);
  failures.accepted(2);
  assert(!failures.failing);
  assertMatch(
    lines[1]!,
    /^info accepting clients again, after 1 failed accept over 0\.0 s; 2 clients/,
  );
});
