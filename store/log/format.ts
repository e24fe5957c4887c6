/**
 * The log's bytes on disk: a file header, then records, each carrying its
 * length and two CRC-32C checksums (README, "The log on disk", has the
 * diagram). Encoding into a growable buffer ({@linkcode LogBuffer}) and
 * reading one record in place ({@linkcode readRecord}) are pure functions
 * over bytes; replaying a record into a store is apply.ts's.
 *
 * The header of a record has its own checksum, apart from the body's: a
 * record whose header checks out has a length that can be trusted, so a
 * record cut short by a crash (its header whole, its body not) is told apart
 * from a length that was damaged on disk (recover.ts relies on it).
 *
 * @module
 */

import { crc32c } from "./crc32c.ts";

/** The first bytes of every log file: `KVLOG 1\n` (the 1 is the format's version). */
export const MAGIC: Uint8Array = new TextEncoder().encode("KVLOG 1\n");
/** Bytes of a record before its body: length, body checksum, header checksum. */
export const RECORD_HEADER_BYTES = 12;
/** The longest body a record may have (a value fills at most the store's 2 GiB arena). */
export const MAX_BODY_BYTES: number = 2 ** 31;

/** A record's operation: the first byte of its body. */
export const OP = {
  /** `set`: a key's value, flags and absolute expiry. */
  set: 1,
  /** `delete`: the key is gone. */
  delete: 2,
  // 3 is not used: an EXPIRE is logged as a whole `set` (log.ts says why).
  /** `clear`: every key is gone. */
  clear: 4,
  /**
   * `group`: records made by one command that changes several keys (MSET,
   * DEL of many, a transaction's EXEC), in its body, whole: replayed all
   * or none, so a crash never leaves part of such a command.
   */
  group: 5,
  /**
   * `append`: the key's value becomes its first `old length` bytes and then
   * the record's, with the flags and absolute expiry the key ends up with
   * (APPEND keeps the key's expiry): the bytes an APPEND added, not the
   * whole value, so n appends log O(n) bytes. Replayed onto a value shorter
   * than `old length`, or none (its earlier state is not in the log: a
   * compaction's walk saw a later one, set whole by a later record), it
   * changes nothing (apply.ts's `replayAppend` says why).
   */
  append: 6,
} as const;

/** Flag bits (the body's second byte). */
export const FLAG_LINE_TEXT = 1;
/** The set record carries an expiry (8 bytes after the flags). */
export const FLAG_EXPIRES = 2;

const HASH_SPACE = 2 ** 32;

/**
 * A growable byte buffer that records are encoded into (the pending writes
 * of the log, a compaction's chunks, the undo log). It allocates only when
 * it grows.
 */
export class LogBuffer {
  /** The bytes; valid up to {@linkcode LogBuffer.length}. Replaced when it grows. */
  bytes: Uint8Array;
  /** Bytes in use. */
  length = 0;

  /** Starts with room for `capacity` bytes. */
  constructor(capacity = 4096) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Makes room for `more` bytes after `length`. */
  reserve(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + more) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /** Empties it, giving back memory past `keepBytes`. */
  clear(keepBytes = 1 << 20): void {
    this.length = 0;
    if (this.bytes.length > keepBytes) this.bytes = new Uint8Array(keepBytes);
  }

  /** Appends `bytes[start, end)`. */
  add(bytes: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (this.length + length > this.bytes.length) this.reserve(length);
    if (length <= 32) {
      const out = this.bytes;
      for (let i = start, at = this.length; i < end; i++, at++) out[at] = bytes[i]!;
    } else {
      this.bytes.set(bytes.subarray(start, end), this.length);
    }
    this.length += length;
  }

  /** Appends an unsigned 32-bit integer, little-endian. */
  addU32(n: number): void {
    this.reserve(4);
    writeU32(this.bytes, this.length, n);
    this.length += 4;
  }

  /** Appends a time in ms (0 to 2^53) as 8 bytes, little-endian. */
  addTime(ms: number): void {
    this.reserve(8);
    // `>>> 0` is ms mod 2^32 for these integers, without the slow float `%`.
    const low = ms >>> 0;
    writeU32(this.bytes, this.length, low);
    writeU32(this.bytes, this.length + 4, (ms - low) / HASH_SPACE);
    this.length += 8;
  }
}

/** Writes `n` as 4 bytes, little-endian, at `at`. */
export function writeU32(bytes: Uint8Array, at: number, n: number): void {
  bytes[at] = n;
  bytes[at + 1] = n >>> 8;
  bytes[at + 2] = n >>> 16;
  bytes[at + 3] = n >>> 24;
}

/** Reads 4 bytes at `at` as an unsigned little-endian integer. */
export function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | bytes[at + 1]! << 8 | bytes[at + 2]! << 16 | bytes[at + 3]! << 24) >>> 0;
}

function readTime(bytes: Uint8Array, at: number): number {
  return readU32(bytes, at) + readU32(bytes, at + 4) * HASH_SPACE;
}

/**
 * Starts a record in `out`: room for its header, then the op and flags.
 * Returns where the record starts; {@linkcode endRecord} seals it once the
 * body is written.
 */
export function beginRecord(out: LogBuffer, op: number, flags: number): number {
  const start = out.length;
  out.reserve(RECORD_HEADER_BYTES + 2);
  out.length += RECORD_HEADER_BYTES;
  out.bytes[out.length++] = op;
  out.bytes[out.length++] = flags;
  return start;
}

/** Fills in the header of the record begun at `start`: its length and checksums. */
export function endRecord(out: LogBuffer, start: number): void {
  const bytes = out.bytes;
  const body = start + RECORD_HEADER_BYTES;
  writeU32(bytes, start, out.length - body);
  writeU32(bytes, start + 4, crc32c(bytes, body, out.length));
  writeU32(bytes, start + 8, crc32c(bytes, start, start + 8));
}

/** Appends a `set` record: key, value, flags and absolute expiry (0: none). */
export function encodeSet(
  out: LogBuffer,
  key: Uint8Array,
  keyStart: number,
  keyEnd: number,
  value: Uint8Array,
  valueStart: number,
  valueEnd: number,
  lineText: boolean,
  expireAtMs: number,
): void {
  const flags = (lineText ? FLAG_LINE_TEXT : 0) | (expireAtMs > 0 ? FLAG_EXPIRES : 0);
  const start = beginRecord(out, OP.set, flags);
  if (expireAtMs > 0) out.addTime(expireAtMs);
  out.addU32(keyEnd - keyStart);
  out.add(key, keyStart, keyEnd);
  out.add(value, valueStart, valueEnd);
  endRecord(out, start);
}

/**
 * Appends an `append` record: `value[valueStart, valueEnd)` added to the
 * first `oldLength` bytes of the key's value, which ends up line text or
 * not (`lineText`) and expiring at `expireAtMs` (0: never).
 */
export function encodeAppend(
  out: LogBuffer,
  key: Uint8Array,
  keyStart: number,
  keyEnd: number,
  oldLength: number,
  value: Uint8Array,
  valueStart: number,
  valueEnd: number,
  lineText: boolean,
  expireAtMs: number,
): void {
  const flags = (lineText ? FLAG_LINE_TEXT : 0) | (expireAtMs > 0 ? FLAG_EXPIRES : 0);
  const start = beginRecord(out, OP.append, flags);
  if (expireAtMs > 0) out.addTime(expireAtMs);
  out.addU32(keyEnd - keyStart);
  out.addU32(oldLength);
  out.add(key, keyStart, keyEnd);
  out.add(value, valueStart, valueEnd);
  endRecord(out, start);
}

/** Appends a `delete` record. */
export function encodeDelete(out: LogBuffer, key: Uint8Array, start: number, end: number): void {
  const record = beginRecord(out, OP.delete, 0);
  out.add(key, start, end);
  endRecord(out, record);
}

/** Appends a `clear` record. */
export function encodeClear(out: LogBuffer): void {
  endRecord(out, beginRecord(out, OP.clear, 0));
}

/** The bytes a `set` record of this key and value takes (what compaction would write). */
export function setRecordBytes(keyBytes: number, valueBytes: number, expires: boolean): number {
  return RECORD_HEADER_BYTES + 2 + (expires ? 8 : 0) + 4 + keyBytes + valueBytes;
}

/** One record read in place: its fields as positions in `bytes`. Reused from record to record. */
export class RecordView {
  /** The bytes the record lies in. */
  bytes: Uint8Array = new Uint8Array(0);
  /** One of {@linkcode OP}. */
  op = 0;
  /** Whether a set's value was a line of the line protocol. */
  lineText = false;
  /** A set's absolute expiry in ms; 0: none. */
  expireAtMs = 0;
  /** Where the key starts. */
  keyStart = 0;
  /** Where the key ends. */
  keyEnd = 0;
  /** Where a set's value starts. */
  valueStart = 0;
  /** Where a set's value ends. */
  valueEnd = 0;
  /** An append's old length: the bytes of the value its bytes follow. */
  oldLength = 0;
}

/** {@linkcode readRecord}: fewer bytes than the record needs (the rest of the file is shorter). */
export const INCOMPLETE = -1;
/** {@linkcode readRecord}: the header's checksum fails, so its length cannot be trusted. */
export const BAD_HEADER = -2;
/** {@linkcode readRecord}: the body's checksum fails. */
export const BAD_BODY = -3;
/** {@linkcode readRecord}: the checksums pass but the body is not a record this version knows. */
export const UNKNOWN = -4;

/** What a failed {@linkcode readRecord} means, for messages. */
export function describeBadRecord(code: number): string {
  switch (code) {
    case INCOMPLETE:
      return "the record is incomplete";
    case BAD_HEADER:
      return "the record's header fails its checksum";
    case BAD_BODY:
      return "the record's body fails its checksum";
    default:
      return "the record is of a kind this version of kv does not know";
  }
}

/**
 * Reads the record at `bytes[at, end)` into `view`. Returns where the next
 * record starts, or a negative code: {@linkcode INCOMPLETE},
 * {@linkcode BAD_HEADER}, {@linkcode BAD_BODY}, {@linkcode UNKNOWN}.
 */
export function readRecord(bytes: Uint8Array, at: number, end: number, view: RecordView): number {
  if (end - at < RECORD_HEADER_BYTES) return INCOMPLETE;
  const length = readU32(bytes, at);
  if (readU32(bytes, at + 8) !== crc32c(bytes, at, at + 8) || length > MAX_BODY_BYTES) {
    return BAD_HEADER;
  }
  const body = at + RECORD_HEADER_BYTES;
  const next = body + length;
  if (next > end) return INCOMPLETE;
  if (readU32(bytes, at + 4) !== crc32c(bytes, body, next)) return BAD_BODY;
  return decodeBody(bytes, body, next, view) ? next : UNKNOWN;
}

/** Decodes a record's body `bytes[start, end)` into `view`; `false` if it is not a known record. */
export function decodeBody(
  bytes: Uint8Array,
  start: number,
  end: number,
  view: RecordView,
): boolean {
  if (end - start < 2) return false;
  const op = bytes[start]!;
  const flags = bytes[start + 1]!;
  let at = start + 2;
  view.bytes = bytes;
  view.op = op;
  view.lineText = (flags & FLAG_LINE_TEXT) !== 0;
  view.expireAtMs = 0;
  view.valueStart = view.valueEnd = view.oldLength = 0;
  switch (op) {
    case OP.set: {
      if (flags & ~(FLAG_LINE_TEXT | FLAG_EXPIRES)) return false;
      if (flags & FLAG_EXPIRES) {
        if (end - at < 8) return false;
        view.expireAtMs = readTime(bytes, at);
        at += 8;
      }
      if (end - at < 4) return false;
      const keyLength = readU32(bytes, at);
      at += 4;
      if (keyLength > end - at) return false;
      view.keyStart = at;
      view.keyEnd = view.valueStart = at + keyLength;
      view.valueEnd = end;
      return true;
    }
    case OP.append: {
      if (flags & ~(FLAG_LINE_TEXT | FLAG_EXPIRES)) return false;
      if (flags & FLAG_EXPIRES) {
        if (end - at < 8) return false;
        view.expireAtMs = readTime(bytes, at);
        at += 8;
      }
      if (end - at < 8) return false;
      const keyLength = readU32(bytes, at);
      view.oldLength = readU32(bytes, at + 4);
      at += 8;
      if (keyLength > end - at) return false;
      view.keyStart = at;
      view.keyEnd = view.valueStart = at + keyLength;
      view.valueEnd = end;
      return true;
    }
    case OP.delete:
      if (flags !== 0) return false;
      view.keyStart = at;
      view.keyEnd = end;
      return true;
    case OP.clear:
      view.keyStart = view.keyEnd = at;
      return flags === 0 && at === end;
    case OP.group:
      // Its records' bodies, each after its length, none a group:
      // keyStart and keyEnd bound them.
      if (flags !== 0 || at === end) return false;
      for (let next = at; next < end;) {
        const body = next + 4;
        if (body > end) return false;
        next = body + readU32(bytes, next);
        if (next > end || bytes[body] === OP.group || !decodeBody(bytes, body, next, CHECKED)) {
          return false;
        }
      }
      view.op = op;
      view.bytes = bytes;
      view.keyStart = at;
      view.keyEnd = end;
      return true;
    default:
      return false;
  }
}

// The records of a group, as decodeBody checks them.
const CHECKED = new RecordView();

/**
 * Seals the group begun at `start` (with {@linkcode beginRecord} and
 * {@linkcode OP}.group) around the records encoded since: none leaves
 * nothing, one is left as it is, more become one group record (unless
 * they would pass {@linkcode MAX_BODY_BYTES}: then they stay apart). In it each
 * record keeps its length and body but not its checksums (the group's
 * cover them): so no part of a group reads as a record of its own, and a
 * repair that looks for the next valid record past damage cannot keep
 * half of one.
 */
export function endGroup(out: LogBuffer, start: number, maxBodyBytes = MAX_BODY_BYTES): void {
  const bytes = out.bytes;
  const first = start + RECORD_HEADER_BYTES + 2;
  if (out.length === first) {
    out.length = start;
    return;
  }
  const firstEnd = first + RECORD_HEADER_BYTES + readU32(bytes, first);
  if (firstEnd === out.length) {
    bytes.copyWithin(start, first, out.length);
    out.length -= first - start;
    return;
  }
  // Past what one record may hold (a transaction that rewrote a huge value
  // many times), the records stay apart: a load must be able to read it.
  let body = 2;
  for (let at = first; at < out.length; at += RECORD_HEADER_BYTES + readU32(bytes, at)) {
    body += 4 + readU32(bytes, at);
  }
  if (body > maxBodyBytes) {
    bytes.copyWithin(start, first, out.length);
    out.length -= first - start;
    return;
  }
  let to = first;
  for (let from = first; from < out.length;) {
    const length = readU32(bytes, from);
    writeU32(bytes, to, length);
    bytes.copyWithin(to + 4, from + RECORD_HEADER_BYTES, from + RECORD_HEADER_BYTES + length);
    from += RECORD_HEADER_BYTES + length;
    to += 4 + length;
  }
  out.length = to;
  endRecord(out, start);
}
