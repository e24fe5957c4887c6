/**
 * {@linkcode DatagramServer}: kv over UDP (PROTOCOL.md, "Datagrams
 * (`--udp`)"). One datagram in, holding one or more request lines; one
 * datagram back to its sender with every answer, in order. The same framer,
 * command table and store as TCP; none of TCP's connection rules (no accept,
 * no close, no unframed pause, no idle timeout, no connection limit).
 *
 * @module
 */

import { type Context, type Guard, newSession, type ServerStats } from "../command/command.ts";
import { Request } from "../command/request.ts";
import { executeAtOneTime } from "../command/execute.ts";
import type { Watches } from "../command/watch.ts";
import { formatAddr } from "../net/addr.ts";
import {
  afterIo,
  describeError,
  isMessageTooLong,
  isPortUnreachable,
  nextTurn,
} from "../net/conn.ts";
import { isLoopback } from "./listen.ts";
import type { Tracer } from "../net/trace.ts";
import type { Clock } from "../store/clock.ts";
import type { Store } from "../store/store.ts";
import { AnswerBuffer } from "../wire/answer_buffer.ts";
import { LineFramer } from "../wire/line/framer.ts";
import { ERROR_PREFIX, LineReply, tooLargeForDatagram } from "../wire/line/reply.ts";
import { WriteAnswers } from "./durable.ts";
import type { Logger } from "../net/log.ts";
import { DatagramTrace } from "./trace.ts";

/**
 * The largest UDP payload over IPv4 (65,535 minus the IP and UDP headers):
 * PROTOCOL.md's limit for one answer datagram.
 */
export const MAX_DATAGRAM_BYTES = 65_507;

// Big enough for any datagram (IPv6's largest payload is 65,527 bytes):
// a datagram longer than the buffer would be cut short without a word.
const RECEIVE_BYTES = 64 * 1024;
// After a receive error that is not the socket closing, wait before the next
// receive instead of spinning.
const ERROR_PAUSE_MS = 10;

/** What a {@linkcode DatagramServer} serves, and with what. */
export interface DatagramServerOptions {
  /** The store TCP connections share too. */
  readonly store: Store;
  /** The store's clock. */
  readonly clock: Clock;
  /** The longest request line, as for TCP. */
  readonly maxLineBytes: number;
  /** Where log lines go. */
  readonly log: Logger;
  /** Log every datagram at `debug` level. */
  readonly verbose: boolean;
  /** Receives every socket event (`--trace`); `undefined`: off. */
  readonly trace?: Tracer;
  /** The server's figures, shared with TCP (INFO counts datagrams' commands too). */
  readonly stats: ServerStats;
  /** Authentication: never a password with UDP (PROTOCOL.md, Datagrams), so every datagram may run. */
  readonly guard: Guard;
  /** The keys Redis clients WATCH (a datagram's PUT changes them too). */
  readonly watches: Watches;
  /** The server's ticker, which counts up only while the event loop turns (ServerSide.turns). */
  readonly turns: { readonly count: number };
}

/** Answers kv requests arriving as UDP datagrams on one socket. */
export class DatagramServer {
  /** The address the socket is bound to. */
  readonly addr: Deno.NetAddr;
  /** Settles once the socket is closed and the last datagram handled. */
  readonly finished: Promise<void>;
  readonly #socket: Deno.DatagramConn;
  readonly #options: DatagramServerOptions;
  // One set of framing and answering state, reused for every datagram: a
  // datagram is framed and answered completely before the next is read.
  readonly #framer: LineFramer;
  readonly #request = new Request();
  readonly #out = new AnswerBuffer(MAX_DATAGRAM_BYTES + 1);
  readonly #reply = new LineReply(this.#out);
  readonly #local: string;
  // With a durable store: the datagram's write answers, held until it commits.
  readonly #writes: WriteAnswers | undefined;
  #closed = false;
  #count = 0;
  // Whether the log has said that the system sends shorter datagrams than the contract's.
  #saidMaxdgram = false;
  // The last datagram's trace: an ICMP error that a later receive reports is most likely its.
  #lastTrace: DatagramTrace | undefined;
  // ServerSide.turns as last seen, and when it was seen to change (#letOthersRun).
  #seenTurn = -1;
  #seenAt = 0;

  /** Serves `socket` (from `Deno.listenDatagram`) until {@linkcode DatagramServer.close}. */
  constructor(socket: Deno.DatagramConn, options: DatagramServerOptions) {
    this.#socket = socket;
    this.addr = socket.addr as Deno.NetAddr;
    this.#options = options;
    this.#framer = new LineFramer(options.maxLineBytes);
    this.#local = formatAddr(this.addr);
    this.#writes = options.store.commit === undefined
      ? undefined
      : new WriteAnswers(options.store, this.#out, this.#reply);
    // What the framer and the answers borrowed goes back to the pool once nothing uses it (not
    // in close(): a send in flight still reads the answer, a LIST's walk may still write it).
    this.finished = this.#run().finally(() => {
      this.#framer.close();
      this.#out.clear();
      this.#out.release();
    });
  }

  /** Closes the socket: the receive in progress ends, and so does the server. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }

  async #run(): Promise<void> {
    const buffer = new Uint8Array(RECEIVE_BYTES);
    while (!this.#closed) {
      await this.#letOthersRun();
      let data: Uint8Array;
      let from: Deno.Addr;
      try {
        [data, from] = await this.#socket.receive(buffer);
      } catch (error) {
        if (this.#closed) return;
        if (isPortUnreachable(error)) {
          // Windows: an answer sent earlier found its client's port closed (a client that
          // gave up, or a resend's second answer), and the ICMP "port unreachable" that came
          // back fails this receive. Nothing is wrong with the socket: the next receive works.
          this.#unreachable();
          continue;
        }
        this.#options.log("error", `udp receive failed: ${describeError(error)}`);
        await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
        continue;
      }
      const number = ++this.#count;
      const trace = this.#options.trace === undefined
        ? undefined
        : new DatagramTrace(this.#options.trace, number);
      if (trace !== undefined) trace.recvfrom(data, from);
      this.#lastTrace = trace;
      const dropped = whyNotAnswer(data, from as Deno.NetAddr, this.addr);
      if (dropped !== undefined) {
        if (this.#options.verbose) {
          this.#options.log(
            "debug",
            `d${number} from ${formatAddr(from)}: not answered, ${dropped}`,
          );
        }
        if (trace !== undefined) trace.emit("drop", `(not answered: ${dropped})`);
        continue;
      }
      let answer = await this.#answer(data, this.#contextFor(number, from), trace);
      // PROTOCOL.md, Durability: the answer goes out once the changes are durable.
      const committed = this.#writes?.commit();
      if (committed !== undefined) {
        await committed;
        answer = this.#out.bytes();
      }
      if (this.#options.verbose) {
        this.#options.log(
          "debug",
          `d${number} from ${formatAddr(from)}: ${data.length} bytes in, ${answer.length} out`,
        );
      }
      if (answer.length === 0) {
        if (trace !== undefined) trace.silent(data.length === 0);
        continue;
      }
      try {
        const sent = await this.#socket.send(answer, from);
        if (trace !== undefined) trace.sendto(sent, from);
      } catch (error) {
        if (this.#closed) return;
        if (isMessageTooLong(error) && answer.length > MIN_REFUSED_BYTES) {
          // The system sends no datagram this long (macOS: past net.inet.udp.maxdgram,
          // 9,216 bytes by default), though it fits the contract's 65,507. Said as an answer
          // the contract has, so the client hears why at once rather than waiting out its tries.
          await this.#sendTooLarge(answer.length, from, trace);
          continue;
        }
        // The sender is out of reach; UDP promises it nothing, and nor do we.
        if (this.#options.verbose) {
          this.#options.log("debug", `d${number} send failed: ${describeError(error)}`);
        }
      }
    }
  }

  /**
   * Sends the too-large error line in place of an answer of `bytes` that
   * the system refused to send in one datagram (EMSGSIZE), and says once,
   * at info level, why and how to raise the limit.
   */
  async #sendTooLarge(
    bytes: number,
    to: Deno.Addr,
    trace: DatagramTrace | undefined,
  ): Promise<void> {
    if (!this.#saidMaxdgram) {
      this.#saidMaxdgram = true;
      this.#options.log(
        "info",
        `udp: this system refused to send an answer of ${bytes} bytes in one datagram ` +
          "(EMSGSIZE); such answers get the 'answer too large for a datagram' line. On macOS " +
          "the limit is net.inet.udp.maxdgram (9216 bytes by default): " +
          "sudo sysctl -w net.inet.udp.maxdgram=65535 raises it until the next restart",
      );
    }
    if (trace !== undefined) trace.tooLarge(bytes, "the system sends no datagram this long");
    const line = new TextEncoder().encode(tooLargeForDatagram(bytes));
    try {
      const sent = await this.#socket.send(line, to);
      if (trace !== undefined) trace.sendto(sent, to);
    } catch (error) {
      if (this.#closed) return;
      if (this.#options.verbose) {
        this.#options.log(
          "debug",
          `udp send of the too-large line failed: ${describeError(error)}`,
        );
      }
    }
  }

  /**
   * Says, when asked to (`verbose`, `trace`), that an ICMP "port
   * unreachable" came back for an answer: UDP's everyday loss, not an error.
   */
  #unreachable(): void {
    if (this.#options.verbose) {
      this.#options.log(
        "debug",
        "udp: an answer sent earlier found no one (ICMP port unreachable: its client had " +
          "closed its socket; Windows reports it as the next receive's error 10054)",
      );
    }
    this.#lastTrace?.unreachable();
  }

  /**
   * Lets the event loop turn if it has not for a while. A receive with a
   * datagram already waiting, and a send, finish without turning it: under
   * a flood that outpaces the server, this loop would answer datagrams back
   * to back for as long as the flood lasts, and no TCP client would be read
   * or written meanwhile. The server's ticker (ServerSide.turns) counts up
   * only while the loop turns; once it has not for UNTURNED_MS, the others
   * get their turn, as a TCP connection's endless pipeline gives it
   * (server/connection.ts). A server that waited for its datagrams never
   * pauses here: the ticker counted meanwhile.
   */
  async #letOthersRun(): Promise<void> {
    const count = this.#options.turns.count;
    const now = performance.now();
    if (count !== this.#seenTurn) {
      this.#seenTurn = count;
      this.#seenAt = now;
    } else if (now - this.#seenAt >= UNTURNED_MS) {
      await nextTurn();
      this.#seenAt = performance.now();
    }
  }

  /**
   * What datagram number `n` from `from` runs with: a session of its own,
   * since nothing about a sender is kept from one datagram to the next.
   */
  #contextFor(n: number, from: Deno.Addr): Context {
    const { store, clock, stats, guard, watches } = this.#options;
    const session = newSession({
      id: n,
      peer: formatAddr(from),
      local: this.#local,
      createdAt: clock.now(),
      protocol: "line",
      authenticated: guard.password === undefined,
    });
    return { store, clock, session, stats, guard, watches };
  }

  /**
   * Frames and runs the requests of `data`, until their answer outgrows a
   * datagram, and returns the answer datagram's bytes (valid until the next
   * datagram). A last line without
   * `\n` is a request: the datagram's end ends it.
   */
  async #answer(
    data: Uint8Array,
    context: Context,
    trace: DatagramTrace | undefined,
  ): Promise<Uint8Array> {
    const framer = this.#framer;
    const request = this.#request;
    const out = this.#out;
    const reply = this.#reply;
    out.clear();
    // Bytes of answer counted and let go once past the limit: a LIST of a
    // big store is measured for its error line, never held whole.
    let dropped = 0;
    // Whether a LIST has walked the store for this datagram: one may. Over
    // a store of pairs the line protocol cannot show, each LIST answers just
    // "Not exist!", so a datagram of LISTs would walk the whole store
    // thousands of times before its answer outgrew it, holding the socket,
    // and every other UDP client with it, for as long as that takes.
    let walked = false;
    // QUIT's session.closing is never read here: with no connection to
    // close, its Bye! is all it does (PROTOCOL.md, Datagrams).
    framer.feed(data);
    framer.end();
    // Once the answer has outgrown a datagram, nothing more of it is run: it
    // could only be counted, and one 64 KB datagram of GETs of a 1 MB value,
    // or of LISTs of a big store, would hold the server for seconds to minutes.
    while (dropped + out.length <= MAX_DATAGRAM_BYTES && framer.next(request)) {
      if (trace !== undefined) trace.framed(request, undefined);
      let mark = out.length;
      const droppedBefore = dropped;
      let more = executeAtOneTime(request, context, reply);
      if (this.#writes !== undefined && request.command?.writes) this.#writes.add(mark, out.length);
      if (more !== undefined && walked) {
        // A second walk of the store in the same datagram: refused, not walked.
        more = undefined;
        out.addText(ONE_LIST_PER_DATAGRAM);
      } else if (more !== undefined) {
        walked = true;
        let steps = 0;
        while (!more.step(reply)) {
          if (out.length > MAX_DATAGRAM_BYTES) {
            dropped += out.length;
            out.clear();
            this.#writes?.clear(); // Their answers are gone: the datagram will be the too-large line.
            break; // Too large already: the rest of the LIST is not walked.
          }
          // A walk that writes little (values the line protocol cannot
          // show) lets the other clients be served as it goes; the changes
          // before it are committed first (Store.commit: no await between).
          if (++steps % STEPS_PER_TURN === 0) {
            if (this.#writes?.waiting) {
              // A failed commit puts errors in place of earlier answers: the LIST's start moves.
              const before = out.length;
              await this.#writes.commit();
              mark += out.length - before;
            }
            await afterIo();
            // Closed meanwhile (a shutdown): the answer could reach nobody, and the rest of
            // the walk would hold the shutdown for as long as it takes. Its writes are durable.
            if (this.#closed) {
              while (framer.next(request));
              out.clear();
              return out.bytes();
            }
          }
        }
      }
      if (trace !== undefined) {
        // A LIST that passed the limit was let go as it grew: its size is counted.
        const from = dropped > droppedBefore ? 0 : mark;
        const size = dropped - droppedBefore + out.length - from;
        trace.answer(out.bytes(), from, false, size);
      }
      if (out.length > MAX_DATAGRAM_BYTES) {
        dropped += out.length;
        out.clear();
        this.#writes?.clear();
      }
    }
    while (framer.next(request)); // The requests left unrun: framed and let go.
    const total = dropped + out.length;
    if (total > MAX_DATAGRAM_BYTES) {
      if (trace !== undefined) trace.tooLarge(total);
      // The datagram is the too-large error line: no write's answer to replace.
      this.#writes?.clear();
      out.clear();
      out.addText(tooLargeForDatagram(total));
    }
    return out.bytes();
  }
}

// An answer the system refused (EMSGSIZE) is replaced by the too-large line only if longer
// than that line can be: the line is refused too otherwise (no system's limit is this low).
const MIN_REFUSED_BYTES = 512;
const ERROR_BYTES = new TextEncoder().encode(ERROR_PREFIX);
// The answer to a LIST after the first of a datagram (README, "Where the contract leaves room").
const ONE_LIST_PER_DATAGRAM = `${ERROR_PREFIX}one LIST per datagram (send it alone, or use TCP)\n`;
// A LIST's walk lets the I/O callbacks run every so many steps (64 slots a step).
const STEPS_PER_TURN = 16;
// Datagrams answered back to back this long, the event loop never turning
// (ServerSide.turns did not count up), let it turn: the ticker's period.
const UNTURNED_MS = 10;

/**
 * Why a datagram gets no answer, or `undefined` to answer it. A sender's
 * address can be forged, so two datagrams are left unanswered, which no
 * client sends: one "from" this server's own address (answering it would
 * send the answer to itself, for ever), and one that is an error answer
 * (starts `Error: `): two servers would otherwise answer each other's
 * errors with errors, for ever, after one forged datagram.
 */
export function whyNotAnswer(
  data: Uint8Array,
  from: Deno.NetAddr,
  local: Deno.NetAddr,
): string | undefined {
  if (
    from.port === local.port &&
    (from.hostname === local.hostname ||
      (isWildcard(local.hostname) && isLoopback(from.hostname)))
  ) {
    return "it claims to come from this server's own address";
  }
  if (data.length >= ERROR_BYTES.length && ERROR_BYTES.every((byte, i) => data[i] === byte)) {
    return "it is an error answer, not a request";
  }
  return undefined;
}

function isWildcard(hostname: string): boolean {
  return hostname === "0.0.0.0" || hostname === "::" || hostname === "[::]";
}
