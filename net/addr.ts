/**
 * How kv writes a network address, in logs, errors and the listening line.
 *
 * @module
 */

/** `host:port`, with brackets around an IPv6 host (`[::1]:12000`). */
export function formatAddr(addr: Deno.Addr | { hostname: string; port: number }): string {
  if ("transport" in addr && addr.transport !== "tcp" && addr.transport !== "udp") {
    return addr.transport;
  }
  const { hostname, port } = addr as { hostname: string; port: number };
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/**
 * The address to bind or send datagrams to for `hostname`: `localhost` is
 * 127.0.0.1. Deno takes the system's first answer for a name, which is ::1
 * on macOS, where a learner's Python server bound to `"localhost"` (an
 * AF_INET socket) listens on 127.0.0.1 and an IPv4 datagram socket cannot
 * send to ::1. Any other name or address is itself. (kv's TCP clients try
 * every address of a name instead: net/connect.ts.)
 */
export function ipv4Localhost(hostname: string): string {
  return hostname.toLowerCase() === "localhost" ? "127.0.0.1" : hostname;
}
