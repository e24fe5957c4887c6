/**
 * {@linkcode extendRecord}: Redis's APPEND on an {@linkcode Arena}'s record,
 * in amortized O(bytes added). Setting the whole new value (as APPEND did)
 * copied the old one each time, so n appends of a byte to one key copied
 * O(n^2) bytes (redis-benchmark's `append a x`: 12,600 requests/s against
 * Redis's 358,000).
 *
 * A value grows where it lies when it can: into the spare room after it
 * (arena.ts's SPARE records), or above the arena's top when it is the last
 * record. Otherwise it moves to the top once, with the bytes added and room
 * to spare, as much as the value up to 1 MiB (Redis's sdsMakeRoomFor
 * doubles up to 1 MiB, then adds 1 MiB), so the next appends to it copy
 * only what they add, however appends to other keys interleave.
 *
 * @module
 */

import { type Arena, EXPIRES, KEY_LENGTH, recordBytes, sizeOf, SPARE, TEXT } from "./arena.ts";
import { StoreFullError } from "./store.ts";

const MAX_SPARE_BYTES = 1024 * 1024;

/** The room to leave after a value of `valueLength` that moves (SPARE's size word included). */
function spareBytes(valueLength: number): number {
  const spare = Math.min(valueLength, MAX_SPARE_BYTES);
  return 4 + spare + (-spare & 3);
}

/**
 * Appends `add[addStart, addEnd)` to the value of the record at `record`,
 * keeping its expiry; the value keeps TEXT only with `text`. Returns the
 * record's offset: the same one if it grew where it lies, else that of a
 * new record at the top, and the caller kills the old one where its slot
 * now points (making room may have compacted the arena, and the new
 * record may then lie where the old one was: compare with the slot). Throws
 * {@linkcode StoreFullError}, changing nothing, when there is no room even
 * for the value alone, as a set of the whole value would.
 */
export function extendRecord(
  arena: Arena,
  record: number,
  add: Uint8Array,
  addStart: number,
  addEnd: number,
  text: boolean,
): number {
  const words = arena.words;
  const word = words[record >>> 2]!;
  const length = words[(record >>> 2) + 1]!;
  const newLength = length + (addEnd - addStart);
  const size = sizeOf(words, record);
  const flags = (word & (EXPIRES | KEY_LENGTH)) | (text ? word & TEXT : 0);
  const exact = recordBytes(word, newLength);
  let total = size;
  if (exact > size) {
    if (record + size !== arena.top || record + exact > arena.bytes.length) {
      return moveExtended(arena, record, add, addStart, addEnd, flags, exact);
    }
    // The last record grows above the top, with room to spare if there is some.
    total = exact + spareBytes(newLength);
    if (record + total > arena.bytes.length) total = exact;
    arena.top = record + total;
    arena.liveBytes += total - size;
  }
  const valueEnd = arena.keyStart(record, word) + (word & KEY_LENGTH) + length;
  arena.bytes.set(add.subarray(addStart, addEnd), valueEnd);
  words[(record >>> 2) + 1] = newLength;
  words[record >>> 2] = exact < total ? flags | SPARE : flags;
  if (exact < total) words[(record + exact) >>> 2] = total;
  return record;
}

/** extendRecord() into a new record at the top: `exact` bytes, and room to spare if it fits. */
function moveExtended(
  arena: Arena,
  record: number,
  add: Uint8Array,
  addStart: number,
  addEnd: number,
  flags: number,
  exact: number,
): number {
  const word = arena.words[record >>> 2]!;
  const length = arena.words[(record >>> 2) + 1]!;
  const newLength = length + (addEnd - addStart);
  const expireAt = arena.expireAt(record); // Read before anything moves.
  let pair = arena.bytes; // The key and the old value, side by side.
  let pairStart = arena.keyStart(record, word);
  let pairEnd = pairStart + (word & KEY_LENGTH) + length;
  let total = exact + spareBytes(newLength);
  if (arena.top + total > arena.bytes.length) {
    // Making room may move the old record: its pair is copied out first
    // (O(n), as is the compaction or growth that follows).
    pair = pair.slice(pairStart, pairEnd);
    pairEnd -= pairStart;
    pairStart = 0;
    if (add.buffer === arena.bytes.buffer) {
      add = add.slice(addStart, addEnd);
      addEnd -= addStart;
      addStart = 0;
    }
    try {
      arena.makeRoom(total, false);
    } catch (error) {
      if (!(error instanceof StoreFullError)) throw error;
      // No room to spare: the value alone, as a set of it would need.
      total = exact;
      if (arena.top + total > arena.bytes.length) arena.makeRoom(total, false);
    }
  }
  const to = arena.top;
  const words = arena.words;
  words[to >>> 2] = exact < total ? flags | SPARE : flags;
  words[(to >>> 2) + 1] = newLength;
  if (flags & EXPIRES) {
    arena.writeExpiry(to, expireAt);
    arena.expiring++;
  }
  const keyAt = arena.keyStart(to, flags);
  arena.bytes.set(pair.subarray(pairStart, pairEnd), keyAt);
  arena.bytes.set(add.subarray(addStart, addEnd), keyAt + (pairEnd - pairStart));
  if (exact < total) words[(to + exact) >>> 2] = total;
  arena.top = to + total;
  arena.liveBytes += total;
  return to;
}

/**
 * Cuts the value of the record at `record` to its first `length` bytes,
 * where it lies, keeping its expiry; the value keeps TEXT only with `text`
 * (the undo of an APPEND puts back the flag the append took away). The
 * record keeps its size: what is cut off becomes its room to spare.
 * Returns `false`, changing nothing, if the value is shorter than `length`.
 */
export function truncateRecord(
  arena: Arena,
  record: number,
  length: number,
  text: boolean,
): boolean {
  const words = arena.words;
  const word = words[record >>> 2]!;
  if (words[(record >>> 2) + 1]! < length) return false;
  const size = sizeOf(words, record);
  const exact = recordBytes(word, length);
  const flags = (word & (EXPIRES | KEY_LENGTH)) | (text ? TEXT : 0);
  words[(record >>> 2) + 1] = length;
  words[record >>> 2] = exact < size ? flags | SPARE : flags;
  if (exact < size) words[(record + exact) >>> 2] = size;
  return true;
}
