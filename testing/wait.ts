/**
 * Bounds on the tests' waits: every wait for an event is bounded, so a
 * missing event fails its test instead of hanging the run; gates, events a
 * test opens itself; and a bounded poll, for a state no event announces.
 * Re-exported by `testing/mod.ts`.
 *
 * @module
 */

/** The longest any single wait in a test may take before it fails. */
export const BOUND_MS = 10_000;

/**
 * Fails with `what` unless `promise` settles within `ms`: a bound on a wait
 * for an event, never a way to wait.
 */
export async function within<T>(what: string, promise: Promise<T>, ms = BOUND_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise a test opens when it likes: to hold a sync or a compaction step, or to wait for one. */
export function gate(): { wait: Promise<void>; open: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { wait: promise, open: () => resolve() };
}

/**
 * Keeps the process busy until `Date.now()` has passed `untilMs`: a stall
 * of the whole process (a loaded machine, in life), during which timers come
 * due and bytes arrive but nothing runs. Not a way to wait for an event.
 */
export function stallUntil(untilMs: number): void {
  while (Date.now() <= untilMs) { /* stalled */ }
}

/**
 * Checks `done` every `everyMs` until it returns true, and fails with `what`
 * if it has not within `ms`: for a state no event announces (the count of a
 * process's open descriptors in /proc, say), never where an event can be
 * awaited.
 */
export async function pollUntil(
  what: string,
  done: () => boolean | Promise<boolean>,
  options: { ms?: number; everyMs?: number } = {},
): Promise<void> {
  const { ms = BOUND_MS, everyMs = 20 } = options;
  const end = performance.now() + ms;
  for (;;) {
    if (await done()) return;
    if (performance.now() >= end) throw new Error(`${what}: not so within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
