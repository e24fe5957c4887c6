/**
 * One client's connection: the straight path from bytes read to bytes
 * written. Read a chunk, take each request the framer completes, run it,
 * reply, write; the limits of PROTOCOL.md (idle timeout, the unframed pause)
 * and the graceful end of a connection at shutdown.
 *
 * @module
 */

import type { Context, Continuation, Session } from "../command/command.ts";
import type { Reply } from "../command/reply.ts";
import { Request } from "../command/request.ts";
import { execute } from "../command/table.ts";
import { formatAddr } from "../net/addr.ts";
import { closeQuietly, describeError, isDisconnect, writeAll } from "../net/conn.ts";
import type { Store } from "../store/store.ts";
import { AnswerBuffer } from "../wire/answer_buffer.ts";
import { LineFramer } from "../wire/line/framer.ts";
import { LineReply } from "../wire/line/reply.ts";
import type { Logger } from "./log.ts";

/** The limits and switches a connection follows (resolved {@linkcode ServeOptions}). */
export interface ConnectionConfig {
  readonly maxLineBytes: number;
  readonly idleTimeoutMs: number;
  readonly unframedPauseMs: number;
  readonly verbose: boolean;
}

/**
 * Where a connection is. `reading`: waiting for bytes (shutdown may close it
 * at once); `working`: running requests; `writing`: waiting for its answers
 * to drain (never idle); `lingering`: half-closed at shutdown, waiting for
 * the client to finish; `closed`.
 */
type State = "reading" | "working" | "writing" | "lingering" | "closed";

// Redis reads 16 KiB at a time (PROTO_IOBUF_LEN); so do we.
const READ_BUFFER_BYTES = 16 * 1024;
// Answers are written once they pass this size, and the rest of the read is
// answered after: a few bytes of pipelined GETs or LISTs may ask for many
// copies of a big value or of the whole store. The answer buffer is reused
// up to this size; a bigger one is dropped once written.
const MAX_REUSED_OUT_BYTES = 64 * 1024;
// At shutdown, a half-closed client that sends nothing this long is done
// (PROTOCOL.md, Shutdown: "about 250 ms").
const LINGER_QUIET_MS = 250;
// Verbose logs quote at most this much of a client's bytes.
const LOG_SAMPLE_CHARS = 80;
// setTimeout takes a 32-bit delay and fires at once for a longer one.
const MAX_TIMER_MS = 2 ** 31 - 1;

const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** One client's connection. {@linkcode Connection.run} serves it to the end. */
export class Connection {
  readonly id: number;
  readonly #conn: Deno.Conn;
  readonly #config: ConnectionConfig;
  readonly #log: Logger;
  readonly #stopping: AbortSignal;
  readonly #framer: LineFramer;
  readonly #request = new Request();
  readonly #out = new AnswerBuffer(MAX_REUSED_OUT_BYTES);
  readonly #reply: Reply;
  readonly #session: Session = { closing: false };
  readonly #context: Context;
  #buffer: Uint8Array | undefined;
  #state: State = "working";
  #lastActiveAt = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** `stopping` aborts when the server shuts down. */
  constructor(
    conn: Deno.Conn,
    id: number,
    config: ConnectionConfig,
    store: Store,
    log: Logger,
    stopping: AbortSignal,
  ) {
    this.#conn = conn;
    this.id = id;
    this.#config = config;
    this.#log = log;
    this.#stopping = stopping;
    this.#framer = new LineFramer(config.maxLineBytes);
    this.#reply = new LineReply(this.#out);
    this.#context = { store, session: this.#session };
  }

  /** Serves the connection until it ends; never throws for a client's doing. */
  async run(): Promise<void> {
    if (this.#config.verbose) this.#debug(`connected from ${formatAddr(this.#conn.remoteAddr)}`);
    try {
      if ("setNoDelay" in this.#conn) (this.#conn as Deno.TcpConn).setNoDelay(true);
      if (this.#config.idleTimeoutMs > 0) this.#armIdle(this.#config.idleTimeoutMs);
      await this.#serve();
    } catch (error) {
      if (!isDisconnect(error)) throw error;
      if (this.#config.verbose && this.#state !== "closed") {
        this.#debug(`dropped: ${describeError(error)}`);
      }
    } finally {
      clearTimeout(this.#idleTimer);
      this.close();
      if (this.#config.verbose) this.#debug("closed");
    }
  }

  /** Shutdown: a connection waiting for bytes closes now; a busy one after its answers. */
  stop(): void {
    if (this.#state === "reading") this.close();
  }

  /** Closes the socket, once; returns whether this call closed it. A pending read or write then rejects. */
  close(): boolean {
    if (this.#state === "closed") return false;
    this.#state = "closed";
    closeQuietly(this.#conn);
    return true;
  }

  /** Read, frame, run, reply, write: until the client ends, quits, or the server stops. */
  async #serve(): Promise<void> {
    const framer = this.#framer;
    while (!this.#stopping.aborted) {
      const n = await this.#read();
      if (n === "done") return;
      if (n === null) {
        // End of stream, or a half-close: a last line with no `\n` is
        // still a request (PROTOCOL.md, "Ends of lines").
        framer.end();
        await this.#answer();
        return;
      }
      framer.feed(this.#buffer!.subarray(0, n));
      await this.#answer();
      if (this.#session.closing) return;
    }
    await this.#linger();
  }

  /**
   * Reads the next chunk; `null` at the end of the stream. For a client that
   * has never sent `\n` and has a partial line waiting, the read races the
   * unframed pause: if the line sits unchanged that long, it is answered as
   * a request while the read goes on ("done" if that ended the connection).
   */
  async #read(): Promise<number | null | "done"> {
    const buffer = this.#buffer ??= new Uint8Array(READ_BUFFER_BYTES);
    this.#state = "reading";
    const read = this.#conn.read(buffer);
    if (this.#framer.awaitsUnframed && this.#config.unframedPauseMs > 0) {
      if (await quiet(read, this.#config.unframedPauseMs)) {
        this.#state = "working";
        this.#framer.end();
        await this.#answer();
        if (this.#session.closing || this.#stopping.aborted) {
          read.catch(() => {}); // Rejects once we close the conn: expected.
          return "done";
        }
        this.#state = "reading";
      }
    }
    const n = await read;
    if (this.#state === "reading") this.#state = "working";
    if (n !== null && this.#idleTimer !== undefined) this.#lastActiveAt = Date.now();
    return n;
  }

  /** Runs every request the framer completes, writing answers as they pass the buffer's size. */
  async #answer(): Promise<void> {
    const framer = this.#framer;
    const request = this.#request;
    const out = this.#out;
    while (framer.next(request)) {
      const mark = out.length;
      let more: Continuation | undefined = execute(request, this.#context, this.#reply);
      if (this.#config.verbose) this.#logRequest(mark);
      while (more !== undefined) {
        if (more.step(this.#reply)) more = undefined;
        else if (out.length >= MAX_REUSED_OUT_BYTES) await this.#flush();
      }
      if (out.length >= MAX_REUSED_OUT_BYTES) await this.#flush();
      // Like redis after a reply that closes: no more buffered requests run.
      if (this.#session.closing) break;
    }
    await this.#flush();
  }

  /** Writes every answer gathered so far, all of it, before reading on. */
  async #flush(): Promise<void> {
    const out = this.#out;
    if (out.length === 0) return;
    this.#state = "writing";
    try {
      await writeAll(this.#conn, out.bytes());
    } finally {
      out.clear();
      if (this.#state === "writing") this.#state = "working";
      // Idle time counts from the end of the last answer, too.
      if (this.#idleTimer !== undefined) this.#lastActiveAt = Date.now();
    }
  }

  /**
   * Shutdown came while this connection was busy, and its client may still be
   * sending. Closing with bytes unread would make the kernel reset the
   * connection and drop answers not yet delivered, so end only the write
   * side: the client reads its answers, then the end of the stream. What it
   * still sends is discarded; once it has sent nothing for a moment, or
   * closes, the connection is done (PROTOCOL.md, Shutdown).
   */
  async #linger(): Promise<void> {
    this.#state = "lingering";
    await this.#conn.closeWrite();
    const buffer = this.#buffer ??= new Uint8Array(READ_BUFFER_BYTES);
    while (true) {
      const read = this.#conn.read(buffer);
      if (await quiet(read, LINGER_QUIET_MS)) {
        read.catch(() => {}); // Rejects once we close the conn: expected.
        return;
      }
      if ((await read) === null) return;
    }
  }

  /** A lazy idle timer: reads only stamp the time; the timer re-arms itself until the connection is truly idle. */
  #armIdle(ms: number): void {
    this.#lastActiveAt = Date.now();
    this.#idleTimer = setTimeout(() => this.#checkIdle(), Math.min(ms, MAX_TIMER_MS));
  }

  #checkIdle(): void {
    const idleMs = this.#config.idleTimeoutMs;
    const silentMs = Date.now() - this.#lastActiveAt;
    const writing = this.#state === "writing";
    if (writing || silentMs < idleMs) {
      const wait = writing ? idleMs : idleMs - silentMs;
      this.#idleTimer = setTimeout(() => this.#checkIdle(), Math.min(wait, MAX_TIMER_MS));
      return;
    }
    if (this.#config.verbose) this.#debug(`idle for ${silentMs} ms, closing`);
    this.#idleTimer = undefined;
    this.close();
  }

  #logRequest(mark: number): void {
    const request = this.#request;
    const raw = decoder.decode(request.bytes.subarray(request.rawStart, request.rawEnd));
    const answer = decoder.decode(this.#out.bytes().subarray(mark)).trimEnd();
    this.#debug(`${sample(raw)} -> ${sample(answer)}`);
  }

  #debug(message: string): void {
    this.#log("debug", `#${this.id} ${message}`);
  }
}

/**
 * Waits for `read` or for `ms` of silence, whichever comes first. Returns
 * `true` if the silence won; the read is then still pending.
 */
async function quiet(read: Promise<number | null>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silence = new Promise<true>((resolve) => {
    timer = setTimeout(() => resolve(true), Math.min(ms, MAX_TIMER_MS));
  });
  try {
    return await Promise.race([read.then(() => false, () => false), silence]);
  } finally {
    clearTimeout(timer);
  }
}

function sample(text: string): string {
  const quoted = JSON.stringify(
    text.length > LOG_SAMPLE_CHARS ? text.slice(0, LOG_SAMPLE_CHARS) : text,
  );
  return text.length > LOG_SAMPLE_CHARS ? `${quoted}... (${text.length} chars)` : quoted;
}
