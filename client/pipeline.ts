/**
 * {@linkcode Pipeline}: the connection under {@linkcode KvClient}
 * (client.ts), bytes in and answer lines out. Requests are written as they
 * are made (pipelined: one write per tick, or one at a time for a server
 * that reads unframed); the read loop hands each answer line to its request
 * ({@linkcode AnswerQueue}, answers.ts); the answer timeout and a textbook
 * server's pause end the wait for an answer; and the end of the connection
 * (the server's close, a lost socket, a timeout) becomes the error later
 * requests fail with. It knows no commands: client.ts encodes them.
 *
 * @module
 */

import { concat } from "../net/bytes.ts";
import { closeQuietly, setRunningTimeout, settlesWithin, writeAll } from "../net/conn.ts";
import { LineSplitter } from "../wire/line/lines.ts";
import { AnswerQueue, type AnswerShape } from "./answers.ts";
import {
  answerLineTooLong,
  closedByServer,
  describeConnectError,
  KvAnswerError,
  KvConnectionError,
  lostConnection,
  notUtf8Answer,
  refusedLineError,
  timedOut,
  unusable,
} from "./errors.ts";
import {
  type AnswerEnd,
  CLIENT_DEFAULTS,
  type ClientOptions,
  type IrregularAnswer,
} from "./options.ts";
import { type ClientTraceEmit, pauseDetail } from "./trace.ts";

// ignoreBOM: a U+FEFF at the start of a key, value or line is data, not a byte-order mark.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const READ_BUFFER_BYTES = 64 * 1024;
// Answers are not limited by the protocol; a LIST line may be as long as a
// key plus a value. The reader still needs a bound: this one is generous.
const MAX_ANSWER_LINE_BYTES = 256 * 1024 * 1024;
const LF = 0x0a;
const STAR = 0x2a;
const SPACE = new Uint8Array([0x20]);
// An answer that grew by this much counts as progress for the answer timeout, as a whole line does.
const PROGRESS_BYTES = 64 * 1024;
// ... but only for this many timeouts after the last whole line: a server
// that floods bytes without end and never a \n (a loop that goes on once
// recv() returns b"") still times out, however fast it sends.
const MAX_PROGRESS_TIMEOUTS = 10;
// After a write failed: how long the read loop may take to read what the server sent before closing.
const WRITE_FAILED_READ_MS = 200;

/**
 * One connection's requests and answers: {@linkcode Pipeline.send} writes a
 * request's bytes and settles with its answer's lines, in the order sent.
 */
export class Pipeline {
  readonly #conn: Deno.Conn;
  readonly #address: string;
  readonly #answers: AnswerQueue;
  readonly #reading: Promise<void>;
  readonly #lines = new LineSplitter(MAX_ANSWER_LINE_BYTES);
  readonly #options: ClientOptions;
  #outgoing: Uint8Array[] = [];
  #writing: Promise<void> = Promise.resolve();
  // Unframed: the answer the next request waits for before it is written.
  #lastAnswer: Promise<unknown> = Promise.resolve();
  // Cancel the pause's and the answer timeout's timers (setRunningTimeout: a stall of ours is not the server's).
  #pauseTimer: (() => void) | undefined;
  #timeoutTimer: (() => void) | undefined;
  // Answer lines read so far, and when the last byte came.
  #linesTaken = 0;
  // Since the answer timeout was last armed: bytes and reads.
  #bytesSinceArm = 0;
  #readsSinceArm = 0;
  // When the timeout was last armed for a request sent or a whole line.
  #armedAt = 0;
  // What was missing from an answer the pause or the end took, if one was
  // (the \n outranks a LIST's empty line): a textbook server.
  #irregular: IrregularAnswer | undefined;
  #lastByteAt = 0;
  readonly #firstRead = Promise.withResolvers<void>();
  #failure: KvConnectionError | undefined;
  #closed = false;
  #writeClosed = false;
  // Whether a request has been given to the connection to write (its first byte chose the protocol).
  #begun = false;
  readonly #traced: ClientTraceEmit | undefined;

  /**
   * Starts reading `conn`; `address` (`host:port`) names the server in
   * errors; `traced` (`--trace`) hears of the pause taking an answer.
   */
  constructor(
    conn: Deno.Conn,
    address: string,
    options: ClientOptions,
    traced?: ClientTraceEmit,
  ) {
    this.#conn = conn;
    this.#address = address;
    this.#options = options;
    this.#traced = traced;
    this.#answers = new AnswerQueue({
      lines: options.maxListLines ?? CLIENT_DEFAULTS.maxListLines,
      bytes: options.maxListBytes ?? CLIENT_DEFAULTS.maxListBytes,
    });
    this.#reading = this.#readLoop();
  }

  /** Half-closes the connection once the requests made so far are written (`KvClient.closeWrite()`). */
  async closeWrite(): Promise<void> {
    this.#writeClosed = true;
    await this.#writing;
    if (this.#failure !== undefined || this.#closed) return;
    try {
      await this.#conn.closeWrite();
    } catch {
      // The connection is gone already: the read loop fails what still waits.
    }
  }

  /** Waits up to `ms` for the first bytes from the server, or the end (`KvClient.connect()`'s `greetingWaitMs`). */
  async firstBytes(ms: number): Promise<void> {
    await settlesWithin(Promise.race([this.#firstRead.promise, this.#reading]), ms);
  }

  /** Waits up to `ms` for the server's close; the lines that came with no request (`KvClient.finish()`). */
  async finish(ms: number): Promise<readonly string[]> {
    await settlesWithin(this.#reading, ms);
    return [...this.#answers.early];
  }

  /** Whether the connection still stands as far as has been seen (`KvClient.open`). */
  get open(): boolean {
    return !this.#closed && this.#failure === undefined;
  }

  /** Settles once the connection is over, with the error later requests fail with (`KvClient.ended`). */
  get ended(): Promise<KvConnectionError | undefined> {
    return this.#reading.then(() => this.#failure);
  }

  /** Closes the connection; requests still waiting fail (`KvClient.close()`). */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#answers.dropEarly(); // Closed by us: nothing more is answered.
      this.#stopTimers();
      closeQuietly(this.#conn);
    }
    await this.#reading;
    await this.#writing;
  }

  /**
   * Writes one request line (its `\n` included) and settles with its
   * answer's lines; with `onLines`, a LIST's lines go there as they are
   * read, and it settles with those not handed over.
   */
  send(
    bytes: Uint8Array,
    shape: AnswerShape,
    onLines?: (lines: string[]) => void | Promise<void>,
  ): Promise<string[]> {
    const ended = unusable(this.#address, this.#failure, this.#closed, this.#writeClosed);
    // Lines the server sent just before closing (`Error: too many
    // connections`) still answer the next request after the close is read.
    if (ended && !this.#answers.hasEarly) return Promise.reject(ended);
    // Lines that came before the first request, none an error: a greeting, which answers none.
    const greeting = this.#begun ? undefined : this.#options.onGreeting;
    const lines = !ended && greeting !== undefined ? this.#answers.takeGreeting() : undefined;
    if (lines !== undefined) greeting!(lines);
    // Early lines past a LIST's bound fail it, and the connection, as live ones do.
    // The refused LIST fails with its refusal even on a connection already over (#fail keeps
    // the first failure: the server's close that came after these lines).
    const promise = this.#answers.add(shape, ended, onLines, (refusal) => {
      const error = refusedLineError(refusal, this.#address, this.#answers, undefined);
      this.#answers.rejectAll(error);
      this.#fail(error);
    });
    if (this.#failure !== undefined) return promise;
    if (!ended && !this.#begun) {
      this.#begun = true;
      // A connection whose first byte is `*` speaks Redis's protocol
      // (PROTOCOL.md, Redis clients): a first line that starts with one goes
      // out behind a space, which the server trims (PROTOCOL.md, Requests).
      if (bytes[0] === STAR) bytes = concat([SPACE, bytes]);
    }
    if (!ended && this.#options.unframed) {
      // Alone and without its \n, once the request before it is answered.
      const before = this.#lastAnswer;
      this.#lastAnswer = promise.catch(() => {});
      const alone = bytes.at(-1) === LF ? bytes.subarray(0, -1) : bytes;
      this.#writing = this.#writing.then(() => before).then(() => {
        this.#outgoing.push(alone);
        this.#armTimeout();
        return this.#writeOutgoing();
      });
    } else if (!ended) {
      this.#outgoing.push(bytes);
      if (this.#answers.waiting === 1) this.#armTimeout();
      // Requests made in the same tick go out in one write.
      if (this.#outgoing.length === 1) {
        this.#writing = this.#writing.then(() => this.#writeOutgoing());
      }
    }
    return promise;
  }

  async #writeOutgoing(): Promise<void> {
    const chunks = this.#outgoing;
    this.#outgoing = [];
    if (this.#failure || this.#closed) return;
    try {
      await writeAll(this.#conn, chunks.length === 1 ? chunks[0]! : concat(chunks));
    } catch (error) {
      // A server that refused us wrote why before it closed (`Error: too
      // many connections`): read that first, so it answers the first request
      // and the close is told as the read loop finds it.
      await settlesWithin(this.#reading, WRITE_FAILED_READ_MS);
      this.#fail(lostConnection(this.#address, error));
    }
  }

  /** Hands every complete answer line to its request; false if the connection failed. */
  #takeLines(): boolean {
    const lines = this.#lines;
    for (let kind = lines.next(); kind !== null; kind = lines.next()) {
      if (kind === "too-long") {
        this.#fail(answerLineTooLong(this.#address));
        return false;
      }
      const bytes = lines.bytes.subarray(lines.start, lines.end);
      // A line that is not UTF-8 still ended where a line ends: only its
      // request fails (a prompt goes on). One no request waits for fails the connection.
      const unreadable = kind === "invalid-utf8"
        ? new KvAnswerError(notUtf8Answer(this.#address, bytes), bytes.slice())
        : undefined;
      const refused = this.#answers.take(decoder.decode(bytes), unreadable, bytes.length);
      if (refused !== undefined) {
        this.#fail(refusedLineError(refused, this.#address, this.#answers, unreadable));
        return false;
      }
      this.#linesTaken++;
    }
    return true;
  }

  async #readLoop(): Promise<void> {
    const lines = this.#lines;
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    let received = false;
    try {
      while (true) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        received = true;
        this.#firstRead.resolve();
        lines.feed(buffer.subarray(0, n));
        this.#lastByteAt = performance.now();
        this.#bytesSinceArm += n;
        this.#readsSinceArm++;
        const taken = this.#linesTaken;
        if (!this.#takeLines()) return;
        // Progress is a whole line, or 64 KiB of one (a big value on a slow
        // link) for a while: a server that trickles or floods bytes without
        // end and never a \n (a loop that goes on once recv() returns b"")
        // still times out.
        if (this.#linesTaken !== taken) {
          this.#armTimeout();
        } else if (this.#bytesSinceArm >= PROGRESS_BYTES) {
          this.#armTimeout(true);
        }
        this.#armPause();
        await this.#handOn();
      }
      // The end of the stream ends an answer that had no \n yet: say so, as
      // the pause does (answers glued together, "Success!Not exist!", are
      // how a server that reads one request per recv() shows).
      const unterminated = lines.pendingBytes > 0;
      // Without a pause (answers end with \n, as the protocol says), a line
      // the close cut off is no answer to a request waiting for one: a value
      // cut short must not pass as whole. (Bytes nobody waits for are still
      // taken, to be said, not dropped.)
      const cut = unterminated && (this.#options.answerPauseMs ?? 0) === 0 &&
          this.#answers.first !== undefined
        ? lines.pendingLine.slice()
        : undefined;
      let missing: IrregularAnswer | undefined;
      if (cut === undefined) {
        lines.endLine();
        this.#takeLines();
        if (unterminated) missing = "newline";
      }
      // The end of the stream ends a LIST still open, as the pause would
      // have (a textbook server closes once the client half-closes).
      const open = this.#answers.first;
      if ((this.#options.answerPauseMs ?? 0) > 0 && open !== undefined && open.taken > 0) {
        this.#answers.endList();
        missing ??= "list-end";
      }
      // Told once the answer is taken whole: the requests still waiting are those after it.
      // Once we said we send no more, the close is the server's answer to
      // that (a loop that ends when recv() returns b""), not to its last request.
      if (missing !== undefined) {
        this.#irregularAnswer(missing, this.#writeClosed ? "close-after-end" : "close");
      }
      this.#fail(closedByServer(this.#address, {
        waiting: open === undefined ? 0 : this.#answers.waiting,
        received,
        tls: this.#options.tls !== undefined,
        irregular: this.#writeClosed ? this.#irregular : undefined,
        answered: this.#answers.answered,
        lastWasError: this.#answers.lastWasError,
        sinceLastByteMs: performance.now() - this.#lastByteAt,
        cut,
      }));
    } catch (error) {
      this.#fail(lostConnection(this.#address, error, this.#closed));
    } finally {
      // Nothing reads the lines any more (#fail stopped the timers, and
      // what the errors keep of a partial line is a copy): a partial line's
      // buffer goes back to the pool, or is freed if big, not left to the
      // collector for as long as this client is reachable.
      lines.close();
    }
  }

  /**
   * While a request waits: a new timeout from now (it was sent, or its
   * answer progressed). Progress by bytes alone (`partLine`) counts for
   * {@linkcode MAX_PROGRESS_TIMEOUTS} timeouts after the last whole line.
   */
  #armTimeout(partLine = false): void {
    const ms = this.#options.answerTimeoutMs ?? CLIENT_DEFAULTS.answerTimeoutMs;
    const now = performance.now();
    if (!partLine) this.#armedAt = now;
    else if (now - this.#armedAt >= MAX_PROGRESS_TIMEOUTS * ms) return;
    this.#timeoutTimer?.();
    this.#timeoutTimer = undefined;
    this.#bytesSinceArm = 0;
    this.#readsSinceArm = 0;
    if (ms <= 0 || this.#answers.waiting === 0 || this.#closed) return;
    // A timer that came due while the process was not running fires before
    // the bytes that arrived meanwhile are read: one late by pausedLateMs(ms)
    // starts over from the resume (the wait counts from there), and any
    // other looks at the I/O once first.
    this.#timeoutTimer = setRunningTimeout(() => this.#timedOut(ms), ms, {
      look: true,
      onRestart: () => this.#armedAt = performance.now(),
    });
  }

  /** No answer came within `ms`: the request fails, and the connection with it. */
  #timedOut(ms: number): void {
    const pending = this.#answers.first;
    if (pending === undefined) return;
    // Read before the copy below, which takes a while for a flood's megabytes.
    const seen = {
      reads: this.#readsSinceArm,
      sinceLastByteMs: performance.now() - this.#lastByteAt,
      waitedMs: performance.now() - this.#armedAt,
    };
    const { received, bytes } = this.#answers.received(pending, this.#lines.pendingLine);
    this.#fail(timedOut(this.#address, ms, received, { ...seen, receivedBytes: bytes }));
  }

  /** Part of an answer came: it is taken whole if nothing more comes for the pause. */
  #armPause(): void {
    const ms = this.#options.answerPauseMs ?? 0;
    this.#pauseTimer?.();
    this.#pauseTimer = undefined;
    const pending = this.#answers.first;
    if (ms <= 0 || pending === undefined) return;
    if (this.#lines.pendingBytes === 0 && pending.taken === 0) return;
    // As the timeout's: a stall of our own is not the server's pause.
    this.#pauseTimer = setRunningTimeout(() => this.#paused(pending), ms, { look: true });
  }

  /** Nothing more came for the pause: what came of `pending` is taken as its answer. */
  #paused(pending: NonNullable<AnswerQueue["first"]>): void {
    this.#pauseTimer = undefined;
    let missing: IrregularAnswer | undefined;
    if (this.#lines.pendingBytes > 0) {
      missing = "newline";
      this.#lines.endLine();
      if (!this.#takeLines()) return;
    }
    if (this.#answers.first === pending && pending.taken > 0) {
      missing ??= "list-end";
      this.#answers.endList();
    }
    this.#armTimeout();
    if (missing === undefined) return;
    // A learner's trace shows why nothing happened for a while.
    this.#traced?.("pause", pauseDetail(this.#options.answerPauseMs ?? 0, missing));
    this.#irregularAnswer(missing, "pause");
  }

  /** An answer was taken without its end, by the pause or the close: noted, and told. */
  #irregularAnswer(missing: IrregularAnswer, endedBy: AnswerEnd): void {
    if (this.#irregular !== "newline") this.#irregular = missing;
    this.#options.onIrregularAnswer?.(missing, this.#answers.waiting, endedBy);
  }

  /**
   * Hands the lines the last read brought of a LIST that streams
   * (`KvClient.requestEach`) to its `onLines`, and waits for it: the next
   * read waits too, so a slow reader of them slows the server, and no more
   * than a read's lines are held. That wait is ours: neither the answer
   * timeout nor the pause runs during it.
   */
  async #handOn(): Promise<void> {
    const streamed = this.#answers.takeStreamed();
    if (streamed === undefined) return;
    const { pending, lines } = streamed;
    this.#stopTimers();
    try {
      await pending.onLines!(lines);
    } catch (error) {
      this.#fail(
        new KvConnectionError(
          `stopped reading ${this.#address}: ${describeConnectError(error)}`,
          { cause: error },
        ),
      );
      return;
    }
    if (this.#closed || this.#failure !== undefined) return;
    this.#armTimeout();
    this.#armPause();
  }

  #stopTimers(): void {
    this.#pauseTimer?.();
    this.#timeoutTimer?.();
    this.#pauseTimer = this.#timeoutTimer = undefined;
  }

  #fail(error: KvConnectionError): void {
    this.#stopTimers();
    this.#failure ??= error;
    this.#answers.rejectAll(this.#failure);
    closeQuietly(this.#conn);
    this.#closed = true;
  }
}
