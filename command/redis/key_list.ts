/**
 * {@linkcode KeyList}: the keys KEYS and SCAN answer, gathered as a scan
 * visits them, and what matching their pattern may cost (glob.ts counts
 * it; past the allowance the command answers {@linkcode PATTERN_TOO_COSTLY}).
 *
 * @module
 */

import type { Failure, RedisReply } from "../reply.ts";
import { Glob, type GlobBudget } from "./glob.ts";

// What matching a KEYS or SCAN pattern may cost, in the steps of Glob.match:
// 32 for each byte of each key, and a million on top for the command, a few
// milliseconds (a transaction may queue thousands of KEYS). Patterns people
// write take about one a byte; a text searched for among long runs of one
// character takes about its length (`*00000000000000000001*` against keys
// with 40 zeros: 11), so up to 32 is allowed: at about 400M steps a second,
// 1.6 s for a million keys of 20 bytes, a few times a `KEYS *`. A pattern
// made to cost more, in the product of its length and a key's
// (`*[a][a]...[a]b*` against long keys of `a`s), is refused there, where
// Redis goes on for as long as it takes, every other client waiting.
const GLOB_STEPS = { perCommand: 1 << 20, perKey: 64, perKeyByte: 32 };
/** The answer to a KEYS or SCAN whose pattern cost more than GLOB_STEPS allows. */
export const PATTERN_TOO_COSTLY: Failure = {
  kind: "redis",
  text: "ERR pattern too costly to match against these keys (it would hold up every other client)",
};

// The first buffer of every list: a command's list is answered before the
// next command makes one, so they take turns. A buffer of its own for each
// SCAN was a malloc and a free outside V8's heap: SCAN ran at a third of
// Redis's speed.
const SHARED = new Uint8Array(4096);

/**
 * The keys a scan visits that match a pattern, copied end to end into one
 * growing buffer: a million keys are one allocation (and its doublings), not
 * a million arrays, each with its own backing store for the GC to track.
 * Answer it ({@linkcode KeyList.reply}) before another list is made: they
 * start in one shared buffer.
 */
export class KeyList {
  #bytes = SHARED;
  #ends: number[] = [];
  #top = 0;
  /** Visits a key, as `Store.scan` calls it. */
  readonly visit: (bytes: Uint8Array, keyStart: number, keyEnd: number) => void;

  /**
   * Set once matching the pattern has cost more than GLOB_STEPS allows: the
   * keys after it are not looked at, and the command answers
   * PATTERN_TOO_COSTLY instead.
   */
  tooCostly = false;

  /** Keeps the keys that match `pattern` (`undefined`: all). */
  constructor(pattern: Uint8Array | undefined) {
    const glob = pattern === undefined ? undefined : new Glob(pattern);
    const budget: GlobBudget = { steps: GLOB_STEPS.perCommand };
    this.visit = (bytes, keyStart, keyEnd) => {
      if (glob !== undefined) {
        if (this.tooCostly) return;
        budget.steps += GLOB_STEPS.perKey + GLOB_STEPS.perKeyByte * (keyEnd - keyStart);
        const matched = glob.match(bytes, keyStart, keyEnd, budget);
        if (matched === undefined) this.tooCostly = true;
        if (matched !== true) return;
      }
      this.#add(bytes, keyStart, keyEnd);
    };
  }

  /** How many keys it holds. */
  get length(): number {
    return this.#ends.length;
  }

  /** Answers them as an array of bulk strings. */
  reply(reply: RedisReply): void {
    const ends = this.#ends;
    reply.array(ends.length);
    for (let i = 0, start = 0; i < ends.length; start = ends[i++]!) {
      reply.bytes(this.#bytes, start, ends[i]!);
    }
  }

  #add(bytes: Uint8Array, keyStart: number, keyEnd: number): void {
    const top = this.#top + keyEnd - keyStart;
    if (top > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(2 * this.#bytes.length, top));
      grown.set(this.#bytes.subarray(0, this.#top));
      this.#bytes = grown;
    }
    this.#bytes.set(bytes.subarray(keyStart, keyEnd), this.#top);
    this.#top = top;
    this.#ends.push(top);
  }
}
