/**
 * The options of {@linkcode serve} and {@linkcode serveListener}: what each
 * means, its default, and the checks that run before anything binds.
 *
 * @module
 */

import type { Tracer } from "../net/trace.ts";
import { UNAUTHENTICATED_LINE_BYTES } from "../wire/line/framer.ts";
import { type Clock, isWholeMs } from "../store/clock.ts";
import type { Store } from "../store/store.ts";
import type { ConnectionConfig } from "./connection.ts";
import type { TlsOptions } from "./listen.ts";
import type { Logger } from "../net/log.ts";

/** Options of {@linkcode serve} and {@linkcode serveListener}. */
export interface ServeOptions {
  /** The address to listen on (not used by {@linkcode serveListener}). @default {"127.0.0.1"} */
  hostname?: string;
  /** The port to listen on; 0 asks the OS for a free one (not used by {@linkcode serveListener}). @default {12000} */
  port?: number;
  /** The store to serve. @default {new MemoryStore({ clock })} */
  store?: Store;
  /**
   * Where expiry reads the time: the default store's clock, and the one
   * Redis clients' TTL commands count from. A test passes a
   * `ManualClock` and moves it; each move reclaims the keys it expired
   * (`DBSIZE` counts none of them after). A store of your own reads its own clock
   * (`new MemoryStore({ clock })`): the server then takes that one, and
   * refuses a different one here.
   * @default {the store's clock, or SYSTEM_CLOCK}
   */
  clock?: Clock;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /** Connections served at once; one more gets an error and is closed. @default {10000} */
  maxConnections?: number;
  /**
   * The most bytes a request line may hold before its `\n` (a RESP request,
   * headers and all): at most 1 GiB ({@linkcode MAX_LINE_BYTES_LIMIT}).
   * @default {1048576}
   */
  maxLineBytes?: number;
  /**
   * The most bytes all connections' unfinished requests may hold together
   * (a line still waiting for its `\n`, a RESP request for the rest of its
   * bytes), counted from where one outgrows its connection's 4 KiB: a
   * request that would grow past it is refused (a line client gets an
   * `Error:` line and the line is skipped to its `\n`, as a line too long;
   * a Redis client gets `-ERR` and is closed).
   * @default {536870912}
   */
  maxPendingBytes?: number;
  /**
   * The most bytes all connections' answers may hold together past the
   * room each has for its longest single answer: an answer built whole of
   * many values (an MGET or EXEC naming a big value thousands of times, a
   * KEYS of a big store) that would grow past it is not made, and its
   * client gets an error in its place.
   * @default {1073741824}
   */
  maxAnswerBytes?: number;
  /** Close a connection silent this long (0: never). @default {0} */
  idleTimeoutMs?: number;
  /** A client that never sent `\n` has its line taken after this pause (0: never). @default {100} */
  unframedPauseMs?: number;
  /** After shutdown starts, connections still open this long are cut. @default {5000} */
  shutdownGraceMs?: number;
  /**
   * Receives log lines; `debug` lines are made only when `verbose` is set.
   * @default {errors to stderr; with `verbose`, every line}
   */
  log?: Logger;
  /** Log every connection and request at `debug` level (to stderr, if no `log` is given). @default {false} */
  verbose?: boolean;
  /**
   * The password connections must send first (PROTOCOL.md, Authentication);
   * none by default. Not empty (a `RangeError`).
   */
  password?: string | Uint8Array;
  /** Listen beyond loopback with no password, on purpose. @default {false} */
  noAuth?: boolean;
  /**
   * Speak TLS only, with this certificate and key: PEM text, not file names
   * (`{ cert: await Deno.readTextFile("cert.pem"), ... }`). Each connection
   * is piped through a TLS listener on 127.0.0.1 inside the process, so a
   * narrowed `--allow-net` must name `127.0.0.1` too, whatever `hostname` is.
   */
  tls?: TlsOptions;
  /**
   * A TLS client that has not finished its handshake in this long is cut,
   * so handshakes that never end cannot pin connections; so is a client
   * that has not authenticated (with a password set) and has not read its
   * answers for this long. @default {10000}
   */
  handshakeTimeoutMs?: number;
  /**
   * Receives one event per socket event: accept, recv, each request and its
   * answer, send, the peer's FIN or RST, close, shutdown steps (`kv serve
   * --trace`). Off, it costs nothing. @default {undefined}
   */
  trace?: Tracer;
  /**
   * Also answer requests in UDP datagrams, on the same host and port number
   * as TCP (PROTOCOL.md, Datagrams). Needs Deno's `--unstable-net` (or
   * `"unstable": ["net"]` in your deno.json, as kv's has). Not with
   * `password` or `tls`: datagrams have no
   * connection to authenticate or encrypt. @default {false}
   */
  udp?: boolean;
}

/**
 * The largest `maxLineBytes` (`--max-line-bytes`): 1 GiB, where Redis 7
 * closes a client whose unread requests pass 1 GiB (its
 * client-query-buffer-limit). A request's arguments are found by 32-bit
 * positions in the bytes it came in, which a request near 2 GiB runs past:
 * its last arguments were read from the wrong bytes (a DEL missed its key).
 */
export const MAX_LINE_BYTES_LIMIT = 2 ** 30;

/** Defaults of {@linkcode ServeOptions}, shared with the command line's help. */
export const SERVE_DEFAULTS = {
  hostname: "127.0.0.1",
  port: 12000,
  maxConnections: 10_000,
  maxLineBytes: 1_048_576,
  maxPendingBytes: 536_870_912,
  maxAnswerBytes: 1_073_741_824,
  idleTimeoutMs: 0,
  unframedPauseMs: 100,
  shutdownGraceMs: 5_000,
  handshakeTimeoutMs: 10_000,
} as const;

/** The options resolved, as the server and its connections use them. */
export type Config = ConnectionConfig & {
  readonly maxConnections: number;
  readonly maxPendingBytes: number;
  readonly maxAnswerBytes: number;
};

/** Resolves the options into a config, failing before binding rather than in every connection later. */
export function resolve(options: ServeOptions): Config {
  const config = {
    maxConnections: options.maxConnections ?? SERVE_DEFAULTS.maxConnections,
    maxLineBytes: options.maxLineBytes ?? SERVE_DEFAULTS.maxLineBytes,
    maxPendingBytes: options.maxPendingBytes ?? SERVE_DEFAULTS.maxPendingBytes,
    maxAnswerBytes: options.maxAnswerBytes ?? SERVE_DEFAULTS.maxAnswerBytes,
    idleTimeoutMs: options.idleTimeoutMs ?? SERVE_DEFAULTS.idleTimeoutMs,
    unframedPauseMs: options.unframedPauseMs ?? SERVE_DEFAULTS.unframedPauseMs,
    shutdownGraceMs: options.shutdownGraceMs ?? SERVE_DEFAULTS.shutdownGraceMs,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? SERVE_DEFAULTS.handshakeTimeoutMs,
    verbose: options.verbose ?? false,
    trace: options.trace,
  };
  // The least value of each limit (0 turns the timers off), and the most.
  const least = { maxConnections: 1, maxLineBytes: 1, maxPendingBytes: 1, maxAnswerBytes: 1 };
  const most = { maxLineBytes: MAX_LINE_BYTES_LIMIT };
  for (const [name, value] of Object.entries(config)) {
    if (typeof value !== "number") continue;
    const min = least[name as keyof typeof least] ?? 0;
    const max = most[name as keyof typeof most];
    if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
      const range = max === undefined ? `from ${min}` : `from ${min} to ${max}`;
      throw new RangeError(`Cannot use ${name} ${value}: expected an integer ${range}`);
    }
  }
  // The store's expiry and the TTLs the server counts read one clock.
  const storeClock = options.store?.clock;
  if (options.clock !== undefined && storeClock !== undefined && options.clock !== storeClock) {
    throw new RangeError(
      "Cannot use a clock other than the store's: give the store's clock (store.clock), or none",
    );
  }
  // Redis's times are whole milliseconds: a fraction would reach PTTL's
  // integer reply, and a command that counts in BigInt could not take it.
  const clock = options.clock ?? storeClock;
  if (clock !== undefined && !isWholeMs(clock.now())) {
    throw new RangeError(
      `Cannot use a clock whose now() is ${clock.now()}: expected whole milliseconds ` +
        "since 1970, from 0 to 2^53 - 1",
    );
  }
  // An empty password no line client could send (`AUTH, ` has an empty
  // field), and it would still count as a password beyond loopback.
  if (options.password !== undefined && options.password.length === 0) {
    throw new RangeError("Cannot use an empty password");
  }
  if (options.password !== undefined) {
    const tooLong = passwordTooLong(options.password, config.maxLineBytes);
    if (tooLong !== undefined) throw new RangeError(`Cannot use a password of ${tooLong}`);
  }
  // PROTOCOL.md, Datagrams: a datagram has no connection to authenticate or encrypt.
  if (options.udp && options.password !== undefined) {
    throw new RangeError(
      "Cannot use udp with a password: datagrams have no connection to authenticate",
    );
  }
  if (options.udp && options.tls !== undefined) {
    throw new RangeError("Cannot use udp with tls: datagrams have no connection to encrypt");
  }
  return config;
}

/**
 * The address {@linkcode ServeOptions} name, with the defaults, or a
 * `RangeError` naming the option: a `port` of 1.5 or 70000 failed in
 * `Deno.listen` as `TypeError: Invalid port`, which names no option, and an
 * empty `hostname` as "refusing to listen on  without a password".
 */
export function resolveAddress(options: ServeOptions): { hostname: string; port: number } {
  const hostname = options.hostname ?? SERVE_DEFAULTS.hostname;
  const port = options.port ?? SERVE_DEFAULTS.port;
  if (typeof port !== "number" || !Number.isSafeInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(
      `Cannot use port ${shown(port)}: expected an integer from 0 to 65535 (0: any free one)`,
    );
  }
  if (typeof hostname !== "string" || hostname.trim() === "") {
    throw new RangeError(
      `Cannot use hostname ${shown(hostname)}: expected a name or address, ` +
        `such as ${SERVE_DEFAULTS.hostname}`,
    );
  }
  return { hostname, port };
}

// A value as an error shows it: a string quoted (an empty one is seen), NaN as NaN.
function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

// `*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$` and `\r\n` `\r\n` around the
// password and its length's digits.
const HELLO_AUTH_BYTES = 50;

/**
 * Why `password` could never be sent (`"N bytes: AUTH could not carry it
 * ..."`), or `undefined` if it can. Before AUTH a line may hold 16 KiB (or
 * `maxLineBytes`, if smaller) and a RESP request `maxLineBytes` in all, so
 * the password must fit both `AUTH, pw\r\n` in the first and, in the
 * second, the longest of the forms PROTOCOL.md names:
 * `*5 $5 HELLO $1 3 $4 AUTH $7 default $N pw` (50 bytes and N's digits
 * besides it, framing included). A client that adds `SETNAME name` to it
 * needs that much more room.
 */
export function passwordTooLong(
  password: string | Uint8Array,
  maxLineBytes: number,
): string | undefined {
  const bytes = typeof password === "string"
    ? new TextEncoder().encode(password).length
    : password.length;
  const line = Math.min(maxLineBytes, UNAUTHENTICATED_LINE_BYTES);
  let most = line - "AUTH, \r".length;
  while (most > 0 && most + HELLO_AUTH_BYTES + String(most).length > maxLineBytes) most--;
  if (bytes <= most) return undefined;
  if (most <= 0) {
    return `${bytes} bytes: no password fits in the ${line}-byte requests allowed before AUTH`;
  }
  return `${bytes} bytes: AUTH could not carry it ` +
    `(at most ${most} bytes fit in the ${line}-byte requests allowed before it)`;
}
