/**
 * The server's side of `--trace`: the words of each socket event. A
 * connection, a datagram and the server as a whole each get a small object
 * that turns the hook calls of `connection.ts` (and `connection_state.ts`),
 * `udp.ts` and `serve.ts` into {@linkcode TraceEvent}s. They exist only while tracing is on: the hooks sit
 * behind `if (trace !== undefined)`, so with tracing off nothing here runs
 * and no string is built.
 *
 * @module
 */

import type { Failure } from "../command/reply.ts";
import { hideEcho, mayHoldSecret, type Request, secretName } from "../command/request.ts";
import { formatAddr } from "../net/addr.ts";
import { describeError } from "../net/conn.ts";
import { preview, type Tracer } from "../net/trace.ts";

/** What one trace object has in common: who it is and when it started. */
class Trace {
  readonly #tracer: Tracer;
  readonly #who: string;
  readonly #start = performance.now();

  constructor(tracer: Tracer, who: string) {
    this.#tracer = tracer;
    this.#who = who;
  }

  emit(event: string, detail: string): void {
    this.#tracer({ who: this.#who, ms: performance.now() - this.#start, event, detail });
  }

  // The last request framed may hold a password: its answer may echo it.
  #secretAnswer = false;

  /** A request the framer took; `endedBy` says what ended a line that had no `\n`. */
  framed(request: Request, endedBy: string | undefined): void {
    const secret = secretName(request);
    this.#secretAnswer = secret !== undefined;
    const raw = secret !== undefined
      ? `${secret} (the rest hidden: it may hold a password)`
      : request.rawEnd > request.rawStart
      ? preview(request.bytes, request.rawStart, request.rawEnd)
      : `(${unshown(request.failure)})`;
    this.emit("request", endedBy === undefined ? raw : `${raw} ended-by=${endedBy}`);
  }

  /**
   * The answer to the last request: `bytes[from, end)`, `size` bytes in all
   * (more if some was already let go), and `more` if it is not complete yet
   * (a LIST written piece by piece).
   */
  answer(bytes: Uint8Array, from: number, more = false, size = bytes.length - from): void {
    if (more && size === 0) this.emit("answer", "(made piece by piece as the socket takes it)");
    else {
      const rest = more ? " (and more, made as the socket takes it)" : "";
      let shown: string;
      if (this.#secretAnswer) {
        const text = new TextEncoder().encode(
          hideEcho(new TextDecoder().decode(bytes.subarray(from))),
        );
        shown = preview(text, 0, text.length);
      } else shown = preview(bytes, from, bytes.length);
      this.emit("answer", `bytes=${size} ${shown}${rest}`);
    }
  }
}

/**
 * What the trace says of a request it has no bytes of to show, in words a
 * reader knows (not the failure's name in the code): the bytes were not
 * kept (a line past the limit), or cannot be read as a request.
 */
function unshown(failure: Failure | undefined): string {
  if (failure === undefined) return "an empty request";
  switch (failure.kind) {
    case "invalidUtf8":
      return "a line that is not valid UTF-8";
    case "lineTooLong":
      return `a line longer than the limit of ${failure.limitBytes} bytes: its bytes were not kept`;
    case "pendingFull":
      return "a line the server had no room for (all clients' unfinished requests at --max-pending-bytes): its bytes were not kept";
    case "protocol":
      return "a request that breaks RESP's framing";
    default:
      return `a request that cannot be read: ${failure.kind}`;
  }
}

// How much of an unfinished line is kept to find AUTH or HELLO split across reads.
const LINE_START_BYTES = 16;

/** Why a traced connection closed, as its `close` line says it. */
type Cause = "eof" | "reset" | "quit" | "idle" | "shutdown" | "error";

const CLOSE_NOTES: Record<Cause, string> = {
  eof: "(after the peer's FIN)",
  reset: "(after the peer's RST)",
  quit: "(after QUIT)",
  idle: "(idle timeout)",
  shutdown: "(server shutdown)",
  error: "(after an error)",
};

/** The trace of one TCP connection: `#ID`, timed from its accept. */
export class ConnectionTrace extends Trace {
  #cause: Cause | undefined;
  #sawEof = false;

  // With a password, received bytes may hold it: only their count is shown.
  readonly #hideBytes: boolean;
  // The client sent AUTH or HELLO: its password may be in any read from
  // there on (a long one spans several), so no more bytes are shown.
  #sentSecret = false;
  // The last read's unfinished line, if short: AUTH may be split across reads.
  #lineStart: Uint8Array = new Uint8Array(0);

  /** Traces connection `id` into `tracer`; `hideBytes`: show how many bytes came, not which. */
  constructor(tracer: Tracer, id: number, hideBytes = false) {
    super(tracer, `#${id}`);
    this.#hideBytes = hideBytes;
  }

  #received(buffer: Uint8Array, n: number): string {
    if (this.#hideBytes) return `bytes=${n} (hidden: the server has a password)`;
    // Without one, a client may still send AUTH (it has a password for
    // another server).
    if (!this.#sentSecret) {
      const joined = new Uint8Array(this.#lineStart.length + n);
      joined.set(this.#lineStart);
      joined.set(buffer.subarray(0, n), this.#lineStart.length);
      this.#sentSecret = mayHoldSecret(joined, 0, joined.length);
      // A line's first bytes, if they end this read: enough to hold AUTH or HELLO after blanks.
      const lastLine = joined.lastIndexOf(0x0a) + 1;
      this.#lineStart = joined.length - lastLine <= LINE_START_BYTES
        ? joined.slice(lastLine)
        : new Uint8Array(0);
    }
    if (this.#sentSecret) return `bytes=${n} (hidden: after AUTH or HELLO, which hold a password)`;
    return `bytes=${n} ${preview(buffer, 0, n)}`;
  }

  /** accept() handed over this socket. */
  accept(conn: Deno.Conn): void {
    this.emit(
      "accept",
      `peer=${formatAddr(conn.remoteAddr)} local=${
        formatAddr(conn.localAddr)
      } (a new socket, for this client only)`,
    );
  }

  /** recv() (`conn.read()`) filled `buffer[0, n)`. */
  recv(buffer: Uint8Array, n: number): void {
    this.emit("recv", this.#received(buffer, n));
  }

  /** A read after our half-close (at shutdown, or after an error that ends the connection): the end of the stream, or bytes thrown away. */
  lingered(buffer: Uint8Array, n: number | null, shutdown: boolean): void {
    if (n === null) this.eof();
    else {
      const why = shutdown ? "shutting down" : "the connection is closing";
      this.emit("recv", `${this.#received(buffer, n)} (discarded: ${why})`);
    }
  }

  /** recv() returned end of stream: the peer sent its FIN. */
  eof(): void {
    this.#sawEof = true;
    this.#cause ??= "eof";
    this.emit("eof", "(the peer sent FIN: it will send nothing more)");
  }

  /** An unframed client's partial line sat unchanged for the pause. */
  pause(ms: number, pendingBytes: number): void {
    this.emit("pause", `ms=${ms} pending=${pendingBytes} (no \\n came: the line is taken as is)`);
  }

  /** A request the framer took; `endedWithoutNewline` from the framer. */
  request(request: Request, endedWithoutNewline: boolean): void {
    this.framed(request, endedWithoutNewline ? (this.#sawEof ? "eof" : "pause") : undefined);
  }

  /** send() (`conn.write()`, looped until all is written) took `n` bytes. */
  send(n: number): void {
    this.emit("send", `bytes=${n}`);
  }

  /** We half-closed: shutdown(SHUT_WR), `conn.closeWrite()`: our FIN. */
  halfClose(): void {
    this.emit("half-close", "(we sent FIN: no more answers; still reading)");
  }

  /** The idle timeout closes the connection. */
  idle(silentMs: number): void {
    this.#cause ??= "idle";
    this.emit("idle", `ms=${silentMs} (nothing received for that long)`);
  }

  /**
   * The server began shutting down. This connection was busy (`finish`), or
   * waiting for bytes: it had spoken, so it may have answers on their way
   * (`half-close`), or not (`close`).
   */
  stop(now: "finish" | "half-close" | "close"): void {
    this.#cause ??= "shutdown";
    this.emit("shutdown", STOP_NOTES[now]);
  }

  /** The connection failed with `error` (a reset, a broken pipe, a bug). */
  failed(error: unknown): void {
    if (error instanceof Deno.errors.ConnectionReset) {
      this.#cause ??= "reset";
      this.emit("reset", "(the peer sent RST: it closed abruptly, with data unread)");
    } else if (isEofWithoutCloseNotify(error)) {
      // How most TLS clients end (kv client, redis-cli, Python's ssl): a
      // FIN, with no TLS goodbye before it. rustls calls it an error.
      this.#sawEof = true;
      this.#cause ??= "eof";
      this.emit(
        "eof",
        "(the peer sent FIN without TLS's close_notify, as most clients end: it will send nothing more)",
      );
    } else if (this.#cause === undefined) {
      this.#cause = "error";
      this.emit("error", describeError(error));
    }
  }

  /** close(): the socket is released. `ended`: a request ended it (QUIT, or an error that closes). */
  close(ended?: "quit" | "error"): void {
    // The request ended it, whatever came after (a FIN while it lingered).
    if (ended !== undefined) this.#cause = ended;
    this.emit("close", this.#cause === undefined ? "" : CLOSE_NOTES[this.#cause]);
  }
}

/** rustls's error for a TLS peer whose FIN came without a close_notify alert before it. */
function isEofWithoutCloseNotify(error: unknown): boolean {
  return error instanceof Deno.errors.UnexpectedEof && error.message.includes("close_notify");
}

const STOP_NOTES = {
  finish: "(busy: finish its answers first)",
  "half-close": "(it was waiting for bytes: half-close now, its answers may still be on their way)",
  close: "(it was waiting for bytes: close now)",
};

/** The trace of one UDP datagram: `dN`, timed from its arrival. */
export class DatagramTrace extends Trace {
  /** Traces datagram number `n` into `tracer`. */
  constructor(tracer: Tracer, n: number) {
    super(tracer, `d${n}`);
  }

  /** recvfrom() returned this datagram and its sender. */
  recvfrom(data: Uint8Array, from: Deno.Addr): void {
    const shown = mayHoldSecret(data, 0, data.length)
      ? "(hidden: AUTH or HELLO may hold a password)"
      : preview(data, 0, data.length);
    this.emit("recvfrom", `bytes=${data.length} peer=${formatAddr(from)} ${shown}`);
  }

  /** The whole answer would not fit in one datagram (`why`: over the contract's 65,507 bytes). */
  tooLarge(bytes: number, why = "over 65507"): void {
    this.emit("too-large", `bytes=${bytes} (${why}: replaced by an error line)`);
  }

  /** sendto() sent the answer datagram. */
  sendto(n: number, to: Deno.Addr): void {
    this.emit("sendto", `bytes=${n} peer=${formatAddr(to)}`);
  }

  /**
   * The next recvfrom() failed with an ICMP "port unreachable" that came
   * back for an answer sent earlier (this one's, most likely): Windows
   * reports it so (WSAECONNRESET, 10054); Linux and macOS say nothing.
   */
  unreachable(): void {
    this.emit(
      "unreachable",
      "(ICMP port unreachable for an answer sent earlier: its client had closed its socket; " +
        "Windows fails the next recvfrom with error 10054, and the server reads on)",
    );
  }

  /**
   * Nothing to answer (blank lines only, or `empty`: no bytes at all): no
   * datagram goes back, so no `sendto` (one of 0 bytes would be a datagram
   * all the same).
   */
  silent(empty: boolean): void {
    this.emit(
      "drop",
      empty
        ? "(not answered: an empty datagram, nothing to answer)"
        : "(not answered: only blank lines, nothing to answer)",
    );
  }
}

/** The trace of the server as a whole: `server`, timed from its start. */
export class ServerTrace extends Trace {
  /** Traces into `tracer`. */
  constructor(tracer: Tracer) {
    super(tracer, "server");
  }

  /** socket(), bind(), listen(): `Deno.listen()` or a listener given. */
  listen(addr: Deno.Addr): void {
    this.emit("listen", `tcp=${formatAddr(addr)} (socket, bind, listen)`);
  }

  /** socket(), bind() of the UDP socket: `Deno.listenDatagram()`. */
  bind(addr: Deno.Addr): void {
    this.emit("bind", `udp=${formatAddr(addr)} (socket, bind: no listen, no accept)`);
  }

  /** A step of the shutdown. */
  shutdown(detail: string): void {
    this.emit("shutdown", detail);
  }
}
