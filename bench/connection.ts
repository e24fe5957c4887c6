/**
 * {@linkcode BenchConnection}: one bench connection and its share of the
 * keys. It keeps up to `pipeline` requests in flight, checks every answer
 * byte for byte, and counts into the run's {@linkcode Tally}.
 *
 * @module
 */

import { closeQuietly, errorMessage, writeAll } from "../net/conn.ts";
import type { Tally } from "./report.ts";
import { Sfc32 } from "./random.ts";
import { equalBytes } from "../net/bytes.ts";
import {
  decode,
  expectedValue,
  OP_GET,
  OP_PUT,
  quote,
  REQUEST_OVERHEAD_BYTES,
  SUCCESS_BYTES,
  valueMatches,
  writeRequest,
} from "./workload.ts";

// Each connection PUTs its keys this many at a time while preloading.
const PRELOAD_DEPTH = 64;
const READ_BUFFER_BYTES = 64 * 1024;
const LF = 0x0a;
const CR = 0x0d;
const TWO_TO_32 = 2 ** 32;

/**
 * One connection and its share of the work: it owns the keys `id`,
 * `id + connections`, `id + 2 * connections`, ..., and only it writes them,
 * so it knows what each GET must return. The hot loop (read, check answers,
 * refill, one write) works on bytes and typed arrays only.
 */
export class BenchConnection {
  readonly #conn: Deno.Conn;
  readonly #run: Tally;
  readonly #id: number;
  readonly #stride: number;
  readonly #valueBytes: number;
  /** How many keys this connection owns. */
  readonly #owned: number;
  /** The version of each owned key that the last PUT sent holds. */
  readonly #versions: Uint32Array;
  readonly #getThreshold: number;
  readonly #rng: Sfc32;
  // The requests in flight, oldest at #head: the ring's size is a power of two.
  readonly #mask: number;
  readonly #ringOp: Uint8Array;
  readonly #ringIndex: Uint32Array;
  readonly #ringVersion: Uint32Array;
  readonly #ringSentAt: Float64Array;
  #head = 0;
  #count = 0;
  #depth = PRELOAD_DEPTH;
  #measuring = false;
  #preloadNext = 0;
  #in = new Uint8Array(READ_BUFFER_BYTES);
  #inLength = 0;
  // Requests are encoded into #out; while it is being written, new ones go
  // into the other buffer, which it then swaps with.
  #out = new Uint8Array(READ_BUFFER_BYTES);
  #spare = new Uint8Array(READ_BUFFER_BYTES);
  #outLength = 0;
  #writing = false;
  #written: Promise<void> = Promise.resolve();
  #alive = true;

  constructor(conn: Deno.Conn, id: number, run: Tally) {
    const { connections, keys, valueBytes, pipeline, getRatio, seed } = run.config;
    this.#conn = conn;
    this.#run = run;
    this.#id = id;
    this.#stride = connections;
    this.#valueBytes = valueBytes;
    this.#owned = Math.floor((keys - 1 - id) / connections) + 1;
    this.#versions = new Uint32Array(this.#owned);
    this.#getThreshold = getRatio * TWO_TO_32;
    this.#rng = new Sfc32(seed, id);
    const size = 2 ** Math.ceil(Math.log2(Math.max(pipeline, PRELOAD_DEPTH)));
    this.#mask = size - 1;
    this.#ringOp = new Uint8Array(size);
    this.#ringIndex = new Uint32Array(size);
    this.#ringVersion = new Uint32Array(size);
    this.#ringSentAt = new Float64Array(size);
  }

  /**
   * When this connection last took a whole answer, or its phase began (bytes
   * that trickle in without a `\n` are no progress: such a server stalls).
   */
  lastReadAt = 0;

  /** Bytes of an answer that came without their `\n` (for why a stall happened). */
  get partialAnswer(): Uint8Array {
    return this.#in.subarray(0, this.#inLength);
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#count;
  }

  /**
   * Runs one phase until this connection may send no more and has every
   * answer: the preload (each owned key PUT once), or the measurement.
   * Never rejects: a lost connection is counted, not thrown.
   */
  async pump(measuring: boolean): Promise<void> {
    this.#measuring = measuring;
    this.#depth = measuring ? this.#run.config.pipeline : PRELOAD_DEPTH;
    const run = this.#run;
    this.lastReadAt = performance.now();
    this.#refill();
    while (this.#alive && this.#count > 0) {
      let n: number | null;
      try {
        n = await this.#conn.read(
          this.#inLength === 0 ? this.#in : this.#in.subarray(this.#inLength),
        );
      } catch (error) {
        this.lose(errorMessage(error));
        break;
      }
      if (n === null) {
        this.lose("closed by the server");
        break;
      }
      const now = performance.now();
      this.#inLength += n;
      const waiting = this.#count;
      this.#takeAnswers(now);
      if (this.#count !== waiting) {
        this.lastReadAt = now;
        if (measuring) run.lastAnswerAt = now;
      }
      if (this.#alive) this.#refill();
    }
  }

  /** Gives up on this connection: what is in flight is counted as unanswered. */
  lose(reason: string): void {
    if (!this.#alive) return;
    this.#alive = false;
    const run = this.#run;
    run.connectionsLost++;
    run.unanswered += this.#count;
    run.noteError(`connection ${this.#id + 1} lost: ${reason}`);
    this.#count = 0;
    closeQuietly(this.#conn);
  }

  async close(): Promise<void> {
    if (this.#alive) {
      this.#alive = false;
      closeQuietly(this.#conn);
    }
    await this.#written;
  }

  /** Checks every complete answer in the read buffer, keeping a partial one. */
  #takeAnswers(now: number): void {
    const buffer = this.#in;
    const length = this.#inLength;
    const data = length === buffer.length ? buffer : buffer.subarray(0, length);
    let start = 0;
    while (true) {
      const nl = data.indexOf(LF, start);
      if (nl === -1) break;
      // A server that ends its lines with \r\n is answered as well.
      this.#answer(buffer, start, nl > start && buffer[nl - 1] === CR ? nl - 1 : nl, now);
      start = nl + 1;
    }
    if (start > 0) {
      if (start < length) buffer.copyWithin(0, start, length);
      this.#inLength = length - start;
    } else if (length === buffer.length) {
      // No right answer is longer than a value, so a line past that is
      // wrong already: stop there rather than buffer it without end.
      if (length > this.#valueBytes + READ_BUFFER_BYTES) {
        this.lose(`an answer line of over ${length} bytes`);
        return;
      }
      const grown = new Uint8Array(buffer.length * 2);
      grown.set(buffer);
      this.#in = grown;
    }
  }

  #answer(buffer: Uint8Array, start: number, end: number, now: number): void {
    const run = this.#run;
    if (this.#count === 0) {
      run.unexpectedAnswers++;
      run.noteError(
        `an answer with no request in flight: ${quote(decode(buffer.subarray(start, end)))}`,
      );
      return;
    }
    const slot = this.#head;
    this.#head = (slot + 1) & this.#mask;
    this.#count--;
    const op = this.#ringOp[slot]!;
    const index = this.#ringIndex[slot]!;
    const key = this.#id + this.#stride * index;
    let right: boolean;
    if (op === OP_PUT) {
      right = equalBytes(buffer, start, end, SUCCESS_BYTES);
    } else {
      right = valueMatches(buffer, start, end, this.#valueBytes, key, this.#ringVersion[slot]!);
    }
    if (this.#measuring) {
      run.completed++;
      run.histogram.record(Math.round((now - this.#ringSentAt[slot]!) * 1e6));
    } else if (right) {
      run.preloaded++;
    }
    if (!right) {
      const expected = op === OP_PUT
        ? decode(SUCCESS_BYTES)
        : expectedValue(this.#valueBytes, key, this.#ringVersion[slot]!);
      run.wrong(op, key, expected, buffer.subarray(start, end));
    }
  }

  /** Tops the connection up to its depth with new requests, sent in one write. */
  #refill(): void {
    const run = this.#run;
    const depth = this.#depth;
    if (this.#count >= depth) return;
    const now = performance.now();
    const mask = this.#mask;
    const valueBytes = this.#valueBytes;
    const versions = this.#versions;
    while (this.#count < depth) {
      let op: number;
      let index: number;
      if (this.#measuring) {
        if (run.remaining <= 0 || now >= run.deadline) break;
        run.remaining--;
        op = this.#rng.next() < this.#getThreshold ? OP_GET : OP_PUT;
        index = this.#rng.next() % this.#owned;
      } else {
        if (this.#preloadNext >= this.#owned) break;
        op = OP_PUT;
        index = this.#preloadNext++;
      }
      const key = this.#id + this.#stride * index;
      if (this.#outLength + valueBytes + REQUEST_OVERHEAD_BYTES > this.#out.length) {
        this.#growOut(valueBytes + REQUEST_OVERHEAD_BYTES);
      }
      let version = versions[index]!;
      if (op === OP_PUT) versions[index] = ++version;
      this.#outLength = writeRequest(this.#out, this.#outLength, op, key, valueBytes, version);
      const slot = (this.#head + this.#count) & mask;
      this.#ringOp[slot] = op;
      this.#ringIndex[slot] = index;
      this.#ringVersion[slot] = version;
      this.#ringSentAt[slot] = now;
      this.#count++;
    }
    if (!this.#writing && this.#outLength > 0) {
      this.#writing = true;
      this.#written = this.#drain();
    }
  }

  #growOut(need: number): void {
    const grown = new Uint8Array(Math.max(this.#out.length * 2, this.#outLength + need));
    grown.set(this.#out.subarray(0, this.#outLength));
    this.#out = grown;
  }

  /**
   * Writes #out until nothing is left. It runs beside the read loop, not in
   * it: a loop that awaited its writes could deadlock with a server that
   * waits to write big answers we are not reading.
   */
  async #drain(): Promise<void> {
    try {
      while (this.#outLength > 0 && this.#alive) {
        const bytes = this.#out;
        const length = this.#outLength;
        this.#out = this.#spare;
        this.#spare = bytes;
        this.#outLength = 0;
        await writeAll(this.#conn, bytes.subarray(0, length));
      }
    } catch (error) {
      this.lose(errorMessage(error));
    } finally {
      this.#writing = false;
    }
  }
}
