/**
 * {@linkcode scriptedServer}: a stand-in TCP server whose every connection
 * follows a script the test writes, for clients facing servers that
 * misbehave. Re-exported by `testing/mod.ts`.
 *
 * @module
 */

import { AssertionError } from "@std/assert";
import { closeQuietly } from "../net/conn.ts";
import { accepted } from "./sockets.ts";

/**
 * A stand-in server on port 0: `handle` scripts each connection, which is
 * closed after. `done` settles once the first connection's script is over.
 * An assertion that fails in a script fails the test: `done` rejects with
 * the first one, and so does disposing of the server. Any other error ends
 * that connection's script quietly: the client under test went away, or
 * did not follow the script (a checker's extra connection that sends
 * nothing), which is what these servers are for.
 */
export function scriptedServer(
  handle: (conn: Deno.TcpConn) => Promise<void>,
): AsyncDisposable & { port: number; done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handlers: Promise<void>[] = [];
  const first = Promise.withResolvers<void>();
  let failure: { error: unknown } | undefined;
  const accepting = (async () => {
    for await (const conn of accepted(listener)) {
      const handler = handle(conn)
        .catch((error) => {
          if (error instanceof AssertionError) failure ??= { error };
        })
        .finally(() => closeQuietly(conn));
      if (handlers.length === 0) {
        handler.then(() => failure === undefined ? first.resolve() : first.reject(failure.error));
      }
      handlers.push(handler);
    }
  })();
  // A test that never awaits `done` still hears of a failure, when it disposes.
  first.promise.catch(() => {});
  return {
    port: listener.addr.port,
    done: first.promise,
    async [Symbol.asyncDispose]() {
      closeQuietly(listener);
      await accepting;
      await Promise.all(handlers);
      if (failure !== undefined) throw failure.error;
    },
  };
}
