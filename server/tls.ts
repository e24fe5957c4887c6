/**
 * TLS for `kv serve` (PROTOCOL.md, TLS), with handshakes that can be cut.
 *
 * Deno's TLS listener finishes a connection's handshake before it lets the
 * socket close (denoland/deno#14547): a client that connects and sends
 * nothing would hold its socket for as long as it likes, however the server
 * closes its end. So the public port is a plain TCP listener the server
 * owns, and each connection it accepts is piped, over loopback, into a TLS
 * listener inside the process. Cutting a connection closes the public
 * socket and the pipe; the TLS side then sees its peer gone and lets go.
 *
 * @module
 */

import { closeQuietly, MAX_TIMER_MS, nextTurn, writeAll } from "../net/conn.ts";
import { LINGER_MAX_BYTES, LINGER_QUIET_MS } from "./linger.ts";

/** What the server needs of a listener. `Deno.Listener` is one. */
export interface Acceptor {
  /** The address it listens on. */
  readonly addr: Deno.Addr;
  /** The next connection. */
  accept(): Promise<Deno.Conn>;
  /** Stops listening. */
  close(): void;
}

const PIPE_BUFFER_BYTES = 16 * 1024;
// After the server closes a TLS connection, its last bytes (the answers
// before a QUIT, TLS's close_notify) still flow to the client, and a client
// still sending is let finish; past this long, one that does not take them,
// or does not stop, is cut.
const DRAIN_MS = 5_000;

/**
 * Finishes `conn`'s TLS handshake within `ms`: `"done"`, `"late"` (the
 * handshake then fails once the connection is closed, as expected), or why
 * it failed (a plaintext client, a bad certificate).
 */
export async function handshakeWithin(
  conn: Deno.TlsConn,
  ms: number,
): Promise<"done" | "late" | Error> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), Math.min(ms, MAX_TIMER_MS));
  });
  const handshake = conn.handshake();
  try {
    const result = await Promise.race([handshake.then(() => "done" as const), late]);
    if (result === "late") handshake.catch(() => {});
    return result;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  } finally {
    clearTimeout(timer);
  }
}

/** A listener whose connections are piped through a TLS listener inside the process. */
export interface TlsAcceptor extends Acceptor {
  /** The loopback address of the inner TLS listener the pipes connect to. */
  readonly pipeAddr: Deno.NetAddr;
}

/** A TLS listener on `hostname:port` whose connections' handshakes can be cut. */
export function listenTls(
  options: { hostname: string; port: number; cert: string; key: string },
): TlsAcceptor {
  const outer = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
  let inner: Deno.TlsListener;
  try {
    inner = Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert: options.cert,
      key: options.key,
    });
  } catch (error) {
    outer.close();
    throw error;
  }
  return new TlsFront(outer, inner);
}

// A pipe's connection to the inner listener that has not arrived by then
// (the machine is that loaded) fails that one client.
const PAIR_TIMEOUT_MS = 10_000;
const DRAIN_BACKOFF_MS = { first: 5, max: 1_000 };

class TlsFront implements TlsAcceptor {
  readonly addr: Deno.Addr;
  readonly pipeAddr: Deno.NetAddr;
  readonly #outer: Deno.TcpListener;
  readonly #inner: Deno.TlsListener;
  // Pairings go one at a time: connect a pipe to the inner listener, then
  // take the inner connection whose far end is that pipe (its address and port).
  #turn: Promise<unknown> = Promise.resolve();
  // The inner listener is drained all the time, not only while a pairing
  // waits: a local program that fills its accept queue (it is a loopback
  // port anyone on the machine can reach) would otherwise stall every pipe's
  // connect behind it. What arrives is kept while a pairing waits for its
  // own; anything else is closed.
  #waiting: ((tls: Deno.TlsConn) => void) | undefined;
  #closed = false;
  // A failed accept (out of file descriptors) is retried after a pause,
  // doubling as the server's own accept loop does.
  #pause: { timer: ReturnType<typeof setTimeout>; resolve: () => void } | undefined;

  constructor(outer: Deno.TcpListener, inner: Deno.TlsListener) {
    this.#outer = outer;
    this.#inner = inner;
    this.addr = outer.addr;
    this.pipeAddr = inner.addr;
    void this.#drain(); // Ends when the inner listener closes.
  }

  async #drain(): Promise<void> {
    let backoffMs = DRAIN_BACKOFF_MS.first;
    while (!this.#closed) {
      let tls: Deno.TlsConn;
      try {
        tls = await this.#inner.accept();
      } catch {
        if (this.#closed) return;
        // Out of file descriptors, say: try again once some are free.
        await new Promise<void>((resolve) => {
          this.#pause = { timer: setTimeout(resolve, backoffMs), resolve };
        });
        this.#pause = undefined;
        backoffMs = Math.min(backoffMs * 2, DRAIN_BACKOFF_MS.max);
        continue;
      }
      backoffMs = DRAIN_BACKOFF_MS.first;
      if (this.#waiting === undefined) closeQuietly(tls); // No pairing under way: a stray.
      else this.#waiting(tls);
    }
  }

  async accept(): Promise<Deno.Conn> {
    const raw = await this.#outer.accept();
    const paired = this.#turn.then(() => this.#pair(raw));
    this.#turn = paired.catch(() => {});
    return await paired;
  }

  async #pair(raw: Deno.TcpConn): Promise<Deno.Conn> {
    let pipe: Deno.TcpConn | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Until the pipe's own connection is found, what the inner listener
    // accepts waits here: it may come before the connect resolves.
    const arrived: Deno.TlsConn[] = [];
    let found: ((tls: Deno.TlsConn) => void) | undefined;
    this.#waiting = (tls) => (found === undefined ? arrived.push(tls) : found(tls));
    let late = false;
    try {
      const paired = (async () => {
        const connected = await Deno.connect({
          hostname: "127.0.0.1",
          port: this.#inner.addr.port,
        });
        if (late) {
          closeQuietly(connected); // The pairing gave up meanwhile.
          throw new Error("the TLS pipe connected too late");
        }
        pipe = connected;
        const { hostname, port } = connected.localAddr;
        return await new Promise<Deno.TlsConn>((resolve) => {
          found = (tls) => {
            // Address and port: a local program may connect from 127.0.0.2 with the same port.
            if (tls.remoteAddr.port === port && tls.remoteAddr.hostname === hostname) resolve(tls);
            else closeQuietly(tls); // A stray local client: never paired with anyone.
          };
          for (const tls of arrived.splice(0)) found(tls);
        });
      })();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          late = true;
          reject(new Error("the TLS pipe's loopback connection did not arrive"));
        }, PAIR_TIMEOUT_MS);
      });
      paired.catch(() => {}); // A late failure is the timeout's to report.
      const tls = await Promise.race([paired, timeout]);
      raw.setNoDelay(true);
      pipe!.setNoDelay(true);
      return new FrontConn(tls, raw, pipe!);
    } catch (error) {
      closeQuietly(raw);
      if (pipe !== undefined) closeQuietly(pipe);
      throw error;
    } finally {
      clearTimeout(timer);
      this.#waiting = undefined;
      for (const tls of arrived.splice(0)) closeQuietly(tls);
    }
  }

  close(): void {
    this.#closed = true;
    closeQuietly(this.#outer);
    closeQuietly(this.#inner);
    if (this.#pause !== undefined) {
      clearTimeout(this.#pause.timer);
      this.#pause.resolve();
    }
  }
}

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
class FrontConn implements Deno.Conn {
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
  #cut = false;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  // Once closed: when the client last sent bytes, how many, and the timer that
  // ends the wait for a client that has gone quiet.
  #heardAt = 0;
  #heardBytes = 0;
  #quietTimer: ReturnType<typeof setTimeout> | undefined;

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
   * client still sends: server/connection.ts), the client gets the FIN and
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
    else if (this.#closed) this.#linger();
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
    const check = () => {
      if (this.#cut) return;
      const quietMs = performance.now() - this.#heardAt;
      if (quietMs < LINGER_QUIET_MS) {
        this.#quietTimer = setTimeout(check, LINGER_QUIET_MS - quietMs);
        return;
      }
      // A stall of our own is not the client's silence: what arrived
      // meanwhile gets one look first (as settlesWithin() gives it).
      const heardAt = this.#heardAt;
      void nextTurn().then(() => this.#heardAt === heardAt ? this.#cutNow() : check());
    };
    this.#quietTimer = setTimeout(check, LINGER_QUIET_MS);
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
    closeQuietly(this.#tls);
    if (!this.#handshaken || this.#outEnded) return this.#cutNow(); // Nothing left to drain.
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
    clearTimeout(this.#quietTimer);
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
