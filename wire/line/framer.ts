/**
 * {@linkcode LineFramer}: the line protocol's {@linkcode Framer}. It splits
 * lines ({@linkcode LineSplitter}) and parses each ({@linkcode parseLine});
 * a blank line is skipped, a line that cannot be read becomes a failed
 * request, which the connection answers with its `Error:` line.
 *
 * @module
 */

import type { Failure } from "../../command/reply.ts";
import type { Request } from "../../command/request.ts";
import type { BufferPool } from "../buffer_pool.ts";
import type { AuthState, Framer } from "../framer.ts";
import type { PendingBudget } from "../pending_budget.ts";
import { LineSplitter } from "./lines.ts";
import { parseLine } from "./parse.ts";

const INVALID_UTF8: Failure = { kind: "invalidUtf8" };
// Before AUTH a line may hold no more than this, so that clients that have
// not authenticated cannot make the server hold much (README, Security).
/** The longest line before AUTH (PROTOCOL.md, Authentication), whatever `--max-line-bytes` allows beyond it. */
export const UNAUTHENTICATED_LINE_BYTES = 16 * 1024;

/** Frames line-protocol requests. */
export class LineFramer implements Framer {
  readonly #lines: LineSplitter;
  readonly #maxLineBytes: number;
  #tooLong: Failure;
  readonly #noRoom: Failure;
  // The session while it has not authenticated; then undefined, for good.
  #auth: AuthState | undefined;

  /**
   * Lines may hold up to `maxLineBytes` bytes before their `\n`; while
   * `auth` has not authenticated, no more than 16 KiB. `pool` lends the
   * buffer of a line split across reads past 4 KiB, and `budget` bounds
   * such buffers over all connections (none by default).
   */
  constructor(
    maxLineBytes: number,
    auth?: AuthState,
    pool?: BufferPool,
    budget?: PendingBudget,
  ) {
    this.#maxLineBytes = maxLineBytes;
    let limit = maxLineBytes;
    if (auth !== undefined && !auth.authenticated) {
      this.#auth = auth;
      limit = Math.min(maxLineBytes, UNAUTHENTICATED_LINE_BYTES);
    }
    this.#lines = new LineSplitter(limit, pool, budget);
    this.#tooLong = { kind: "lineTooLong", limitBytes: limit };
    this.#noRoom = { kind: "pendingFull", limitBytes: budget?.limitBytes ?? Infinity };
  }

  get pendingBytes(): number {
    return this.#lines.pendingBytes;
  }

  /**
   * Whether the unframed pause applies now (PROTOCOL.md, Unframed clients):
   * a partial line is held, or an over-long one skipped, and the client has
   * never sent `\n`. The pause ends a skipped line as `\n` would: else a
   * client that sends no `\n` would have every later request skipped too.
   */
  get awaitsUnframed(): boolean {
    const lines = this.#lines;
    return (lines.pendingBytes > 0 || lines.skipping) && !lines.sawNewline;
  }

  /** Whether the last request was ended by the pause or the end of the stream, not by `\n`. */
  get endedWithoutNewline(): boolean {
    return this.#lines.endedWithoutNewline;
  }

  feed(chunk: Uint8Array): void {
    this.#lines.feed(chunk);
  }

  end(): void {
    this.#lines.endLine();
  }

  release(): void {
    this.#lines.release();
  }

  close(): void {
    this.#lines.close();
  }

  next(into: Request): boolean {
    const lines = this.#lines;
    if (this.#auth?.authenticated) {
      // AUTH succeeded: the lines after it may be as long as configured.
      this.#auth = undefined;
      lines.setMaxLineBytes(this.#maxLineBytes);
      this.#tooLong = { kind: "lineTooLong", limitBytes: this.#maxLineBytes };
    }
    while (true) {
      const kind = lines.next();
      if (kind === null) return false;
      if (kind === "line") {
        if (parseLine(lines.bytes, lines.start, lines.end, into)) return true;
        continue; // A blank line: no answer.
      }
      into.failsUnshown(
        kind === "too-long" ? this.#tooLong : kind === "no-room" ? this.#noRoom : INVALID_UTF8,
      );
      return true;
    }
  }
}
