/**
 * {@linkcode PendingBudget}: what every connection's unfinished requests
 * may hold together. One connection's partial line or RESP request is
 * bounded by `--max-line-bytes`, but 10,000 connections each holding a
 * megabyte make 10 GiB: the budget bounds their sum (`--max-pending-bytes`),
 * as Redis bounds its clients' buffers together with `maxmemory-clients`.
 *
 * Only a buffer past a connection's own small one (4 KiB) counts, and only
 * when it grows or goes: a framer takes its size from the budget as it
 * allocates (or borrows) it, and gives it back when it drops it. Requests
 * that fit in a read, or in the small buffer, never touch the budget.
 *
 * @module
 */

/** Bytes of partial requests held by all connections together, up to a limit. */
export class PendingBudget {
  /** The most the buffers of unfinished requests may hold together. */
  readonly limitBytes: number;
  #held = 0;

  /** A budget of `limitBytes` (`Infinity`: counted, never refused). */
  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  /** Bytes taken and not given back. */
  get heldBytes(): number {
    return this.#held;
  }

  /** Takes `bytes` if the sum stays within the limit; `false` (nothing taken) if it would pass it. */
  take(bytes: number): boolean {
    if (this.#held + bytes > this.limitBytes) return false;
    this.#held += bytes;
    return true;
  }

  /**
   * Takes `bytes` whatever the limit: the last piece of a request that is
   * complete now, held only until it has run.
   */
  force(bytes: number): void {
    this.#held += bytes;
  }

  /** Gives back `bytes` taken before. */
  give(bytes: number): void {
    this.#held -= bytes;
  }
}

/** The budget of a framer given none (a client's, the UDP server's, a test's): counted, never refused. */
export function unbounded(): PendingBudget {
  return new PendingBudget(Infinity);
}

/** The limit as an error says it: `1 GiB`, `512 MiB`, or bytes when it is not whole MiB. */
export function formatLimit(bytes: number): string {
  const mib = 1024 * 1024;
  if (bytes % (1024 * mib) === 0) return `${bytes / 1024 / mib} GiB`;
  return bytes % mib === 0 ? `${bytes / mib} MiB` : `${bytes} bytes`;
}
