/**
 * Telling a crash's damage from a damaged disk, on bytes in memory: the
 * rules that loading (open.ts) and `kv repair` follow.
 *
 * A crash can only leave the log's last write unfinished. A kill -9 leaves
 * a prefix of it (the kernel writes a prefix or nothing); a power cut may
 * also leave zeros or stale bytes where the unsynced tail was. So a bad
 * record is a **torn tail**, dropped with a warning, when nothing valid
 * follows it: the record is cut short (its header checks out, its length
 * runs past the end), or it is the last record and its body fails, or no
 * complete valid record starts anywhere after it. A bad record with a valid
 * record after it is **corruption**: no crash writes past a hole, so the
 * disk or someone else damaged the file, and the server refuses to start.
 *
 * @module
 */

import {
  BAD_BODY,
  describeBadRecord,
  INCOMPLETE,
  MAGIC,
  readRecord,
  readU32,
  RECORD_HEADER_BYTES,
  RecordView,
  UNKNOWN,
} from "./format.ts";

/** How far past a bad record loading looks for a valid one; past this it calls it corruption. */
export const TAIL_SCAN_LIMIT_BYTES: number = 64 * 1024 * 1024;

/** What the first bytes of a file say about it. */
export type HeaderState =
  /** A log: it starts with the magic. */
  | "log"
  /** An empty file, or a crash cut the magic short while creating it: start afresh. */
  | "empty"
  /** Something else: not a kv log (or its first bytes are damaged). */
  | "foreign";

/** Reads the file header at the start of `bytes` (the whole file, or at least its first 8 bytes). */
export function headerState(bytes: Uint8Array, fileBytes: number): HeaderState {
  const n = Math.min(fileBytes, MAGIC.length, bytes.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== MAGIC[i]) return "foreign";
  return fileBytes >= MAGIC.length ? "log" : "empty";
}

/**
 * The first offset in `bytes[from, end)` where a complete, valid record
 * starts, or -1.
 */
export function findRecord(bytes: Uint8Array, from: number, end: number): number {
  const view = new RecordView();
  for (let at = from; at + RECORD_HEADER_BYTES <= end; at++) {
    if (readRecord(bytes, at, end, view) >= 0) return at;
  }
  return -1;
}

/** Where to look for a valid record after a bad one at `at` (`code` from readRecord). */
function resumeAt(bytes: Uint8Array, at: number, code: number): number {
  // A body that fails has a header that passed: its length is right, and
  // the bytes it covers (a value that may hold record-like bytes) are skipped.
  return code === BAD_BODY ? at + RECORD_HEADER_BYTES + readU32(bytes, at) : at + 1;
}

/**
 * Whether the bad record at the start of `rest` (`code` from readRecord) is
 * a torn tail (`true`) or corruption. `rest` runs from the bad record to the
 * end of the file, or holds its first {@linkcode TAIL_SCAN_LIMIT_BYTES}
 * bytes when `restBytes`, the true length, is larger.
 */
export function isTornTail(rest: Uint8Array, restBytes: number, code: number): boolean {
  if (code === INCOMPLETE) return true; // Cut short: the header's length runs past the end.
  if (code === UNKNOWN) return false; // Checksums pass: written whole, by something else.
  const resume = resumeAt(rest, 0, code);
  if (resume >= restBytes) return true; // The last record.
  if (restBytes > rest.length) return false; // Too much after it to be one unfinished write.
  return findRecord(rest, resume, rest.length) === -1;
}

/** A stretch of the file that `kv repair` left out. */
export interface DroppedBytes {
  /** Where it starts in the file. */
  offset: number;
  /** How many bytes. */
  bytes: number;
  /** Why (the first bad record's fault). */
  reason: string;
}

/** What {@linkcode repairLog} made. */
export interface Repaired {
  /** The repaired log: the magic, then every record kept, in order. */
  bytes: Uint8Array;
  /** How many records it holds. */
  records: number;
  /** What was left out, in file order. */
  dropped: DroppedBytes[];
}

/** Options of {@linkcode repairLog}. */
export interface RepairOptions {
  /**
   * Stop at the first bad record, dropping everything after it (Redis's
   * `redis-check-aof --fix`), instead of skipping to the next valid record.
   * @default {false}
   */
  truncate?: boolean;
}

/**
 * Makes a loadable log out of a damaged one: every valid record is kept, in
 * order; each run of bad bytes is skipped up to the next valid record (or,
 * with `truncate`, everything from the first bad record on is dropped).
 * A record lost in a skipped run may have been a delete, so a key it
 * removed can come back: `dropped` says where to look.
 */
export function repairLog(file: Uint8Array, options: RepairOptions = {}): Repaired {
  const kept: [number, number][] = [];
  const dropped: DroppedBytes[] = [];
  const view = new RecordView();
  const end = file.length;
  let at = MAGIC.length;
  if (headerState(file, end) !== "log") {
    const first = findRecord(file, 0, end);
    const skip = first === -1 ? end : first;
    if (skip > 0) {
      dropped.push({ offset: 0, bytes: skip, reason: "the file does not start with KVLOG" });
    }
    at = skip;
  }
  let records = 0;
  while (at < end) {
    const next = readRecord(file, at, end, view);
    if (next >= 0) {
      const last = kept.at(-1);
      if (last !== undefined && last[1] === at) last[1] = next;
      else kept.push([at, next]);
      records++;
      at = next;
      continue;
    }
    const resume = findRecord(file, Math.min(resumeAt(file, at, next), end), end);
    const skip = resume === -1 || options.truncate ? end : resume;
    const reason = describeBadRecord(next);
    dropped.push({
      offset: at,
      bytes: skip - at,
      // --truncate drops the valid records after the bad one too: say so.
      reason: options.truncate && resume !== -1
        ? `${reason}; and from byte ${resume} on, records that may be valid (--truncate)`
        : reason,
    });
    at = skip;
  }
  const length = kept.reduce((sum, [from, to]) => sum + to - from, MAGIC.length);
  const bytes = new Uint8Array(length);
  bytes.set(MAGIC);
  let out = MAGIC.length;
  for (const [from, to] of kept) {
    bytes.set(file.subarray(from, to), out);
    out += to - from;
  }
  return { bytes, records, dropped };
}
