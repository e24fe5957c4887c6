/**
 * UDP for the tests: {@linkcode UdpPeer}, a socket to send datagrams from
 * and read answers on, and {@linkcode scriptedUdpServer}, a stand-in server
 * that can drop datagrams as a lossy network would. Re-exported by
 * `testing/mod.ts`.
 *
 * @module
 */

import { closeQuietly } from "../net/conn.ts";
import { within } from "./wait.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** A UDP socket on 127.0.0.1, port 0, that a test sends from and reads answers on. */
export class UdpPeer implements Disposable {
  /** The socket. */
  readonly socket: Deno.DatagramConn;

  /** Binds a socket to a free port on 127.0.0.1. */
  constructor() {
    this.socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  }

  /** This socket's port. */
  get port(): number {
    return (this.socket.addr as Deno.NetAddr).port;
  }

  /** Sends `data` (a string as UTF-8) in one datagram to 127.0.0.1:`port`. */
  async send(port: number, data: string | Uint8Array): Promise<void> {
    const payload = typeof data === "string" ? encoder.encode(data) : data;
    await this.socket.send(payload, { transport: "udp", hostname: "127.0.0.1", port });
  }

  /** The next datagram to arrive, with its sender's port; a wait bounded by `within()`. */
  async receive(): Promise<{ text: string; bytes: Uint8Array; from: number }> {
    const [bytes, from] = await within("a datagram", this.socket.receive());
    return { text: decoder.decode(bytes), bytes, from: (from as Deno.NetAddr).port };
  }

  /** Sends `data` to `port` and returns the text of the next datagram. */
  async exchange(port: number, data: string | Uint8Array): Promise<string> {
    await this.send(port, data);
    return (await this.receive()).text;
  }

  /** Closes the socket. */
  [Symbol.dispose](): void {
    closeQuietly(this.socket);
  }
}

/**
 * A stand-in UDP server on 127.0.0.1, port 0: `answer` gets each datagram
 * and its number (from 1) and returns the text (or bytes) to send back, a
 * list of them to send as that many datagrams, or `undefined` to drop it.
 * `received()` counts the datagrams so far.
 */
export function scriptedUdpServer(
  answer: (
    data: Uint8Array,
    n: number,
  ) => string | Uint8Array | readonly (string | Uint8Array)[] | undefined,
): AsyncDisposable & { port: number; received: () => number } {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  let received = 0;
  const serving = (async () => {
    try {
      for await (const [data, from] of socket) {
        const reply = answer(data, ++received);
        const replies = reply === undefined ? [] : Array.isArray(reply) ? reply : [reply];
        for (const one of replies as (string | Uint8Array)[]) {
          await socket.send(typeof one === "string" ? encoder.encode(one) : one, from);
        }
      }
    } catch {
      // The socket was closed by the dispose below.
    }
  })();
  return {
    port: (socket.addr as Deno.NetAddr).port,
    received: () => received,
    async [Symbol.asyncDispose]() {
      closeQuietly(socket);
      await serving;
    },
  };
}

/** A UDP flood from a thread of its own ({@linkcode startUdpFlood}). */
export interface UdpFlood extends AsyncDisposable {
  /** Settles once the server has answered one of the flood's datagrams. */
  readonly answered: Promise<void>;
  /** Ends the flood and waits for its socket to close. */
  stop(): Promise<void>;
}

// The Worker of startUdpFlood, as source: a module from a data: URL needs no
// --allow-read. Message in: the port on 127.0.0.1, the datagram, and a shared
// flag that ends the flood once set. Out: "answered" once the server has
// answered one datagram (the flood is under way; the answers to the rest are
// left unread, for the kernel to drop), "stopped" once the socket is closed.
// It gives up on its own after 20 s, should the test never stop it.
const FLOOD_WORKER = `
self.onmessage = async ({ data: { port, payload, stop } }) => {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const to = { transport: "udp", hostname: "127.0.0.1", port };
  try {
    await socket.send(payload, to);
    await socket.receive();
    self.postMessage("answered");
    const until = performance.now() + 20000;
    while (Atomics.load(stop, 0) === 0 && performance.now() < until) await socket.send(payload, to);
  } finally {
    socket.close();
    self.postMessage("stopped");
  }
};
`;

/**
 * Sends `payload` to 127.0.0.1:`port` again and again, as fast as a Worker
 * can, until stopped (20 s at most): a flood that goes on however busy the
 * test's own thread is, as one from another process would.
 */
export function startUdpFlood(port: number, payload: string | Uint8Array): UdpFlood {
  const source = `data:application/javascript,${encodeURIComponent(FLOOD_WORKER)}`;
  const worker = new Worker(source, { type: "module" });
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const answered = Promise.withResolvers<void>();
  const stopped = Promise.withResolvers<void>();
  worker.onmessage = (event: MessageEvent<string>) => {
    if (event.data === "answered") answered.resolve();
    else if (event.data === "stopped") stopped.resolve();
  };
  worker.onerror = (event) => {
    event.preventDefault();
    const error = new Error(`the UDP flood's worker failed: ${event.message}`);
    answered.reject(error);
    stopped.reject(error);
  };
  answered.promise.catch(() => {}); // A test that never waits for it hears of it from stop().
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  worker.postMessage({ port, payload: bytes, stop });
  let stopping: Promise<void> | undefined;
  const stopFlood = () =>
    stopping ??= (async () => {
      Atomics.store(stop, 0, 1);
      try {
        await within("the UDP flood's end", stopped.promise);
      } finally {
        worker.terminate();
      }
    })();
  return { answered: answered.promise, stop: stopFlood, [Symbol.asyncDispose]: stopFlood };
}

/**
 * Windows' UDP, on this machine: until disposed, every socket that
 * `Deno.listenDatagram` binds (a real one, on the address asked) reports an
 * ICMP "port unreachable" as Winsock does. A datagram sent to a port in
 * `closed` fails the socket's next `receive()` (or the one waiting) with
 * `ConnectionReset`, Winsock's WSAECONNRESET (10054), once per such send;
 * the receive after it works. Linux reports nothing of the kind on a socket
 * that was never connected, so a test marks in `closed` the ports that
 * Windows would find closed.
 */
export function emulateWindowsIcmp(closed: Set<number>): Disposable {
  return wrapDatagrams((socket) => new IcmpReportingSocket(socket, closed));
}

/**
 * Until disposed, every `Deno.listenDatagram()` returns `wrap` of the real
 * socket: how a test gives loopback sockets another system's behaviour.
 */
function wrapDatagrams(wrap: (socket: Deno.DatagramConn) => Deno.DatagramConn): Disposable {
  const listen = Deno.listenDatagram;
  const listenUdp = listen as (
    options: Deno.UdpListenOptions & { transport: "udp" },
  ) => Deno.DatagramConn;
  Deno.listenDatagram =
    ((options: Deno.UdpListenOptions & { transport: "udp" }) =>
      wrap(listenUdp(options))) as unknown as typeof Deno.listenDatagram;
  return {
    [Symbol.dispose]() {
      Deno.listenDatagram = listen;
    },
  };
}

/** What a Windows socket's `recvfrom()` throws after an ICMP port unreachable. */
function windowsConnReset(): Deno.errors.ConnectionReset {
  return new Deno.errors.ConnectionReset(
    "An existing connection was forcibly closed by the remote host. (os error 10054)",
  );
}

/** A real datagram socket whose receives fail as Winsock's do ({@linkcode emulateWindowsIcmp}). */
class IcmpReportingSocket implements Deno.DatagramConn {
  readonly #inner: Deno.DatagramConn;
  readonly #closed: Set<number>;
  // ICMP errors not yet reported, and the receive waiting that one would fail.
  #errors = 0;
  #wake: (() => void) | undefined;
  // The real socket's receive under way: kept across a receive that an error ended.
  #pending: Promise<[Uint8Array<ArrayBuffer>, Deno.Addr]> | undefined;

  constructor(inner: Deno.DatagramConn, closed: Set<number>) {
    this.#inner = inner;
    this.#closed = closed;
  }

  get addr(): Deno.Addr {
    return this.#inner.addr;
  }

  async send(p: Uint8Array, addr: Deno.Addr): Promise<number> {
    const sent = await this.#inner.send(p, addr);
    if (this.#closed.has((addr as Deno.NetAddr).port)) {
      this.#errors++;
      this.#wake?.();
    }
    return sent;
  }

  async receive(p?: Uint8Array): Promise<[Uint8Array<ArrayBuffer>, Deno.Addr]> {
    if (this.#errors === 0) {
      const pending = this.#pending ??= this.#inner.receive(p);
      pending.catch(() => {}); // Closed while an error ended the receive: no one asks any more.
      const woken = new Promise<"icmp">((resolve) => this.#wake = () => resolve("icmp"));
      const first = await Promise.race([pending, woken]);
      this.#wake = undefined;
      if (first !== "icmp") {
        this.#pending = undefined;
        return first;
      }
    }
    this.#errors--;
    throw windowsConnReset();
  }

  close(): void {
    this.#inner.close();
  }

  joinMulticastV4(address: string, networkInterface: string): Promise<Deno.MulticastV4Membership> {
    return this.#inner.joinMulticastV4(address, networkInterface);
  }

  joinMulticastV6(address: string, networkInterface: number): Promise<Deno.MulticastV6Membership> {
    return this.#inner.joinMulticastV6(address, networkInterface);
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<[Uint8Array<ArrayBuffer>, Deno.Addr]> {
    while (true) {
      try {
        yield await this.receive();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return;
        throw error;
      }
    }
  }
}

/** macOS's default `net.inet.udp.maxdgram`: the longest datagram its `sendto()` takes. */
const MACOS_MAXDGRAM = 9_216;

/**
 * macOS's UDP, on this machine: until disposed, every socket that
 * `Deno.listenDatagram` binds (a real one, on the address asked) refuses to
 * send a datagram longer than `limit` bytes as macOS's does past its
 * `net.inet.udp.maxdgram` (9,216 by default), even on loopback:
 * `sendto()` fails with EMSGSIZE, which Deno throws as an `Error` whose
 * `code` is `"EMSGSIZE"` ({@linkcode messageTooLong}). Linux takes up to
 * 65,507 bytes, so a test sets the lower limit here.
 */
export function emulateMacosMaxdgram(limit = MACOS_MAXDGRAM): Disposable {
  return wrapDatagrams((socket) => new MaxdgramSocket(socket, limit));
}

/** What macOS's `sendto()` throws, through Deno, for a datagram past `net.inet.udp.maxdgram`. */
function messageTooLong(): Error {
  // EMSGSIZE is 40 on macOS (90 on Linux); Deno names the errno in `code`.
  return Object.assign(new Error("Message too long (os error 40)"), { code: "EMSGSIZE" });
}

/** A real datagram socket whose sends fail as macOS's do past a size ({@linkcode emulateMacosMaxdgram}). */
class MaxdgramSocket implements Deno.DatagramConn {
  readonly #inner: Deno.DatagramConn;
  readonly #limit: number;

  constructor(inner: Deno.DatagramConn, limit: number) {
    this.#inner = inner;
    this.#limit = limit;
  }

  get addr(): Deno.Addr {
    return this.#inner.addr;
  }

  send(p: Uint8Array, addr: Deno.Addr): Promise<number> {
    if (p.length > this.#limit) return Promise.reject(messageTooLong());
    return this.#inner.send(p, addr);
  }

  receive(p?: Uint8Array): Promise<[Uint8Array<ArrayBuffer>, Deno.Addr]> {
    return this.#inner.receive(p);
  }

  close(): void {
    this.#inner.close();
  }

  joinMulticastV4(address: string, networkInterface: string): Promise<Deno.MulticastV4Membership> {
    return this.#inner.joinMulticastV4(address, networkInterface);
  }

  joinMulticastV6(address: string, networkInterface: number): Promise<Deno.MulticastV6Membership> {
    return this.#inner.joinMulticastV6(address, networkInterface);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<[Uint8Array<ArrayBuffer>, Deno.Addr]> {
    return this.#inner[Symbol.asyncIterator]();
  }
}
