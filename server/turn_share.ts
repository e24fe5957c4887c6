/**
 * {@linkcode TurnShare}: when a connection whose reads or writes never wait
 * lets the event loop turn, so that the other clients are served.
 *
 * A read whose bytes are there already, and a write the socket takes at
 * once, finish without a turn of the event loop: the loop polls no other
 * socket meanwhile. A client that pipelines without end and reads at once
 * keeps both so, and would hold every other client for as long as it goes
 * on, whether what it moves is requests (15 million `GET`s) or answers (a
 * `LIST` of a big store, `GET`s of a big value: one 9-byte request asks for
 * a megabyte). The server's ticker (`ServerSide.turns`) counts up only while
 * the loop turns; a connection that has moved {@linkcode BYTES_PER_TURN}
 * one way within one of its ticks gives the others their turn.
 *
 * @module
 */

/**
 * What a connection may read, and what it may write, within one tick of
 * the server's ticker (10 ms) before it lets the event loop turn. A loaded
 * server's connection reads a few KiB a tick; a lone client's, as fast as
 * it can go, some tens; a megabyte of answers takes 1–3 ms to write.
 */
export const BYTES_PER_TURN = 1 << 20;

/** One direction of one connection: the bytes it moved since the ticker last counted up. */
export class TurnShare {
  readonly #turns: { readonly count: number };
  #seen = -1;
  #bytes = 0;

  /** Counts against `turns`, the server's ticker (`ServerSide.turns`). */
  constructor(turns: { readonly count: number }) {
    this.#turns = turns;
  }

  /**
   * Counts `bytes` moved; `true` once more than {@linkcode BYTES_PER_TURN}
   * have moved with no tick between: the caller then lets the loop turn
   * (`nextTurn()`), and the count starts again.
   */
  spent(bytes: number): boolean {
    const count = this.#turns.count;
    if (count !== this.#seen) {
      this.#seen = count;
      this.#bytes = bytes;
      return false;
    }
    if ((this.#bytes += bytes) <= BYTES_PER_TURN) return false;
    this.#bytes = 0;
    return true;
  }
}
