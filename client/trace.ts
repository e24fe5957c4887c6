/**
 * The client's side of `--trace`: {@linkcode traceConn} instruments a
 * connected socket, so each connect, send, recv, half-close and close of
 * {@linkcode KvClient} (or anyone else holding the socket) becomes a
 * {@linkcode TraceEvent}. The client's code does not change: an untraced
 * socket is left as it is and costs nothing.
 *
 * @module
 */

import { formatAddr } from "../net/addr.ts";
import { preview, type TraceEvent, type Tracer } from "../net/trace.ts";

/**
 * Traces `conn`, which connect() has just returned: emits its `connect`
 * (timed from `startedAt`, a `performance.now()` taken before the connect,
 * so it shows what the three-way handshake took), then wraps the socket's
 * own `read`, `write`, `closeWrite` and `close` in place. A `secret` (the
 * password the client sends) is shown as `***` wherever it appears, in
 * what is sent and in what comes back (a server may echo it).
 */
export function traceConn(
  conn: Deno.Conn,
  tracer: Tracer,
  startedAt: number,
  secret?: string,
): void {
  // Masked in the bytes, before the preview escapes or cuts them.
  const show = (bytes: Uint8Array, n: number) => {
    if (secret === undefined || secret === "") return preview(bytes, 0, n);
    const text = new TextDecoder().decode(bytes.subarray(0, n));
    if (!text.includes(secret)) return preview(bytes, 0, n);
    const masked = new TextEncoder().encode(text.replaceAll(secret, "***"));
    return preview(masked, 0, masked.length);
  };
  const emit = (event: string, detail: string) => {
    const traced: TraceEvent = { who: "client", ms: performance.now() - startedAt, event, detail };
    tracer(traced);
  };
  const local = conn.localAddr as Deno.NetAddr;
  emit(
    "connect",
    `local=${formatAddr(local)} peer=${
      formatAddr(conn.remoteAddr)
    } (handshake done; the OS picked local port ${local.port})`,
  );
  const read = conn.read.bind(conn);
  const write = conn.write.bind(conn);
  const closeWrite = conn.closeWrite.bind(conn);
  const close = conn.close.bind(conn);
  conn.read = async (buffer) => {
    try {
      const n = await read(buffer);
      if (n === null) emit("eof", "(the server sent FIN: it will send nothing more)");
      else emit("recv", `bytes=${n} ${show(buffer, n)}`);
      return n;
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) {
        emit("reset", "(the server sent RST: it closed abruptly)");
      }
      throw error;
    }
  };
  conn.write = async (bytes) => {
    const n = await write(bytes);
    emit("send", `bytes=${n} ${show(bytes, n)}`);
    return n;
  };
  conn.closeWrite = async () => {
    await closeWrite();
    emit("half-close", "(we sent FIN: no more requests; the answers still come)");
  };
  conn.close = () => {
    close(); // Throws if closed already: then there is nothing to trace.
    emit("close", "");
  };
}
