/**
 * {@linkcode threadedTextbookServer}: the assignment's server as students
 * write it with a thread per client (`socket` and `threading`), with one of
 * two faults that leave a client with no answer and its connection open.
 * Imported by path.
 *
 * @module
 */

import { scriptedServer } from "./scripted_server.ts";
import { send } from "./sockets.ts";

/**
 * - `"thread"`: the client's thread dies on an uncaught exception (a
 *   `KeyError` at `del store[key]` of a missing key, an `IndexError` at a
 *   field that is missing, a `UnicodeDecodeError`), its socket left open:
 *   that client gets no answer and no close, the others are served.
 * - `"handler"`: the same exceptions end the client's handler, and its
 *   socket is closed, as `socketserver` does after printing the Traceback
 *   (or a `with conn:` block): that client gets a close and no answer, the
 *   others are served.
 * - `"lock"`: a request with a field missing raises between
 *   `lock.acquire()` and `lock.release()`; it is answered with the error,
 *   and from then on no request of any client is, each thread waiting for
 *   the lock.
 */
export type TextbookFault = "thread" | "handler" | "lock";

/**
 * A server on 127.0.0.1, port 0: one `recv(1024)` per request, fields split
 * on commas and stripped, answers without `\n`, right but for `fault`.
 */
export function threadedTextbookServer(
  fault: TextbookFault,
): AsyncDisposable & { port: number } {
  const store = new Map<string, string>();
  let locked = false;
  return scriptedServer(async (conn) => {
    const buffer = new Uint8Array(1024);
    const die = async () => {
      // socketserver closes the socket of a handler that raised.
      if (fault === "handler") return;
      // A dead thread reads nothing more; its socket closes when the client's does.
      while (await conn.read(buffer) !== null);
    };
    for (let n; (n = await conn.read(buffer)) !== null;) {
      if (locked) continue; // Waiting for the lock, for ever.
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(buffer.subarray(0, n));
      } catch {
        if (fault !== "lock") return await die();
        await send(conn, "Error: 'utf-8' codec can't decode");
        continue;
      }
      const [command = "", key, value] = text.split(",").map((field) => field.trim());
      const missing = key === undefined || (command === "PUT" && value === undefined);
      if (missing && command !== "LIST") {
        if (fault !== "lock") return await die();
        locked = true; // Raised with the lock held: answered, then nobody is.
        await send(conn, "Error: list index out of range");
        continue;
      }
      let answer = "Wrong command";
      if (command === "PUT") (store.set(key!, value!), answer = "Success!");
      else if (command === "GET") answer = store.get(key!) ?? "Not exist!";
      else if (command === "DELETE") {
        if (!store.has(key!) && fault !== "lock") return await die();
        answer = store.delete(key!) ? "Success!" : "Not exist!";
      } else if (command === "LIST") {
        answer = [...store].map(([k, v]) => `${k}, ${v}`).join("\n") || "Not exist!";
      }
      await send(conn, answer);
    }
  });
}
