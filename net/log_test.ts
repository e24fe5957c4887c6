import { assertEquals } from "@std/assert";
import { LogBudget, logSample } from "./log.ts";

Deno.test("LogBudget allows `limit` lines a window, counts the rest, and says so on the next line", () => {
  const budget = new LogBudget(3, 1000);
  assertEquals(budget.take(0), { skipped: 0, last: false });
  assertEquals(budget.take(1), { skipped: 0, last: false });
  assertEquals(budget.take(2), { skipped: 0, last: true });
  assertEquals(budget.take(3), undefined);
  assertEquals(budget.take(999), undefined);
  // A new window: the first line says how many went unlogged.
  assertEquals(budget.take(1000), { skipped: 2, last: false });
  assertEquals(budget.take(1001), { skipped: 0, last: false });
  // Windows start at the first line after the last one ended, not on a grid.
  assertEquals(budget.take(5000), { skipped: 0, last: false });
});

Deno.test("LogBudget starts a new window when the clock is set back, spent or not", () => {
  const budget = new LogBudget(1, 60_000);
  assertEquals(budget.take(100_000), { skipped: 0, last: true });
  assertEquals(budget.take(100_001), undefined);
  assertEquals(
    budget.take(40_000),
    { skipped: 1, last: true },
    "an hour back: not silent for an hour",
  );
});

Deno.test("logSample() quotes a client's text, its invisible characters escaped, cut at 80", () => {
  assertEquals(logSample("GET, k"), '"GET, k"');
  assertEquals(logSample("a\u001b[2Jb\u009bc\u202ed"), '"a\\u001b[2Jb\\u{9b}c\\u{202e}d"');
  assertEquals(logSample("x".repeat(100)), `"${"x".repeat(80)}"... (100 chars)`);
});
