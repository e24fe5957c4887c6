/**
 * {@linkcode DatagramProbe}: the checker's client over UDP (`kv check
 * --udp`), with the reads of a TCP `Probe` (`probe.ts`), so that the same
 * rules and the same ways of checking an answer (`expect_framed.ts`,
 * `expect_textbook.ts`) run over datagrams; `udp_transport.ts` opens it and
 * says what differs. As a textbook UDP client does, each request is sent in
 * one datagram (`sendto()`) and its answer is the one datagram that comes
 * back (`recvfrom()`): the reads see that datagram's bytes, then an end, as
 * if the server had closed a connection after them. No answer within the
 * timeout sends the request again, a few times (UDP may lose either
 * datagram), as `kv client --udp` does (`client/udp.ts`).
 *
 * @module
 */

import { ipv4Localhost } from "../net/addr.ts";
import { equalBytes } from "../net/bytes.ts";
import {
  isOutOfDescriptors,
  isPortUnreachable,
  requireDatagrams,
  settlesWithin,
} from "../net/conn.ts";
import { localFor } from "../client/udp.ts";
import { CheckerOutOfDescriptors } from "./context.ts";
import type { LineRead, QuietRead } from "./probe.ts";
import type { AnswerSource } from "./transport.ts";

const LF = 0x0a;
// Any datagram fits (IPv6's largest payload is 65,527 bytes).
const RECEIVE_BYTES = 64 * 1024;

/** Where a {@linkcode DatagramProbe} sends, and how long it waits for each answer. */
export interface DatagramOptions {
  readonly hostname: string;
  readonly port: number;
  /** How long to wait for an answer before sending again. */
  readonly timeoutMs: number;
  /** How many times to send again. */
  readonly retries: number;
}

/**
 * A UDP client of the server under test. Each {@linkcode DatagramProbe.write}
 * is one request datagram, sent from a fresh socket (a late answer to an
 * earlier request goes to a port nobody reads, not into this one's answer).
 */
export class DatagramProbe implements AnswerSource {
  readonly #options: DatagramOptions;
  readonly #server: Deno.NetAddr;
  readonly #buffer = new Uint8Array(RECEIVE_BYTES);
  #socket: Deno.DatagramConn | undefined;
  #receiving: Promise<[Uint8Array, Deno.Addr] | Error> | undefined;
  #request: Uint8Array | undefined;
  // The answer datagram's bytes not yet read; undefined until it came.
  #answer: Uint8Array | undefined;
  // The whole answer datagram, and how many copies of it may still come:
  // the answers to the sends before the one answered (a late answer).
  #whole: Uint8Array | undefined;
  #echoes = 0;
  #received = 0;
  #tries = 0;
  #mostTries = 0;
  #sendError: unknown;
  #unreachable = false;

  constructor(options: DatagramOptions) {
    requireDatagrams();
    this.#options = options;
    this.#server = {
      transport: "udp",
      hostname: ipv4Localhost(options.hostname),
      port: options.port,
    };
  }

  /** A TCP probe's half-close: UDP has none. */
  readonly halfClosed = false;

  /** How many bytes the server has sent so far, in every answer. */
  get received(): number {
    return this.#received;
  }

  /** How many sends the answer to the last request took (0 before one came). */
  get tries(): number {
    return this.#tries;
  }

  /** The most sends any answer took: above 1, a datagram was lost or late. */
  get mostTries(): number {
    return this.#mostTries;
  }

  /**
   * Whether the server's host answered this exchange's request with an ICMP
   * "port unreachable": nothing listens there (any more). Only Windows tells
   * a UDP socket so (WSAECONNRESET on the receive); then no resend is made.
   */
  get unreachable(): boolean {
    return this.#unreachable;
  }

  /** Why the last send failed (`write()` said `"closed"`). */
  get sendError(): unknown {
    return this.#sendError;
  }

  /** A TCP probe's half-close: UDP has no connection to shut down, so nothing happens. */
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Sends `bytes` in one datagram, from a fresh socket: a new exchange.
   * Throws {@linkcode CheckerOutOfDescriptors} if that socket cannot be
   * made for want of file descriptors: over UDP, this is where a rule's
   * exchange is opened (`openProbe()` in context.ts says so over TCP).
   */
  async write(bytes: Uint8Array, _timeoutMs?: number): Promise<"ok" | "closed"> {
    await this.close();
    try {
      this.#socket = Deno.listenDatagram({
        hostname: localFor(this.#server.hostname),
        port: 0,
        transport: "udp",
      });
    } catch (error) {
      if (isOutOfDescriptors(error)) throw new CheckerOutOfDescriptors(error);
      throw error;
    }
    this.#request = bytes;
    this.#answer = undefined;
    this.#whole = undefined;
    this.#echoes = 0;
    this.#tries = 1;
    this.#unreachable = false;
    try {
      await this.#socket.send(bytes, this.#server);
      return "ok";
    } catch (error) {
      this.#sendError = error; // Too long for a datagram (EMSGSIZE), say.
      return "closed";
    }
  }

  /**
   * A line of the answer datagram, up to and including its `\n`; `"eof"`
   * where the datagram ends without one (with what is left of it),
   * `"timeout"` when no answer came after every try, `"too-much"` past
   * `maxBytes` with no `\n`.
   */
  async readLine(_timeoutMs: number, _pauseMs: number, maxBytes?: number): Promise<LineRead> {
    const answer = await this.#answerDatagram();
    if (answer === undefined) return { kind: "timeout", got: new Uint8Array(0) };
    const nl = answer.indexOf(LF);
    if (nl !== -1 && (maxBytes === undefined || nl <= maxBytes)) {
      return { kind: "line", raw: this.#take(nl + 1) };
    }
    const got = this.#take(answer.length);
    return { kind: maxBytes !== undefined && got.length > maxBytes ? "too-much" : "eof", got };
  }

  /** The whole answer datagram (a textbook answer), or why none came. */
  async readQuiet(
    _timeoutMs: number,
    _pauseMs: number,
    _done: (bytes: Uint8Array) => boolean,
    { maxBytes, wrong }: { maxBytes?: number; wrong?: (bytes: Uint8Array) => boolean } = {},
  ): Promise<QuietRead> {
    const answer = await this.#answerDatagram();
    if (answer === undefined) return { kind: "timeout", got: new Uint8Array(0) };
    const got = this.#take(answer.length);
    if (got.length === 0) return { kind: "eof", got };
    if (maxBytes !== undefined && got.length > maxBytes) return { kind: "too-much", got };
    if (wrong?.(got)) return { kind: "stopped", got };
    return { kind: "answer", got };
  }

  /** What is left of the answer datagram, or `"eof"` if nothing is, or `"timeout"`. */
  async readEnd(_ms: number): Promise<"eof" | "timeout" | Uint8Array> {
    const answer = await this.#answerDatagram();
    if (answer === undefined) return "timeout";
    return answer.length === 0 ? "eof" : this.#take(answer.length);
  }

  /** Waits `ms` for a datagram; returns its bytes (empty if none came). */
  async silence(ms: number): Promise<Uint8Array> {
    if (this.#answer !== undefined) return this.#take(this.#answer.length);
    const got = await this.#receive(ms);
    return got ?? new Uint8Array(0);
  }

  /**
   * Waits up to `ms` for one more datagram after the answer: how many bytes
   * it held, or 0 if none came. An answer in two datagrams or more is no
   * answer of the contract's. A copy of the answer, when the request was
   * sent more than once, is no second datagram: it answers a resend (the
   * first answer was late, not lost).
   */
  async another(ms: number): Promise<number> {
    const deadline = Date.now() + ms;
    while (true) {
      const got = await this.#receive(deadline - Date.now());
      if (got === undefined) return 0;
      if (
        this.#echoes > 0 && this.#whole !== undefined && equalBytes(got, 0, got.length, this.#whole)
      ) {
        this.#echoes--;
        continue;
      }
      return got.length;
    }
  }

  /** Closes the exchange's socket, and waits for its pending receive to end. */
  async close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket === undefined) return;
    try {
      socket.close();
    } catch {
      // Closed already.
    }
    await this.#receiving;
    this.#receiving = undefined;
  }

  /** The answer's bytes left, once it came (sending again as the tries allow); undefined if none. */
  async #answerDatagram(): Promise<Uint8Array | undefined> {
    if (this.#answer !== undefined) return this.#answer;
    if (this.#socket === undefined || this.#request === undefined) return undefined;
    const tries = 1 + this.#options.retries;
    while (true) {
      const got = await this.#receive(this.#options.timeoutMs);
      if (got !== undefined) {
        this.#answer = got;
        this.#whole = got;
        this.#echoes = this.#tries - 1;
        this.#mostTries = Math.max(this.#mostTries, this.#tries);
        return got;
      }
      if (this.#tries >= tries || this.#socket === undefined || this.#unreachable) return undefined;
      this.#tries++;
      try {
        await this.#socket.send(this.#request, this.#server);
      } catch {
        // The next wait runs out as well.
      }
    }
  }

  /** The next datagram from the server within `ms` (others are ignored), or undefined. */
  async #receive(ms: number): Promise<Uint8Array | undefined> {
    const deadline = Date.now() + ms;
    while (this.#socket !== undefined) {
      this.#receiving ??= this.#socket.receive(this.#buffer).catch((error: unknown) =>
        error instanceof Error ? error : new Error(String(error))
      );
      const left = deadline - Date.now();
      if (left <= 0 || !await settlesWithin(this.#receiving, left)) return undefined;
      const result = await this.#receiving;
      this.#receiving = undefined;
      if (result instanceof Error) {
        // Closed, or (Windows) an ICMP port unreachable: nothing came, nor will.
        if (isPortUnreachable(result)) this.#unreachable = true;
        return undefined;
      }
      const [data, from] = result;
      if ((from as Deno.NetAddr).port !== this.#server.port) continue;
      this.#received += data.length;
      return data.slice();
    }
    return undefined;
  }

  #take(count: number): Uint8Array {
    const answer = this.#answer ?? new Uint8Array(0);
    this.#answer = answer.subarray(count);
    return answer.slice(0, count);
  }
}
