/**
 * {@linkcode WriteAnswers}: a server's side of `Store.commit()` (PROTOCOL.md,
 * Durability). A batch's answers wait in the answer buffer until the store
 * has made the batch's changes durable; if it could not, it undid them, and
 * the answers of the batch's writes become errors. The connection loop and
 * the UDP server each keep one, only when their store has `commit()`.
 *
 * @module
 */

import type { Failure, Reply } from "../command/reply.ts";
import type { Store } from "../store/store.ts";
import type { AnswerBuffer } from "../wire/answer_buffer.ts";

const NOT_DURABLE: Failure = { kind: "notDurable" };
const CLOSED: Failure = { kind: "notDurable", closed: true };

/** Where each write's answer lies in an answer buffer, until the store commits. */
export class WriteAnswers {
  readonly #store: Store;
  readonly #out: AnswerBuffer;
  readonly #reply: Reply;
  // [start, end) of each write's answer in #out.
  readonly #marks: number[] = [];

  /** For answers written by `reply` into `out`, of requests run on `store` (which has `commit()`). */
  constructor(store: Store, out: AnswerBuffer, reply: Reply) {
    this.#store = store;
    this.#out = out;
    this.#reply = reply;
  }

  /** The answer of a write lies in `out[start, end)`. */
  add(start: number, end: number): void {
    this.#marks.push(start, end);
  }

  /** Whether a write's answer waits for {@linkcode WriteAnswers.commit}: the batch changed something since the last one. */
  get waiting(): boolean {
    return this.#marks.length > 0;
  }

  /** The answers were dropped (a datagram too large): none is left to replace. */
  clear(): void {
    this.#marks.length = 0;
  }

  /**
   * Called after a batch ran and before its answers are written, and before
   * a batch that changed something lets the event loop turn (a `LIST` walk
   * does): `Store.commit()` must come with no `await` after the changes it
   * covers. Waits for the store (`undefined`: nothing to wait for). If the store could not
   * make the changes durable, each write's answer becomes the protocol's
   * `notDurable` error. A read in the batch keeps the answer it had, which
   * may show a change that was then undone.
   */
  commit(): Promise<void> | undefined {
    const commit = this.#store.commit!();
    if (commit === undefined) {
      this.#marks.length = 0;
      return undefined;
    }
    return commit.then(this.#committed);
  }

  readonly #committed = (durable: boolean): void => {
    const marks = this.#marks;
    if (!durable && marks.length > 0) {
      const out = this.#out;
      const answers = out.bytes().slice();
      out.clear();
      let at = 0;
      for (let i = 0; i < marks.length; i += 2) {
        out.addBytes(answers, at, marks[i]!);
        this.#reply.error(this.#store.closed ? CLOSED : NOT_DURABLE);
        at = marks[i + 1]!;
      }
      out.addBytes(answers, at, answers.length);
    }
    marks.length = 0;
  };
}
