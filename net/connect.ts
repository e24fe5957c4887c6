/**
 * {@linkcode connectTcp}: connects to a host by name, trying every address
 * the name resolves to. `Deno.connect` tries only the first, so a server
 * listening on `::1` alone was out of reach of `--host localhost` whenever
 * the name resolved to `127.0.0.1` first.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { setRunningTimeout } from "./conn.ts";

/** Options of {@linkcode connectTcp}. */
export interface ConnectOptions {
  /** Give up on each address after this long. @default {5000} */
  timeoutMs?: number;
  /** Speak TLS over the connection, trusting these CA certificates (PEM) or the system's. */
  tls?: ClientTls;
}

/** How a client speaks TLS: the certificates it trusts besides the system's. */
export interface ClientTls {
  /** CA certificates (PEM) to trust, such as a self-signed server's own certificate. */
  caCerts?: string[];
}

const IPV4_REGEXP = /^\d{1,3}(\.\d{1,3}){3}$/;
// RFC 6761: localhost is the loopback, whatever /etc/hosts says. Both are
// tried, since a server may listen on either.
const LOOPBACKS = ["::1", "127.0.0.1"];

/**
 * Connects to `hostname`:`port`, trying each address of `hostname` in turn
 * (for `localhost`, at least `::1` and `127.0.0.1`), sets no-delay, and
 * with `tls` finishes a TLS handshake.
 * Throws the first address's error when none accepts; a timed-out attempt
 * throws `Deno.errors.TimedOut`.
 */
export async function connectTcp(
  hostname: string,
  port: number,
  options: ConnectOptions = {},
): Promise<Deno.Conn> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  let first: unknown;
  for (const address of await addressesOf(hostname)) {
    const timeout = new AbortController();
    // A timer that came due while this process was not running (stopped,
    // or a loaded machine) fires before the connect or handshake that
    // completed meanwhile is seen: the time counts only while we run.
    const cancel = setRunningTimeout(() => timeout.abort(), timeoutMs, { look: true });
    try {
      const conn = await Deno.connect({
        hostname: address,
        port,
        transport: "tcp",
        signal: timeout.signal,
      });
      conn.setNoDelay(true);
      if (options.tls === undefined) return conn;
      // TLS over the connection; the name (not the address) is checked
      // against the certificate.
      const tls = await Deno.startTls(conn, { hostname, caCerts: options.tls.caCerts });
      try {
        // The handshake counts against the same time: a peer that never
        // answers it (no TLS server) must not hold the caller for ever.
        await untilAborted(tls.handshake(), timeout.signal);
      } catch (error) {
        try {
          tls.close(); // A failed handshake leaves its connection open.
        } catch {
          // Closed already.
        }
        throw error;
      }
      return tls;
    } catch (error) {
      first ??= timeout.signal.aborted ? new Deno.errors.TimedOut("timed out") : error;
    } finally {
      cancel();
    }
  }
  throw first;
}

/** The addresses to try for `hostname`: itself if it is one, else what it resolves to. */
export async function addressesOf(hostname: string): Promise<string[]> {
  if (IPV4_REGEXP.test(hostname) || hostname.includes(":")) return [hostname];
  let found: string[] = [];
  try {
    found = (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);
  } catch {
    // Not found: Deno.connect below then fails with its own words.
  }
  if (hostname.toLowerCase() === "localhost") {
    for (const loopback of LOOPBACKS) if (!found.includes(loopback)) found.push(loopback);
  }
  return found.length > 0 ? found : [hostname];
}

/** `promise`, or a rejection once `signal` aborts (the promise's own rejection is then ignored). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
