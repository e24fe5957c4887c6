/**
 * {@linkcode SplitProgress}: how far `RespFramer` (framer.ts) parsed a request
 * split across reads, so that the next read resumes it instead of parsing
 * it again from its start (Redis's multibulklen and bulklen).
 *
 * @module
 */

import type { Request } from "../../command/request.ts";

/**
 * The parse of one request split across reads. The arguments parsed so far
 * stay in the request's arrays; the positions here and there are in the
 * framer's source as it was when the request started at {@linkcode start}.
 */
export class SplitProgress {
  /** Where the request started. */
  start = 0;
  /** Elements the request has. */
  count = 0;
  /** Elements parsed: the name, then the arguments. */
  done = 0;
  /** Where the next element starts. */
  at = 0;
  /** Where the command's name starts. */
  nameStart = 0;
  /** Where the command's name ends. */
  nameEnd = 0;
  /** The data of an element whose header is parsed, or -1. */
  bulkStart = -1;
  /** The length of that element's data. */
  bulkLength = 0;

  /** Keeps how far the request at `start` was parsed ({@linkcode bulkStart} and {@linkcode bulkLength} are the caller's to set). */
  keep(
    start: number,
    count: number,
    done: number,
    at: number,
    nameStart: number,
    nameEnd: number,
  ): void {
    this.start = start;
    this.count = count;
    this.done = done;
    this.at = at;
    this.nameStart = nameStart;
    this.nameEnd = nameEnd;
  }

  /**
   * Whether the request kept for `partial` can be resumed into `into`, now
   * at `start`: the same request object, its arguments untouched. Moves the
   * positions kept if the request has moved since (it is copied to the
   * start of the framer's buffer at most once while it waits, so this costs
   * one pass over its arguments).
   */
  resumes(partial: Request | undefined, into: Request, start: number): boolean {
    if (partial !== into || into.count !== Math.max(0, this.done - 1)) {
      this.bulkStart = -1;
      return false;
    }
    const shift = start - this.start;
    if (shift !== 0) {
      for (let k = 0; k < into.count; k++) {
        into.starts[k]! += shift;
        into.ends[k]! += shift;
      }
      this.at += shift;
      this.nameStart += shift;
      this.nameEnd += shift;
      if (this.bulkStart !== -1) this.bulkStart += shift;
    }
    return true;
  }
}
