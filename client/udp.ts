/**
 * {@linkcode udpRequest}: one exchange with `kv serve --udp` (PROTOCOL.md,
 * "Datagrams"). sendto() one datagram, recvfrom() the answer; if none comes
 * within the timeout, send again, a few times, then give up: UDP promises no
 * delivery, so only waiting and retrying can tell a lost datagram from a
 * slow one, and even they cannot tell which of the two datagrams was lost.
 *
 * @module
 */

import { formatAddr, ipv4Localhost } from "../net/addr.ts";
import { isPortUnreachable, requireDatagrams, setRunningTimeout } from "../net/conn.ts";
import { preview, type TraceEvent, type Tracer } from "../net/trace.ts";
import { KvNoAnswerError } from "./errors.ts";
import { checkNumbers } from "./options.ts";

/** Options of {@linkcode udpRequest}. */
export interface UdpRequestOptions {
  /** The server's address. @default {"127.0.0.1"} */
  hostname?: string;
  /** The server's port. @default {12000} */
  port?: number;
  /** How long to wait for each answer before sending again. @default {1000} */
  timeoutMs?: number;
  /** How many times to send again after a wait with no answer. @default {2} */
  retries?: number;
  /** Receives the socket's events: bind, sendto, recvfrom, timeout, retry, give-up, unreachable, close. @default {undefined} */
  trace?: Tracer;
  /** Stops the request: its socket closes, and it rejects with the signal's reason. @default {undefined} */
  signal?: AbortSignal;
}

/** Defaults of {@linkcode UdpRequestOptions}. */
export const UDP_CLIENT_DEFAULTS = {
  hostname: "127.0.0.1",
  port: 12000,
  timeoutMs: 1_000,
  retries: 2,
} as const;

/** The answer datagram, and which send it answered. */
export interface UdpAnswer {
  /** The datagram's bytes: every answer line, each ending in `\n`. */
  readonly bytes: Uint8Array;
  /** How many times the request was sent: 1 unless an answer was lost or late. */
  readonly tries: number;
}

const encoder = new TextEncoder();
// Any datagram fits (IPv6's largest payload is 65,527 bytes).
const RECEIVE_BYTES = 64 * 1024;

/**
 * Sends `payload` (one or more request lines) to a kv server in one
 * datagram and returns the answer datagram. Needs Deno's `--unstable-net`
 * (or `"unstable": ["net"]` in your deno.json); without it, a `TypeError`
 * says so. Throws
 * {@linkcode KvNoAnswerError} when no answer comes after `1 + retries`
 * sends (at once, with `portUnreachable`, where the OS reports that nothing
 * listens there: Windows does), and `RangeError` for a `timeoutMs` (from 1) or `retries` (from 0)
 * that is not an integer. A resent request runs again on the server if only its answer was
 * lost: a PUT is the same again, a DELETE then answers `Not exist!`.
 */
export async function udpRequest(
  payload: string | Uint8Array,
  options?: UdpRequestOptions,
): Promise<UdpAnswer> {
  options ??= {};
  checkNumbers({ ...options }, { timeoutMs: 1, retries: 0 });
  const hostname = ipv4Localhost(options.hostname ?? UDP_CLIENT_DEFAULTS.hostname);
  const port = options.port ?? UDP_CLIENT_DEFAULTS.port;
  const timeoutMs = options.timeoutMs ?? UDP_CLIENT_DEFAULTS.timeoutMs;
  const tries = 1 + (options.retries ?? UDP_CLIENT_DEFAULTS.retries);
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  const server: Deno.NetAddr = { transport: "udp", hostname, port };
  const address = formatAddr(server);
  const startedAt = performance.now();
  const trace = options.trace;
  const emit = (event: string, detail: string) => {
    const traced: TraceEvent = { who: "client", ms: performance.now() - startedAt, event, detail };
    trace!(traced);
  };
  // A fresh socket per request: a late answer to an earlier request goes to
  // a port nobody reads any more, not into this request's answer.
  requireDatagrams();
  const socket = Deno.listenDatagram({ hostname: localFor(hostname), port: 0, transport: "udp" });
  const buffer = new Uint8Array(RECEIVE_BYTES);
  // One receive at a time, kept across tries: an answer to any send of this
  // request is the answer.
  let receiving: Promise<[Uint8Array, Deno.Addr]> | undefined;
  try {
    if (trace !== undefined) {
      emit(
        "bind",
        `local=${
          formatAddr(socket.addr)
        } (socket, bind to a port the OS picks: no connect, no handshake)`,
      );
    }
    for (let attempt = 1; attempt <= tries; attempt++) {
      options.signal?.throwIfAborted();
      if (attempt > 1 && trace !== undefined) emit("retry", `try=${attempt}/${tries}`);
      const sent = await socket.send(bytes, server);
      if (trace !== undefined) {
        emit("sendto", `bytes=${sent} peer=${address} ${preview(bytes, 0, bytes.length)}`);
      }
      const deadline = Date.now() + timeoutMs;
      while (true) {
        receiving ??= socket.receive(buffer);
        let got: [Uint8Array, Deno.Addr] | undefined;
        try {
          got = await within(receiving, deadline - Date.now(), options.signal);
        } catch (error) {
          if (!isPortUnreachable(error)) throw error;
          // Windows: the host answered a send with ICMP "port unreachable" (WSAECONNRESET on
          // this receive). The socket is this request's alone, so nothing listens at `address`.
          receiving = undefined;
          if (trace !== undefined) {
            emit("unreachable", "(ICMP port unreachable: nothing listens on that port)");
          }
          throw new KvNoAnswerError(udpUnreachableMessage(address), attempt, true);
        }
        if (got === undefined) break;
        receiving = undefined;
        const [data, from] = got;
        if ((from as Deno.NetAddr).port !== port) {
          if (trace !== undefined) {
            emit(
              "recvfrom",
              `bytes=${data.length} peer=${formatAddr(from)} (not the server: ignored)`,
            );
          }
          continue;
        }
        if (trace !== undefined) {
          emit(
            "recvfrom",
            `bytes=${data.length} peer=${formatAddr(from)} ${preview(data, 0, data.length)}`,
          );
        }
        return { bytes: data.slice(), tries: attempt };
      }
      if (trace !== undefined) emit("timeout", `ms=${timeoutMs} (no answer yet)`);
    }
    if (trace !== undefined) emit("give-up", `tries=${tries}`);
    throw new KvNoAnswerError(udpNoAnswerMessage(address, tries, timeoutMs), tries);
  } finally {
    socket.close();
    // As the course's UDP client calls close(): but no FIN, nothing at all.
    if (trace !== undefined) emit("close", "(nothing is sent: UDP has no connection to end)");
    // The receive still waiting rejects once the socket is closed: expected.
    await receiving?.catch(() => {});
  }
}

/**
 * The message of {@linkcode KvNoAnswerError}: no answer from `address` after
 * `tries` sends, `timeoutMs` apart (kv check --udp says it too).
 */
export function udpNoAnswerMessage(address: string, tries: number, timeoutMs: number): string {
  return `no answer from ${address} over UDP after ${
    tries === 1 ? `1 try of ${timeoutMs} ms` : `${tries} tries of ${timeoutMs} ms each`
  }`;
}

/**
 * The message of {@linkcode KvNoAnswerError} when `address`'s host said
 * that nothing listens there (ICMP port unreachable, which Windows reports
 * to a UDP socket as error 10054; kv check --udp says it too).
 */
export function udpUnreachableMessage(address: string): string {
  return `no UDP server listens on ${address}: its host answered "port unreachable" ` +
    '(ICMP; Windows reports it as error 10054, "connection forcibly closed")';
}

/** The local address to send from: loopback for a loopback server, else any. */
export function localFor(hostname: string): string {
  if (hostname === "::1") return "::1";
  if (hostname.includes(":")) return "::";
  if (hostname.startsWith("127.")) return "127.0.0.1";
  return "0.0.0.0";
}

/**
 * What `promise` gives within `ms`, or `undefined` if the time runs out
 * first; rejects with `signal`'s reason if it aborts first. The time counts
 * only while this process runs ({@linkcode setRunningTimeout}, with its
 * look), as `kv check --udp`'s and the TCP client's waits do: an answer
 * that came during a stall of our own is not taken for a lost one.
 */
async function within<T>(
  promise: Promise<T>,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<T | undefined> {
  if (ms <= 0) return undefined;
  signal?.throwIfAborted();
  let cancel: (() => void) | undefined;
  let abort: (() => void) | undefined;
  const late = new Promise<undefined>((resolve, reject) => {
    cancel = setRunningTimeout(() => resolve(undefined), ms, { look: true });
    if (signal !== undefined) {
      abort = () => reject(signal.reason);
      signal.addEventListener("abort", abort, { once: true });
    }
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    cancel!();
    if (abort !== undefined) signal!.removeEventListener("abort", abort);
  }
}
