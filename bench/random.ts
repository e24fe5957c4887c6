/**
 * sfc32, the bench's random numbers: a small fast PRNG on 32-bit integers
 * (JS has no cheap 64-bit ones), seeded per connection so a run's request
 * mix can be repeated.
 *
 * @module
 */

/**
 * sfc32, a small fast PRNG on 32-bit integers (JS has no cheap 64-bit ones):
 * each connection gets its own stream from the seed and its number, so a
 * run's request mix does not depend on the order answers arrive in.
 */
export class Sfc32 {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  constructor(seed: number, stream: number) {
    this.#a = 0x9e3779b9;
    this.#b = seed >>> 0;
    this.#c = (stream * 0x85ebca6b) >>> 0;
    for (let i = 0; i < 16; i++) this.next(); // Mixes the seed in.
  }

  /** The next number, an integer from 0 to 2^32 - 1. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }
}
