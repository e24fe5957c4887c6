/**
 * Replaying a log record into a store ({@linkcode applyRecord}): what
 * loading a log (open.ts) and undoing a change the disk refused (undo.ts)
 * both do. The records' bytes are format.ts's; this is what they mean.
 *
 * @module
 */

import {
  LINE_TEXT,
  MAX_EXPIRY_MS,
  type Store,
  type ValueSink,
  type WriteOptions,
} from "../store.ts";
import { decodeBody, OP, readU32, RecordView } from "./format.ts";

// The records of a group, as applyRecord replays them.
const REPLAYED = new RecordView();
const WRITE_OPTIONS: WriteOptions = { expireAtMs: 0, lineText: false, reclaim: false };

/**
 * Replays a record into `store`: what loading a log and undoing a change
 * both do. An expiry already past leaves no key (the store's rule), so a
 * restart does not bring back keys whose time has come. `undo`: the record
 * makes a state the store held before (an undo, or a load), which then fits
 * however full it is ({@linkcode WriteOptions.reclaim}).
 */
export function applyRecord(store: Store, view: RecordView, undo = false): void {
  const bytes = view.bytes;
  switch (view.op) {
    case OP.set:
      // The field holds up to 2^64; a store takes times below 2^53 (a log
      // written before stores checked may hold more: eons away, so kept as
      // the latest time a store takes).
      WRITE_OPTIONS.expireAtMs = Math.min(view.expireAtMs, MAX_EXPIRY_MS);
      WRITE_OPTIONS.lineText = view.lineText;
      WRITE_OPTIONS.reclaim = undo;
      store.set(
        bytes,
        view.keyStart,
        view.keyEnd,
        bytes,
        view.valueStart,
        view.valueEnd,
        WRITE_OPTIONS,
      );
      return;
    case OP.append:
      replayAppend(store, view, undo);
      return;
    case OP.delete:
      store.delete(bytes, view.keyStart, view.keyEnd);
      return;
    case OP.clear:
      store.clear();
      return;
    case OP.group:
      for (let at = view.keyStart; at < view.keyEnd;) {
        const body = at + 4;
        at = body + readU32(bytes, at);
        decodeBody(bytes, body, at, REPLAYED);
        applyRecord(store, REPLAYED, undo);
      }
      return;
  }
}

/** What {@linkcode replayAppend} reads of a key's value first: its length, flags and expiry. */
class ValueState implements ValueSink {
  length = 0;
  lineText = false;
  expireAt: number | undefined;
  addBytes(_bytes: Uint8Array, start: number, end: number, flags = 0, expireAtMs?: number): void {
    this.length = end - start;
    this.lineText = (flags & LINE_TEXT) !== 0;
    this.expireAt = expireAtMs;
  }
}
const STATE = new ValueState();

/** Copies the first `length` bytes of a value (a store without truncate and append). */
class Prefix implements ValueSink {
  length = 0;
  bytes: Uint8Array = new Uint8Array(0);
  addBytes(bytes: Uint8Array, start: number, end: number): void {
    this.bytes = bytes.slice(start, Math.min(end, start + this.length));
  }
}
const PREFIX = new Prefix();
const APPEND_OPTIONS: WriteOptions = { lineText: false };

/**
 * Replays an `append` record (its view): the key's value becomes its first
 * `oldLength` bytes, then the record's bytes, with the record's flags and
 * expiry. On the value the append was made to (a load, or the undo of an
 * append, whose record adds nothing) it costs what the record adds: the
 * store's own truncate and append, where it has them.
 *
 * A value shorter than `oldLength`, or a missing key where `oldLength` is
 * not 0, changes nothing: the log holds a later state of the key than the
 * one the append was made to (a compaction walked the store while the
 * server went on, and a record after this one sets the key whole), or a
 * `kv repair` dropped the records the value came from. On a longer value
 * (the walk saw the append already, or later ones) it cuts the value back
 * first, so replaying the same appends again ends where they ended.
 */
export function replayAppend(store: Store, view: RecordView, undo = false): void {
  const { bytes, keyStart, keyEnd, valueStart, valueEnd, oldLength, lineText } = view;
  const expireAt = Math.min(view.expireAtMs, MAX_EXPIRY_MS);
  STATE.expireAt = undefined;
  if (!store.get(bytes, keyStart, keyEnd, STATE)) {
    if (oldLength !== 0) return;
    WRITE_OPTIONS.expireAtMs = expireAt;
    WRITE_OPTIONS.lineText = lineText;
    WRITE_OPTIONS.reclaim = undo;
    store.set(bytes, keyStart, keyEnd, bytes, valueStart, valueEnd, WRITE_OPTIONS);
    return;
  }
  if (STATE.length < oldLength) return;
  const had = STATE.expireAt ?? Math.max(0, store.expiry(bytes, keyStart, keyEnd));
  if (store.truncate === undefined || store.append === undefined) {
    // Read and set whole, as APPEND does on such a store.
    PREFIX.length = oldLength;
    store.get(bytes, keyStart, keyEnd, PREFIX);
    const value = new Uint8Array(oldLength + valueEnd - valueStart);
    value.set(PREFIX.bytes);
    value.set(bytes.subarray(valueStart, valueEnd), oldLength);
    PREFIX.bytes = new Uint8Array(0);
    WRITE_OPTIONS.expireAtMs = expireAt;
    WRITE_OPTIONS.lineText = lineText;
    WRITE_OPTIONS.reclaim = undo;
    store.set(bytes, keyStart, keyEnd, value, 0, value.length, WRITE_OPTIONS);
    return;
  }
  if (STATE.length !== oldLength || STATE.lineText !== lineText) {
    APPEND_OPTIONS.lineText = lineText;
    store.truncate(bytes, keyStart, keyEnd, oldLength, APPEND_OPTIONS);
  }
  if (valueEnd > valueStart) {
    APPEND_OPTIONS.lineText = lineText;
    store.append(bytes, keyStart, keyEnd, bytes, valueStart, valueEnd, APPEND_OPTIONS);
  }
  // APPEND keeps the expiry: a replay in order finds the record's already.
  if (had !== expireAt) store.expire(bytes, keyStart, keyEnd, expireAt);
}
