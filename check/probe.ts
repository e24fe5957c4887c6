/**
 * {@linkcode Probe}: one raw TCP connection of the checker, with every wait
 * bounded. It reads the way the rules need (a line, whatever arrives before
 * a quiet pause, the end of the stream, a silence) and never hangs: a
 * server that does not answer is a result ("timeout"), not a stuck check.
 *
 * @module
 */

import { maskSecret } from "../client/trace.ts";
import { type ClientTls, connectTcp } from "../net/connect.ts";
import { closeQuietly, settlesWithin, writeAll } from "../net/conn.ts";
import type { Text } from "./rule.ts";
import type { AnswerSource } from "./transport.ts";

/** The server did not take the password (`kv check --password-file`). */
export class AuthRefusedError extends Error {
  /**
   * Whether the server sent no answer to AUTH at all, but more bytes
   * without a `\n` than one can be: no sign of a wrong password.
   */
  readonly endless: boolean;
  /** The message in English (`message`) and Korean. */
  readonly text: Text;

  constructor(text: Text, endless = false) {
    super(text.en);
    this.name = "AuthRefusedError";
    this.text = text;
    this.endless = endless;
  }
}

/** How a read ended when it did not get what it waited for. */
export type ReadEnd =
  /** Nothing (more) arrived within the time allowed. */
  | "timeout"
  /** Bytes arrived, then nothing for the pause, and no `\n` came. */
  | "quiet"
  /** Bytes kept arriving until the time ran out, and no `\n` came: the answer never ends. */
  | "flowing"
  /** The server closed the connection (or reset it). */
  | "eof"
  /** More than {@linkcode MAX_ANSWER_BYTES} (or the read's own bound) came without a `\n`. */
  | "too-much";

/** The result of {@linkcode Probe.readLine}. */
export type LineRead =
  | { readonly kind: "line"; readonly raw: Uint8Array }
  | { readonly kind: ReadEnd; readonly got: Uint8Array };

/** The result of {@linkcode Probe.readQuiet}. */
export type QuietRead =
  | { readonly kind: "answer"; readonly got: Uint8Array }
  | { readonly kind: "timeout" | "eof" | "too-much" | "stopped"; readonly got: Uint8Array };

const LF = 0x0a;
const CHUNK_BYTES = 64 * 1024;
/**
 * The most bytes one answer may take before it is cut off as endless: far
 * more than a value can be (a server's line limit is 1 MiB by default, and
 * at most 256 MiB; `kv check`'s rules store short values).
 */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/**
 * Past the longest line (or textbook answer) a right answer has, this much
 * more ends the read: no right answer is coming (a loop that sends without
 * end).
 */
export const LINE_SLACK_BYTES = 4 * 1024;
/** An error line may quote the request: it is allowed this much more than the request. */
export const ERROR_LINE_BYTES = 1024;
const TIMEOUT = Symbol("timeout");

/** One connection to the server under test. */
export class Probe implements AnswerSource {
  readonly #conn: Deno.Conn;
  readonly #chunk = new Uint8Array(CHUNK_BYTES);
  #buffer = new Uint8Array(CHUNK_BYTES);
  #start = 0;
  #end = 0;
  #reading: Promise<number | null | Error> | undefined;
  #eof = false;
  #closed = false;
  #received = 0;
  #halfClosed = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /**
   * Connects, and with a password sends `AUTH, password` and takes its
   * `Success!`, so every rule starts on an authenticated connection. Throws
   * what {@linkcode connectTcp} throws, or {@linkcode AuthRefusedError}.
   */
  static async open(
    hostname: string,
    port: number,
    options: { timeoutMs: number; tls?: ClientTls; password?: string },
  ): Promise<Probe> {
    const probe = new Probe(await connectTcp(hostname, port, options));
    if (options.password !== undefined) {
      await probe.#authenticate(options.password, options.timeoutMs);
    }
    return probe;
  }

  async #authenticate(password: string, timeoutMs: number): Promise<void> {
    const request = new TextEncoder().encode(`AUTH, ${password}\n`);
    const sent = await this.write(request, timeoutMs);
    // A right answer is `Success!`, a refusal an error line that may quote
    // the request: a little past that with no \n, the read stops (a server
    // that floods bytes without end held 64 MiB per connection, one per rule).
    const limit = request.length + ERROR_LINE_BYTES + LINE_SLACK_BYTES;
    const read = sent === "ok" ? await this.readLine(timeoutMs, timeoutMs, limit) : undefined;
    if (read?.kind === "too-much") {
      await this.close();
      // Not shown: it is no answer, and a cut echo could show part of the password.
      const bytes = limit.toLocaleString("en");
      throw new AuthRefusedError({
        en: `the server sent more than ${bytes} bytes without a \\n in answer to AUTH, where a ` +
          'right answer is "Success!": this cannot be the answer (does the server send without end?)',
        ko: `서버가 AUTH의 답으로 \\n 없이 ${bytes}바이트보다 많이 보냈습니다. 맞는 답은 ` +
          '"Success!"이므로 이것은 답일 수 없습니다(서버가 끝없이 보내나요?)',
      }, true);
    }
    const answer = read === undefined
      ? undefined
      : new TextDecoder().decode(read.kind === "line" ? read.raw : read.got).replace(/\r?\n$/, "");
    if (answer === "Success!") return;
    await this.close();
    // A server may echo the request: the password is never shown (where it is a word of its
    // own, as kv client and kv bench hide it: a password `pass` leaves "wrong password" whole).
    const shown = answer === undefined ? undefined : maskSecret(answer, password).slice(0, 80);
    throw new AuthRefusedError(
      shown === undefined || shown === ""
        ? { en: "the server did not answer AUTH", ko: "서버가 AUTH에 답하지 않았습니다" }
        : {
          en: `the server answered AUTH with ${JSON.stringify(shown)}`,
          ko: `서버가 AUTH에 ${JSON.stringify(shown)}(이)라고 답했습니다`,
        },
    );
  }

  /** How many bytes the server has sent on this connection so far. */
  get received(): number {
    return this.#received;
  }

  /** Bytes received and not yet taken by a read. */
  get buffered(): Uint8Array {
    return this.#buffer.subarray(this.#start, this.#end);
  }

  /**
   * Writes all of `bytes`. Returns `"timeout"` if the server stopped reading
   * for `timeoutMs` (the connection is then closed), `"closed"` if it went
   * away.
   */
  async write(bytes: Uint8Array, timeoutMs: number): Promise<"ok" | "timeout" | "closed"> {
    if (bytes.length === 0) return "ok";
    const writing = writeAll(this.#conn, bytes).then(() => "ok" as const, () => "closed" as const);
    const result = await bounded(writing, timeoutMs);
    if (result !== TIMEOUT) return result;
    this.close();
    await writing;
    return "timeout";
  }

  /**
   * Reads one line, up to and including its `\n`. Ends early with `"quiet"`
   * when bytes came but then nothing for `pauseMs`: an answer that will not
   * get its `\n`; and with `"too-much"` past `maxBytes` with no `\n` (a
   * line longer than any right answer's: a server that sends without end).
   */
  async readLine(
    timeoutMs: number,
    pauseMs: number,
    maxBytes = MAX_ANSWER_BYTES,
  ): Promise<LineRead> {
    const deadline = Date.now() + timeoutMs;
    let scanned = 0; // Bytes known to hold no \n: a long line is scanned once.
    let lastData = Date.now();
    let reads = 0; // Reads that brought bytes.
    while (true) {
      const nl = this.buffered.indexOf(LF, scanned);
      if (nl !== -1) return { kind: "line", raw: this.#take(nl + 1) };
      scanned = this.#end - this.#start;
      if (scanned > maxBytes) return { kind: "too-much", got: this.#take(scanned) };
      const partial = this.#end > this.#start;
      const left = deadline - Date.now();
      const more = left <= 0
        ? "timeout"
        : await this.#more(partial ? Math.min(pauseMs, left) : left);
      if (more === "data") {
        lastData = Date.now();
        reads++;
        continue;
      }
      const got = this.#take(this.#end - this.#start);
      // The time ran out while bytes kept coming (three reads or more, the
      // last within the pause): not a quiet end, nor one late answer.
      const flowing = reads >= 3 && Date.now() - lastData < pauseMs;
      return {
        kind: more === "eof" ? "eof" : !partial ? "timeout" : flowing ? "flowing" : "quiet",
        got,
      };
    }
  }

  /**
   * Reads an answer the textbook way: whatever arrives until nothing more
   * comes for `pauseMs`, or until `done` says the bytes so far are a whole
   * answer. The end of the stream also ends an answer. Ends early with
   * `"too-much"` past `maxBytes` (more than a right answer can be), and
   * with `"stopped"` once `wrong` says the bytes so far cannot begin a
   * right answer (a server that sends without end).
   */
  async readQuiet(
    timeoutMs: number,
    pauseMs: number,
    done: (bytes: Uint8Array) => boolean,
    { maxBytes = MAX_ANSWER_BYTES, wrong }: {
      maxBytes?: number;
      wrong?: (bytes: Uint8Array) => boolean;
    } = {},
  ): Promise<QuietRead> {
    const deadline = Date.now() + timeoutMs;
    // A server that never pauses is cut off: after ten timeouts, or past
    // maxBytes, as a LIST is (play.ts).
    const end = Date.now() + 10 * timeoutMs;
    while (true) {
      const bytes = this.buffered;
      if (bytes.length > 0 && done(bytes)) return { kind: "answer", got: this.#take(bytes.length) };
      if (bytes.length > 0 && wrong?.(bytes)) {
        return { kind: "stopped", got: this.#take(bytes.length) };
      }
      if (bytes.length > maxBytes || (bytes.length > 0 && Date.now() >= end)) {
        return { kind: "too-much", got: this.#take(bytes.length) };
      }
      const wait = bytes.length > 0 ? Math.min(pauseMs, end - Date.now()) : deadline - Date.now();
      const more = await this.#more(wait);
      if (more === "data") continue;
      const got = this.#take(this.#end - this.#start);
      if (got.length > 0) return { kind: "answer", got };
      if (more === "eof") return { kind: "eof", got };
      if (Date.now() >= deadline) return { kind: "timeout", got };
    }
  }

  /** Waits for the end of the stream; any byte first is returned instead. */
  async readEnd(timeoutMs: number): Promise<"eof" | "timeout" | Uint8Array> {
    if (this.#end > this.#start) return this.#take(this.#end - this.#start);
    const more = await this.#more(timeoutMs);
    if (more === "data") return this.#take(this.#end - this.#start);
    return more;
  }

  /** Waits `ms`; returns what arrived meanwhile (empty if nothing did). */
  async silence(ms: number): Promise<Uint8Array> {
    if (this.#end === this.#start) await this.#more(ms);
    return this.#take(this.#end - this.#start);
  }

  /** Whether {@linkcode Probe.closeWrite} was called: the server has had our FIN. */
  get halfClosed(): boolean {
    return this.#halfClosed;
  }

  /** Shuts down the sending side. */
  async closeWrite(): Promise<void> {
    this.#halfClosed = true;
    try {
      await this.#conn.closeWrite();
    } catch {
      // Gone already: the next read says so.
    }
  }

  /**
   * Closes the connection at once and waits for its pending read to end.
   * What was received and not taken is let go: the run keeps its probes
   * (Heard), and a server that sends without end filled each past
   * 64 MiB (its buffer up to 128 MiB).
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      closeQuietly(this.#conn);
    }
    await this.#reading;
    this.#buffer = new Uint8Array(0);
    this.#start = this.#end = 0;
  }

  /** Waits up to `ms` for more bytes. */
  async #more(ms: number): Promise<"data" | "eof" | "timeout"> {
    if (this.#eof || this.#closed) return "eof";
    this.#reading ??= this.#conn.read(this.#chunk).catch((error: unknown) =>
      error instanceof Error ? error : new Error(String(error))
    );
    const result = await bounded(this.#reading, Math.max(0, ms));
    if (result === TIMEOUT) return "timeout";
    this.#reading = undefined;
    if (result === null || result instanceof Error) {
      // A reset counts as the end: the server is gone either way.
      this.#eof = true;
      return "eof";
    }
    this.#received += result;
    this.#append(this.#chunk.subarray(0, result));
    return "data";
  }

  #append(bytes: Uint8Array): void {
    if (this.#end + bytes.length > this.#buffer.length) {
      const length = this.#end - this.#start;
      const target = length + bytes.length > this.#buffer.length
        ? new Uint8Array(Math.max(2 * this.#buffer.length, length + bytes.length))
        : this.#buffer;
      target.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = target;
      this.#start = 0;
      this.#end = length;
    }
    this.#buffer.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  #take(count: number): Uint8Array {
    const taken = this.#buffer.slice(this.#start, this.#start + count);
    this.#start += count;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return taken;
  }
}

/** `promise`'s value, or {@linkcode TIMEOUT} if it takes longer than `ms` (a stall of ours aside: {@linkcode settlesWithin}). */
async function bounded<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
  return await settlesWithin(promise, ms) ? await promise : TIMEOUT;
}
