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
 * and its number (from 1) and returns the text (or bytes) to send back, or
 * `undefined` to drop it. `received()` counts the datagrams so far.
 */
export function scriptedUdpServer(
  answer: (data: Uint8Array, n: number) => string | Uint8Array | undefined,
): AsyncDisposable & { port: number; received: () => number } {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  let received = 0;
  const serving = (async () => {
    try {
      for await (const [data, from] of socket) {
        const reply = answer(data, ++received);
        if (reply !== undefined) {
          await socket.send(typeof reply === "string" ? encoder.encode(reply) : reply, from);
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
