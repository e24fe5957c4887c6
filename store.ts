/**
 * The server's state: an in-memory map from key to value. It knows nothing of
 * the wire: it returns plain values (`undefined` when a key is missing) and
 * protocol.ts picks the words.
 *
 * @module
 */

/** An in-memory key-value store. A new store is empty. */
export class Store {
  #map = new Map<string, string>();

  /** The number of pairs held. */
  get size(): number {
    return this.#map.size;
  }

  /** The value of `key`, or `undefined` if it is missing. */
  get(key: string): string | undefined {
    return this.#map.get(key);
  }

  /** Sets `key` to `value`, replacing any value it had. */
  put(key: string, value: string): void {
    this.#map.set(key, value);
  }

  /** Removes `key`. Returns whether it was there. */
  delete(key: string): boolean {
    return this.#map.delete(key);
  }

  /** Every pair, in insertion order. */
  entries(): IterableIterator<[string, string]> {
    return this.#map.entries();
  }
}
