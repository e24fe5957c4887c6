/**
 * {@linkcode scriptedServer}: a stand-in TCP server whose every connection
 * follows a script the test writes, for clients facing servers that
 * misbehave. Re-exported by `testing/mod.ts`.
 *
 * @module
 */

import { closeQuietly } from "../net/conn.ts";

/**
 * A stand-in server on port 0: `handle` scripts each connection, which is
 * closed after. `done` settles once the first connection's script is over.
 */
export function scriptedServer(
  handle: (conn: Deno.TcpConn) => Promise<void>,
): AsyncDisposable & { port: number; done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handlers: Promise<void>[] = [];
  const first = Promise.withResolvers<void>();
  const accepting = (async () => {
    for await (const conn of listener) {
      const handler = handle(conn).catch(() => {}).finally(() => closeQuietly(conn));
      if (handlers.length === 0) handler.then(first.resolve);
      handlers.push(handler);
    }
  })();
  return {
    port: listener.addr.port,
    done: first.promise,
    async [Symbol.asyncDispose]() {
      closeQuietly(listener);
      await accepting;
      await Promise.all(handlers);
    },
  };
}
