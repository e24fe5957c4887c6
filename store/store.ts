/**
 * The {@linkcode Store} interface: the byte API that every command handler
 * uses, and that every backend implements. The in-memory table
 * ({@linkcode MemoryStore}) is one implementation; a log or an expiry index
 * wraps one and implements the same interface, so neither the handlers nor
 * the connection loop learn which they hold.
 *
 * Keys and values cross this interface as positions in byte arrays
 * (`bytes[start, end)`), so the server's hot path copies bytes from a request
 * into the store and from the store into an answer without making strings.
 *
 * @module
 */

/** Receives a value's bytes, `bytes[start, end)`, valid only during the call. */
export interface ValueSink {
  /** Takes the bytes `bytes[start, end)`; they may change after the call. */
  addBytes(bytes: Uint8Array, start: number, end: number): void;
}

/**
 * Receives one pair of a {@linkcode Store.scan}: the key is
 * `bytes[keyStart, keyEnd)` and the value `bytes[valueStart, valueEnd)`,
 * valid only during the call.
 */
export type PairVisitor = (
  bytes: Uint8Array,
  keyStart: number,
  keyEnd: number,
  valueStart: number,
  valueEnd: number,
) => void;

/** A key-value store over bytes. */
export interface Store {
  /** The number of keys held. */
  readonly size: number;

  /**
   * Adds the value of the key `key[start, end)` to `out`. Returns `false`,
   * adding nothing, if the key is missing.
   */
  get(key: Uint8Array, start: number, end: number, out: ValueSink): boolean;

  /**
   * Sets the key `key[keyStart, keyEnd)` to `value[valueStart, valueEnd)`,
   * replacing any value it had. Throws {@linkcode StoreFullError}, changing
   * nothing, if there is no room for it.
   */
  set(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
  ): void;

  /** Removes the key `key[start, end)`. Returns whether it was there. */
  delete(key: Uint8Array, start: number, end: number): boolean;

  /**
   * Visits some pairs, from `cursor` on, and returns the cursor to go on
   * from: 0 once every pair has been visited. Start with 0. `count` bounds
   * the work of one call (about that many table slots), so a caller can
   * stream a large store in bounded steps.
   *
   * Across calls, with changes in between: a pair present for the whole
   * walk is visited exactly once; a pair added, changed or removed during it
   * is visited at most once, with its old or its new value.
   */
  scan(cursor: number, count: number, visit: PairVisitor): number;
}

/** A store has no room for a write; the write changed nothing. */
export class StoreFullError extends RangeError {
  /** `message` says which limit was reached. */
  constructor(message: string) {
    super(message);
    this.name = "StoreFullError";
  }
}
