/**
 * {@linkcode TextStore}: any {@linkcode Store} seen through strings, for
 * programs that embed kv, tools and tests. The server itself never uses it:
 * its path stays on bytes.
 *
 * @module
 */

import type { Store, WriteOptions } from "./store.ts";

const encoder = new TextEncoder();
// ignoreBOM: a U+FEFF at the start of a key or value is data, not a byte-order mark.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
// How many home slots one scan step covers when listing everything.
const SCAN_COUNT = 1024;

/**
 * A string view of a store: keys and values are encoded as UTF-8 on the way
 * in and decoded on the way out (a value that is not UTF-8 comes out with
 * U+FFFD in place of its bad bytes).
 *
 * @example
 * ```ts
 * import { MemoryStore, TextStore } from "kv";
 * const store = new TextStore(new MemoryStore());
 * store.set("fruit", "사과");
 * console.log(store.get("fruit"), store.size); // "사과" 1
 * ```
 */
export class TextStore {
  /** The store underneath, for the byte API. */
  readonly store: Store;

  /** Views `store` through strings. */
  constructor(store: Store) {
    this.store = store;
  }

  /** The number of keys held. */
  get size(): number {
    return this.store.size;
  }

  /** The value of `key`, or `undefined` if it is missing. */
  get(key: string): string | undefined {
    const bytes = encoder.encode(key);
    let value: string | undefined;
    this.store.get(bytes, 0, bytes.length, {
      addBytes: (data, start, end) => value = decoder.decode(data.subarray(start, end)),
    });
    return value;
  }

  /** Sets `key` to `value`, replacing any value it had (and its expiry, unless `options` keeps it). */
  set(key: string, value: string, options?: WriteOptions): void {
    const keyBytes = encoder.encode(key);
    const valueBytes = encoder.encode(value);
    this.store.set(keyBytes, 0, keyBytes.length, valueBytes, 0, valueBytes.length, options);
  }

  /** When `key` expires, in ms since the epoch: -1 never, -2 missing. */
  expiry(key: string): number {
    const bytes = encoder.encode(key);
    return this.store.expiry(bytes, 0, bytes.length);
  }

  /** Sets when `key` expires (0: never). Returns whether it was there. */
  expire(key: string, expireAtMs: number): boolean {
    const bytes = encoder.encode(key);
    return this.store.expire(bytes, 0, bytes.length, expireAtMs);
  }

  /** Removes `key`. Returns whether it was there. */
  delete(key: string): boolean {
    const bytes = encoder.encode(key);
    return this.store.delete(bytes, 0, bytes.length);
  }

  /** Every pair, decoded: a snapshot, in the store's own order. */
  entries(): [string, string][] {
    const pairs: [string, string][] = [];
    let cursor = 0;
    do {
      cursor = this.store.scan(
        cursor,
        SCAN_COUNT,
        (bytes, keyStart, keyEnd, valueStart, valueEnd) => {
          pairs.push([
            decoder.decode(bytes.subarray(keyStart, keyEnd)),
            decoder.decode(bytes.subarray(valueStart, valueEnd)),
          ]);
        },
      );
    } while (cursor !== 0);
    return pairs;
  }
}
