/**
 * {@linkcode UndoLog}: how to take back the changes whose records are not
 * durable yet. Before each change the log store notes the key's old state
 * (its value, flags and expiry, or its absence); if the write or sync of
 * the group fails, the changes are undone newest first, so the store holds
 * again exactly what the disk holds (PROTOCOL.md, Durability: a change that
 * cannot be made durable is not applied).
 *
 * An entry is a record body (format.ts) that restores the old state (an
 * APPEND's: an `append` record that adds nothing, cutting the value back), then
 * the live-bytes count before the change (8 bytes) and the body's length
 * (4 bytes), so the log can be walked backwards. Entries are dropped from
 * the front once their changes are durable.
 *
 * @module
 */

import { LINE_TEXT, type Store, type ValueSink } from "../store.ts";
import {
  decodeBody,
  FLAG_EXPIRES,
  FLAG_LINE_TEXT,
  LogBuffer,
  OP,
  readU32,
  RecordView,
  setRecordBytes,
} from "./format.ts";
import { applyRecord } from "./apply.ts";

// An entry that puts back a whole store (a clear() swapped it out).
const OP_RESTORE_STORE = 0x80;
const TRAILER_BYTES = 12;
const HASH_SPACE = 2 ** 32;
// Once this much at the front is dropped, the rest is moved down.
const SHIFT_BYTES = 1 << 20;

/** The undo entries of the changes not yet durable, oldest first. */
export class UndoLog implements ValueSink {
  readonly #buffer = new LogBuffer(64 * 1024);
  // Entries before #start are dropped; #base counts bytes shifted out, so
  // that positions handed out (marks) stay valid as the buffer moves.
  #start = 0;
  #base = 0;
  // Stores a clear() swapped out, by id, until that clear is durable.
  readonly #stores = new Map<number, Store>();
  #nextStoreId = 1;
  readonly #view = new RecordView();
  // The change being noted, while get() hands its value to addBytes().
  #key: Uint8Array = new Uint8Array(0);
  #keyStart = 0;
  #keyEnd = 0;
  #store: Store | undefined;
  #liveBytes = 0;
  /** After {@linkcode UndoLog.noteKey} found the key: the bytes its set record takes. */
  oldRecordBytes = 0;
  /** After {@linkcode UndoLog.noteKey} found the key: its expiry in ms, 0 if none. */
  oldExpireAt = 0;
  /** After {@linkcode UndoLog.noteLength} found the key: its value's length. */
  oldLength = 0;
  /** After {@linkcode UndoLog.noteLength} found the key: whether its value was line text. */
  oldLineText = false;
  // noteLength() under way: addBytes() notes the value's length, not its bytes.
  #lengthOnly = false;

  /** Where the log ends now: a mark for {@linkcode UndoLog.dropTo} and {@linkcode UndoLog.cutTo}. */
  get mark(): number {
    return this.#base + this.#buffer.length;
  }

  /** Whether no entry is held. */
  get empty(): boolean {
    return this.#start === this.#buffer.length;
  }

  /**
   * Notes the state of the key `key[start, end)` in `store` before a change,
   * with `liveBytes` (the log's estimate of its live data) before it.
   * Returns whether the key is there; if not, nothing is noted (a caller
   * that will create it notes that with {@linkcode UndoLog.noteAbsent}).
   */
  noteKey(
    store: Store,
    key: Uint8Array,
    start: number,
    end: number,
    liveBytes: number,
  ): boolean {
    this.prepare(store, key, start, end, liveBytes);
    return store.get(key, start, end, this);
  }

  /**
   * As {@linkcode UndoLog.noteKey}, before an APPEND: notes the length of
   * the key's value (with its flags and expiry), not its bytes, so the undo
   * cuts the value back to it (an `append` record that adds nothing) and an
   * append costs what it adds, not the whole value.
   */
  noteLength(
    store: Store,
    key: Uint8Array,
    start: number,
    end: number,
    liveBytes: number,
  ): boolean {
    this.prepare(store, key, start, end, liveBytes);
    this.#lengthOnly = true;
    try {
      return store.get(key, start, end, this);
    } finally {
      this.#lengthOnly = false;
    }
  }

  /**
   * Gets ready to note the old value of the key `key[start, end)` in
   * `store`, which the store then hands to this log as a
   * {@linkcode ValueSink} (`getSet`, `getDelete`: one lookup for the note
   * and the change).
   */
  prepare(store: Store, key: Uint8Array, start: number, end: number, liveBytes: number): void {
    this.#store = store;
    this.#key = key;
    this.#keyStart = start;
    this.#keyEnd = end;
    this.#liveBytes = liveBytes;
  }

  /** Called by the store's get() inside {@linkcode UndoLog.noteKey}: writes the entry that sets the old value back. */
  addBytes(bytes: Uint8Array, start: number, end: number, flags = 0, expireAtMs?: number): void {
    // A store that does not tell the expiry with the value is asked for it.
    const expireAt = expireAtMs ??
      Math.max(0, this.#store!.expiry(this.#key, this.#keyStart, this.#keyEnd));
    const out = this.#buffer;
    const entry = out.length;
    out.reserve(2);
    out.bytes[out.length++] = this.#lengthOnly ? OP.append : OP.set;
    out.bytes[out.length++] = (flags & LINE_TEXT ? FLAG_LINE_TEXT : 0) |
      (expireAt > 0 ? FLAG_EXPIRES : 0);
    if (expireAt > 0) this.#buffer.addTime(expireAt);
    out.addU32(this.#keyEnd - this.#keyStart);
    if (this.#lengthOnly) {
      out.addU32(end - start);
      out.add(this.#key, this.#keyStart, this.#keyEnd);
    } else {
      out.add(this.#key, this.#keyStart, this.#keyEnd);
      out.add(bytes, start, end);
    }
    this.#endEntry(entry, this.#liveBytes);
    this.oldLength = end - start;
    this.oldLineText = (flags & LINE_TEXT) !== 0;
    this.oldExpireAt = expireAt;
    this.oldRecordBytes = setRecordBytes(this.#keyEnd - this.#keyStart, end - start, expireAt > 0);
  }

  /** Notes that the key is absent before a change that creates it. */
  noteAbsent(key: Uint8Array, start: number, end: number, liveBytes: number): void {
    const out = this.#buffer;
    const entry = out.length;
    out.reserve(2);
    out.bytes[out.length++] = OP.delete;
    out.bytes[out.length++] = 0;
    out.add(key, start, end);
    this.#endEntry(entry, liveBytes);
  }

  /** Notes the whole store before a clear() replaces it with an empty one. */
  noteStore(store: Store, liveBytes: number): void {
    const id = this.#nextStoreId++;
    this.#stores.set(id, store);
    const out = this.#buffer;
    const entry = out.length;
    out.reserve(2);
    out.bytes[out.length++] = OP_RESTORE_STORE;
    out.bytes[out.length++] = 0;
    out.addU32(id);
    this.#endEntry(entry, liveBytes);
  }

  /** Drops the entries after `mark`: the change they noted did not happen. */
  cutTo(mark: number): void {
    this.#buffer.length = Math.max(this.#start, mark - this.#base);
  }

  /** Drops the entries before `mark`: their changes are durable. */
  dropTo(mark: number): void {
    const buffer = this.#buffer;
    const to = Math.min(mark - this.#base, buffer.length);
    if (to <= this.#start) return;
    if (this.#stores.size > 0) this.#forgetStores(this.#start, to);
    this.#start = to;
    if (to === buffer.length) {
      this.#base += buffer.length;
      this.#start = 0;
      buffer.clear();
    } else if (to >= SHIFT_BYTES && to * 2 >= buffer.length) {
      buffer.bytes.copyWithin(0, to, buffer.length);
      buffer.length -= to;
      this.#base += to;
      this.#start = 0;
    }
  }

  /**
   * Undoes every entry held, newest first, on `target.store()`; a store a
   * clear() swapped out goes back through `target.replaceStore()`. Returns how many changes were undone and
   * the live-bytes count from before the oldest of them (`undefined` if none).
   */
  rollback(
    target: { store(): Store; replaceStore(store: Store): void },
  ): { changes: number; liveBytes: number | undefined } {
    const bytes = this.#buffer.bytes;
    const view = this.#view;
    let at = this.#buffer.length;
    let changes = 0;
    let liveBytes: number | undefined;
    while (at > this.#start) {
      const length = readU32(bytes, at - 4);
      liveBytes = readU32(bytes, at - 12) + readU32(bytes, at - 8) * HASH_SPACE;
      const body = at - TRAILER_BYTES - length;
      if (bytes[body] === OP_RESTORE_STORE) {
        const id = readU32(bytes, body + 2);
        target.replaceStore(this.#stores.get(id)!);
        this.#stores.delete(id);
      } else if (decodeBody(bytes, body, at - TRAILER_BYTES, view)) {
        applyRecord(target.store(), view, true);
      }
      changes++;
      at = body;
    }
    this.#buffer.clear();
    this.#base += this.#start;
    this.#start = 0;
    this.#stores.clear();
    return { changes, liveBytes };
  }

  #endEntry(entry: number, liveBytes: number): void {
    const out = this.#buffer;
    const length = out.length - entry;
    this.#buffer.addTime(liveBytes);
    out.addU32(length);
  }

  /** Lets go of the stores that entries in `[from, to)` held. */
  #forgetStores(from: number, to: number): void {
    // Each entry's length is in its trailer, at its end: walk backwards.
    const bytes = this.#buffer.bytes;
    let at = to;
    while (at > from) {
      const length = readU32(bytes, at - 4);
      const body = at - TRAILER_BYTES - length;
      if (bytes[body] === OP_RESTORE_STORE) this.#stores.delete(readU32(bytes, body + 2));
      at = body;
    }
  }
}
