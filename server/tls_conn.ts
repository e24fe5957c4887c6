/**
 * {@linkcode FrontConn}: one connection through the TLS front of
 * server/tls.ts, as the server sees it. Two pumps carry the bytes between
 * the public socket and the loopback pipe into the TLS listener; once the
 * server closes, the connection's last bytes drain to the client and a
 * client still sending is let finish (as server/linger.ts says), and a
 * connection cut (its handshake unfinished, a client that does not read,
 * a shutdown's grace run out) closes both sockets at once.
 *
 * @module
 */

import { closeQuietly, setRunningTimeout, writeAll } from "../net/conn.ts";
import { LINGER_MAX_BYTES, LINGER_QUIET_MS } from "./linger.ts";

const PIPE_BUFFER_BYTES = 16 * 1024;
// After the server closes a TLS connection, its last bytes (the answers
// before a QUIT, TLS's close_notify) still flow to the client, and a client
// still sending is let finish; past this long, one that does not take them,
// or does not stop, is cut.
const DRAIN_MS = 5_000;

/**
 * Copies `from` to `to` until `from` ends (then half-closes `to`: `"ended"`),
 * or reading `from` fails (`"from failed"`: a reset, a socket closed), or
 * writing to `to` does (`"to failed"`). `heard` is told of every read. Never rejects.
 */
async function pump(
  from: Deno.Conn,
  to: Deno.Conn,
  heard?: (n: number) => void,
): Promise<"ended" | "from failed" | "to failed"> {
  const buffer = new Uint8Array(PIPE_BUFFER_BYTES);
  while (true) {
    let n: number | null;
    try {
      n = await from.read(buffer);
    } catch {
      return "from failed";
    }
    try {
      if (n === null) {
        await to.closeWrite();
        return "ended";
      }
      heard?.(n);
      await writeAll(to, buffer.subarray(0, n));
    } catch {
      return "to failed";
    }
  }
}

/**
 * Reads `from` until it ends (`true`) or fails (`false`: a reset, a socket
 * closed), throwing the bytes away; `heard` is told of every read.
 */
async function discard(from: Deno.Conn, heard: (n: number) => void): Promise<boolean> {
  const buffer = new Uint8Array(PIPE_BUFFER_BYTES);
  try {
    for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) heard(n);
    return true;
  } catch {
    return false;
  }
}

/**
 * A TLS connection as the server sees it: reads and writes go through TLS;
 * the addresses are the client's. Closing it after the handshake lets the
 * last bytes reach the client, and then waits for a client still sending to
 * finish, as the server's own linger does (server/linger.ts), all within
 * DRAIN_MS; before the handshake, it cuts the public socket and the pipe at
 * once, so an unfinished handshake ends at once.
 */
export class FrontConn implements Deno.Conn {
  readonly #tls: Deno.TlsConn;
  readonly #raw: Deno.TcpConn;
  readonly #pipe: Deno.TcpConn;
  readonly #pumps: Promise<void>;
  #handshaken = false;
  // Everything the server sent has reached the client's socket, FIN and all.
  #outEnded = false;
  // The client sent its FIN.
  #inEnded = false;
  #closed = false;
  // The server half-closed: its TLS side has sent close_notify and FIN.
  #writeClosed = false;
  #cut = false;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  // Once closed: when the client last sent bytes, how many, and the timer that
  // ends the wait for a client that has gone quiet.
  #heardAt = 0;
  #heardBytes = 0;
  #cancelQuiet: (() => void) | undefined;

  constructor(tls: Deno.TlsConn, raw: Deno.TcpConn, pipe: Deno.TcpConn) {
    this.#tls = tls;
    this.#raw = raw;
    this.#pipe = pipe;
    this.#pumps = Promise.all([this.#carryOut(), this.#carryIn()]).then(() => {});
  }

  /**
   * The server's bytes out. When the TLS side has closed and all of it is
   * delivered, the connection is over once the client has finished too
   * (#linger); if the server only half-closed (it lingers, reading what the
   * client still sends: server/connection_state.ts), the client gets the FIN and
   * its bytes still flow in until the server closes.
   */
  async #carryOut(): Promise<void> {
    let how = await pump(this.#pipe, this.#raw);
    // A server that closed while the client was still sending (the rest of a
    // burst after QUIT, at shutdown) closed its TLS socket with the client's
    // bytes unread, so the kernel resets the pipe: after everything it sent,
    // which a read hands over first. That is the end of the server's bytes.
    if (how === "from failed" && this.#closed && !this.#cut) {
      how = await this.#raw.closeWrite().then(() => "ended" as const, () => "to failed" as const);
    }
    this.#outEnded = true;
    if (how !== "ended") this.#cutNow();
    else if (this.#closed) {
      closeQuietly(this.#tls); // Everything it sent is out of it (close()).
      this.#linger();
    }
  }

  /**
   * The client's bytes in. A client that reset its socket is gone, so is the
   * connection. One that half-closed still gets its answers, even if its FIN
   * came before the server's side of the handshake was done (TLS 1.3 lets a
   * client send its Finished, its requests and its FIN at once): the pipe
   * passes the end on, and a handshake that cannot finish without more bytes
   * fails on it. Once the server has closed, the pipe is reset (see
   * #carryOut) and writing to it fails: what the client still sends is thrown
   * away, as the server would have done, and the connection is not cut, or
   * the server's last bytes still in the pipe would be lost with it.
   */
  async #carryIn(): Promise<void> {
    const how = await pump(this.#raw, this.#pipe, this.#heard);
    if (how === "to failed" && this.#closed && !this.#cut) {
      if (!(await discard(this.#raw, this.#heard))) return this.#cutNow();
    } else if (how !== "ended") return this.#cutNow();
    this.#inEnded = true;
    if (this.#closed && this.#outEnded) this.#cutNow();
  }

  /** Counts what the client sends once the server has closed: past LINGER_MAX_BYTES, it is cut. */
  readonly #heard = (n: number): void => {
    if (!this.#closed) return;
    this.#heardAt = performance.now();
    if ((this.#heardBytes += n) > LINGER_MAX_BYTES) this.#cutNow();
  };

  /**
   * The server has closed, and every byte it sent is in the public socket,
   * FIN and all (not yet delivered, perhaps). Closing that socket while the
   * client is still sending would reset it and throw away what the client
   * has not received yet, so wait until it has sent nothing for
   * LINGER_QUIET_MS, or closes (within DRAIN_MS of the close, all told).
   */
  #linger(): void {
    if (this.#inEnded || this.#cut) return this.#cutNow();
    this.#heardAt = performance.now();
    // Counted in the time this process ran, with one look at the I/O before
    // the cut (setRunningTimeout): a stall of our own is not the client's
    // silence.
    const check = () => {
      if (this.#cut) return;
      const quietMs = performance.now() - this.#heardAt;
      if (quietMs >= LINGER_QUIET_MS) return this.#cutNow();
      this.#cancelQuiet = setRunningTimeout(check, LINGER_QUIET_MS - quietMs, { look: true });
    };
    this.#cancelQuiet = setRunningTimeout(check, LINGER_QUIET_MS, { look: true });
  }

  get localAddr(): Deno.NetAddr {
    return this.#raw.localAddr;
  }

  get remoteAddr(): Deno.NetAddr {
    return this.#raw.remoteAddr;
  }

  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.#tls.readable;
  }

  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    return this.#tls.writable;
  }

  /** Finishes the TLS handshake (or fails, if the client does not speak TLS). */
  async handshake(): Promise<Deno.TlsHandshakeInfo> {
    const info = await this.#tls.handshake();
    this.#handshaken = true;
    return info;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    return this.#tls.read(buffer);
  }

  write(bytes: Uint8Array): Promise<number> {
    return this.#tls.write(bytes);
  }

  closeWrite(): Promise<void> {
    this.#writeClosed = true;
    return this.#tls.closeWrite();
  }

  setNoDelay(noDelay?: boolean): void {
    this.#raw.setNoDelay(noDelay);
  }

  setKeepAlive(keepAlive?: boolean): void {
    this.#raw.setKeepAlive(keepAlive);
  }

  ref(): void {}

  unref(): void {}

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#handshaken || this.#outEnded) return this.#cutNow(); // Nothing left to drain.
    // Closing the TLS socket now, with the client's bytes unread in it, would
    // make the kernel reset the pipe and throw away what the server wrote and
    // the pipe has not taken yet (the pipe's window is small: 80 KiB of 4 MiB
    // got through). So its write side ends first (the rest, close_notify,
    // FIN), and the socket closes once the pipe has read all of it (#carryOut).
    if (!this.#writeClosed) this.#tls.closeWrite().catch(() => closeQuietly(this.#tls));
    this.#drainTimer = setTimeout(() => this.#cutNow(), DRAIN_MS);
  }

  /**
   * Closes it with no drain: for a client cut because it does not read, or
   * because the shutdown's grace ran out. Returns whether it was still open
   * (its last bytes still draining, or its client not yet quiet).
   */
  cut(): boolean {
    if (this.#cut) return false;
    this.#cutNow();
    return true;
  }

  /** Closes the public socket and the pipe now: whatever the TLS side still holds ends. */
  #cutNow(): void {
    if (this.#cut) return;
    this.#cut = true;
    this.#closed = true;
    clearTimeout(this.#drainTimer);
    this.#cancelQuiet?.();
    closeQuietly(this.#tls);
    closeQuietly(this.#raw);
    closeQuietly(this.#pipe);
  }

  /** Settles once both directions of the pipe have stopped. */
  get finished(): Promise<void> {
    return this.#pumps;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
