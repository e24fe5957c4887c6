/**
 * The value sinks the log store reads values through: one that encodes what
 * it is given as a set record (an EXPIRE that changes a key's layout is
 * logged as the whole pair), and APPEND on a wrapped store that cannot
 * append (the value read, and set whole).
 *
 * @module
 */

import { LINE_TEXT, type Store, type ValueSink, type WriteOptions } from "../store.ts";
import { encodeSet, type LogBuffer } from "./format.ts";

/** A {@linkcode ValueSink} that encodes the value it is given as a set record of `key`, expiring at `expireAtMs`. */
export class SetRecordSink implements ValueSink {
  key: Uint8Array = new Uint8Array(0);
  keyStart = 0;
  keyEnd = 0;
  expireAtMs = 0;
  readonly #out: () => LogBuffer;

  constructor(out: () => LogBuffer) {
    this.#out = out;
  }

  addBytes(bytes: Uint8Array, start: number, end: number, flags = 0): void {
    encodeSet(
      this.#out(),
      this.key,
      this.keyStart,
      this.keyEnd,
      bytes,
      start,
      end,
      (flags & LINE_TEXT) !== 0,
      this.expireAtMs,
    );
  }
}

/** A {@linkcode ValueSink} that keeps a copy of the value and its flag. */
class ValueCopy implements ValueSink {
  bytes: Uint8Array = new Uint8Array(0);
  lineText = false;

  addBytes(bytes: Uint8Array, start: number, end: number, flags = 0): void {
    this.bytes = bytes.slice(start, end);
    this.lineText = (flags & LINE_TEXT) !== 0;
  }
}

/**
 * APPEND through `store` (a log store) onto `inner`, a store without
 * `append`: the value read, and set whole with its expiry, its line-text
 * flag kept only if the added bytes are line text too.
 */
export function appendWhole(
  store: Store,
  inner: Store,
  key: Uint8Array,
  keyStart: number,
  keyEnd: number,
  value: Uint8Array,
  valueStart: number,
  valueEnd: number,
  options: WriteOptions | undefined,
): number {
  const old = new ValueCopy();
  const existed = inner.get(key, keyStart, keyEnd, old);
  const whole = new Uint8Array(old.bytes.length + valueEnd - valueStart);
  whole.set(old.bytes);
  whole.set(value.subarray(valueStart, valueEnd), old.bytes.length);
  store.set(key, keyStart, keyEnd, whole, 0, whole.length, {
    keepTtl: true,
    lineText: (!existed || old.lineText) && options?.lineText === true,
  });
  return whole.length;
}
