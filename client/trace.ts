/**
 * The client's side of `--trace`: {@linkcode traceConn} instruments a
 * connected socket, so each connect, send, recv, half-close and close of
 * {@linkcode KvClient} (or anyone else holding the socket) becomes a
 * {@linkcode TraceEvent}. The client's code does not change: an untraced
 * socket is left as it is and costs nothing.
 *
 * @module
 */

import { formatAddr } from "../net/addr.ts";
import type { IrregularAnswer } from "./options.ts";
import { preview, type TraceEvent, type Tracer } from "../net/trace.ts";

// A request line `AUTH, password` (any case, any spaces): what follows the comma is the password.
const AUTH_LINE_REGEXP = /^([ \t]*AUTH[ \t]*,[ \t]*)[^\n]*/gim;

/**
 * Traces `conn`, which connect() has just returned: emits its `connect`
 * (timed from `startedAt`, a `performance.now()` taken before the connect,
 * so it shows what the three-way handshake took), then wraps the socket's
 * own `read`, `write`, `closeWrite` and `close` in place. A `secret` (the
 * password the client sends) is shown as `***` wherever it stands as a
 * word of its own, in what is sent and in what comes back (a server may
 * echo it); so is whatever follows `AUTH,` in a request sent (a password
 * typed at the prompt, which connect() never saw). Returns the emitter, for
 * what the client itself does between the socket's events (the pause that
 * takes an answer).
 */
export function traceConn(
  conn: Deno.Conn,
  tracer: Tracer,
  startedAt: number,
  secret?: string,
): ClientTraceEmit {
  // Masked in the bytes, before the preview escapes or cuts them.
  const show = (bytes: Uint8Array, n: number, sent: boolean) => {
    const text = new TextDecoder().decode(bytes.subarray(0, n));
    let masked = maskSecret(text, secret);
    if (sent) masked = masked.replace(AUTH_LINE_REGEXP, "$1***");
    if (masked === text) return preview(bytes, 0, n);
    const encoded = new TextEncoder().encode(masked);
    return preview(encoded, 0, encoded.length);
  };
  const emit = (event: string, detail: string) => {
    const traced: TraceEvent = { who: "client", ms: performance.now() - startedAt, event, detail };
    tracer(traced);
  };
  const local = conn.localAddr as Deno.NetAddr;
  emit(
    "connect",
    `local=${formatAddr(local)} peer=${
      formatAddr(conn.remoteAddr)
    } (handshake done; the OS picked local port ${local.port})`,
  );
  const read = conn.read.bind(conn);
  const write = conn.write.bind(conn);
  const closeWrite = conn.closeWrite.bind(conn);
  const close = conn.close.bind(conn);
  conn.read = async (buffer) => {
    try {
      const n = await read(buffer);
      if (n === null) emit("eof", "(the server sent FIN: it will send nothing more)");
      else emit("recv", `bytes=${n} ${show(buffer, n, false)}`);
      return n;
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) {
        emit("reset", "(the server sent RST: it closed abruptly)");
      }
      throw error;
    }
  };
  conn.write = async (bytes) => {
    const n = await write(bytes);
    emit("send", `bytes=${n} ${show(bytes, n, true)}`);
    return n;
  };
  let halfClosed = false;
  conn.closeWrite = async () => {
    await closeWrite();
    halfClosed = true;
    emit("half-close", "(we sent FIN: no more requests; the answers still come)");
  };
  conn.close = () => {
    close(); // Throws if closed already: then there is nothing to trace.
    // Deno's close() is shutdown(SHUT_WR), then close(): our FIN, unless
    // the half-close sent it already.
    emit(
      "close",
      halfClosed
        ? "(our FIN went with the half-close)"
        : "(we sent FIN: the server reads the end of the stream)",
    );
  };
  return emit;
}

/**
 * Traces a connect that failed, so `--trace` shows why there is no
 * `connect` line: `refused` (the peer's OS answered the SYN with RST:
 * nothing listens on that port), `timeout` (no connection in time), or
 * `error` with the reason. Timed from `startedAt`, as {@linkcode traceConn}.
 */
export function traceConnectFailure(
  tracer: Tracer,
  startedAt: number,
  address: string,
  error: unknown,
  timeoutMs: number,
): void {
  let event = "error";
  let detail = `peer=${address} (${error instanceof Error ? error.message : String(error)})`;
  if (error instanceof Deno.errors.ConnectionRefused) {
    event = "refused";
    detail = `peer=${address} (our SYN was answered with RST: nothing listens on that port)`;
  } else if (error instanceof Deno.errors.TimedOut) {
    event = "timeout";
    detail = `peer=${address} ms=${timeoutMs} (no connection in time: no answer to our SYN, ` +
      "or the TLS handshake did not finish)";
  }
  tracer({ who: "client", ms: performance.now() - startedAt, event, detail });
}

/** The detail of the trace's `pause`: nothing more came for `ms`, so what came is the answer, without what is `missing`. */
export function pauseDetail(ms: number, missing: IrregularAnswer): string {
  return `(nothing more came for ${ms} ms: what came is taken as the answer, without its ${
    missing === "newline" ? "\\n" : "closing empty line"
  })`;
}

/** Emits one client trace event, timed as the socket's ({@linkcode traceConn}). */
export type ClientTraceEmit = (event: string, detail: string) => void;

/**
 * `text` with each place `secret` stands as a word of its own (not inside a
 * longer word: a password `word` leaves "wrong password" alone), as it is
 * or as JSON quotes it, shown as `***`.
 */
export function maskSecret(text: string, secret: string | undefined): string {
  if (secret === undefined || secret === "") return text;
  let masked = text;
  for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) {
    if (!masked.includes(form)) continue;
    const escaped = form.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    masked = masked.replace(
      new RegExp(`(?<![\\p{L}\\p{N}_])${escaped}(?![\\p{L}\\p{N}_])`, "gu"),
      "***",
    );
  }
  return masked;
}
