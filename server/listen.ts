/**
 * Binding the server's socket: TCP, or TLS with a certificate and key
 * (PROTOCOL.md, TLS), and the guard rail of PROTOCOL.md's Transport: a
 * server that would listen beyond loopback with no password refuses, unless
 * told the exposure is meant; and the UDP socket beside it (`--udp`).
 *
 * @module
 */

import { ipv4Localhost } from "../net/addr.ts";
import { requireDatagrams } from "../net/conn.ts";
import { type Acceptor, listenTls } from "./tls.ts";

/** A certificate chain and its private key, in PEM. */
export interface TlsOptions {
  /** The certificate chain (PEM). */
  cert: string;
  /** The private key (PEM). */
  key: string;
}

/** What {@linkcode bind} needs. */
export interface BindOptions {
  /** The address to listen on. */
  hostname: string;
  /** The port; 0 asks the OS for a free one. */
  port: number;
  /** Speak TLS only, with this certificate. */
  tls?: TlsOptions;
  /** Whether a password is set. */
  password: boolean;
  /** Expose a server with no password beyond loopback, on purpose. */
  noAuth: boolean;
}

/** Listening beyond loopback without a password was refused (PROTOCOL.md, Authentication). */
export class ExposureError extends Error {
  /** The address that would have exposed the server. */
  readonly hostname: string;

  /**
   * `hostname`: the address that would have exposed the server; `how`: how
   * to set a password or say the exposure is meant (`kv serve` names its
   * options; the library, `serve()`'s).
   */
  constructor(
    hostname: string,
    how = "set one with the password option, or noAuth: true if the exposure is meant",
  ) {
    super(
      `refusing to listen on ${hostname} without a password: anyone who can reach it could read ` +
        `and change every key; ${how}`,
    );
    this.name = "ExposureError";
    this.hostname = hostname;
  }
}

/** Whether `hostname` is loopback: 127.0.0.0/8, ::1 (or 127.x mapped into IPv6), or `localhost`. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (host === "localhost" || host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  const v4 = host.startsWith("::ffff:") ? host.slice(7) : host;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Binds the listener, after the exposure check. Throws {@linkcode ExposureError}, or what Deno throws. */
export function bind(options: BindOptions): Acceptor {
  if (!options.password && !options.noAuth && !isLoopback(options.hostname)) {
    throw new ExposureError(options.hostname);
  }
  // localhost: 127.0.0.1, where IPv4 clients (a learner's Python one, UDP) look for it.
  const hostname = ipv4Localhost(options.hostname);
  const { port, tls } = options;
  if (tls !== undefined) return listenTls({ hostname, port, cert: tls.cert, key: tls.key });
  try {
    return Deno.listen({ hostname, port, transport: "tcp" });
  } catch (error) {
    // Deno grants by name: --allow-net=localhost, the natural narrowing for --host
    // localhost, does not cover 127.0.0.1. Bind the name then, as Deno resolves it.
    if (!(error instanceof Deno.errors.NotCapable) || hostname === options.hostname) throw error;
    return Deno.listen({ hostname: options.hostname, port, transport: "tcp" });
  }
}

/**
 * Binds the UDP socket beside a TCP listener: the same host and port number.
 * The host is given explicitly: Deno's datagram default is 0.0.0.0, which
 * would expose a loopback server to the network.
 */
export function listenDatagrams(addr: Deno.NetAddr): Deno.DatagramConn {
  requireDatagrams();
  try {
    return Deno.listenDatagram({ hostname: addr.hostname, port: addr.port, transport: "udp" });
  } catch (error) {
    throw new DatagramBindError(addr, error);
  }
}

/**
 * The UDP socket could not be bound (its port taken by another UDP program,
 * say) though the TCP listener could: `cause` is Deno's error. Its own class,
 * so that a message says UDP, not the TCP port that is free.
 */
export class DatagramBindError extends Error {
  /** Wraps `cause`, the error binding `addr` threw. */
  constructor(addr: Deno.NetAddr, cause: unknown) {
    super(`cannot bind UDP ${addr.hostname}:${addr.port}: ${cause}`, { cause });
    this.name = "DatagramBindError";
  }
}
