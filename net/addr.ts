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
