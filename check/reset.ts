/**
 * {@linkcode resetAfter}: a connection the checker ends with a reset (an
 * RST and no FIN), as a client killed with its answers unread ends.
 *
 * A `Deno.Conn`'s `close()` sends a FIN first (`shutdown(SHUT_WR)`, then
 * `close()`), so a server's next `recv()` returns `b""` and it never meets
 * the `ConnectionResetError` a killed client gives it: a server without a
 * `try` around its `recv()` would pass every other disconnect. node:net's
 * `resetAndDestroy()` closes with `SO_LINGER` 0, which sends the RST alone.
 *
 * @module
 */

import { connect, type Socket } from "node:net";
import { type PlayConfig, StepFailure } from "./context.ts";
import { EXPECTED, REASON } from "./messages.ts";

/**
 * Connects (plain TCP, even when the run speaks TLS), sends `bytes`, waits
 * `afterMs` for the answers to arrive unread, and resets the connection.
 * A refused connection fails the step, as any of the rule's connections.
 */
export async function resetAfter(
  config: PlayConfig,
  bytes: Uint8Array,
  afterMs: number,
): Promise<void> {
  const socket = connect({ host: config.hostname, port: config.port });
  // Whatever the server does now (a reset of its own, a close) is its business.
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
      timer = setTimeout(() => reject(new Error("connect timed out")), config.timeoutMs);
    });
  } catch (error) {
    socket.destroy();
    await closed;
    throw new StepFailure({
      expected: EXPECTED.any(),
      reason: (error as { code?: string }).code === "ECONNREFUSED"
        ? REASON.stopped()
        : REASON.connect(error instanceof Error ? error.message : String(error)),
    });
  } finally {
    clearTimeout(timer);
  }
  socket.on("error", () => {});
  if (bytes.length > 0) socket.write(bytes);
  if (afterMs > 0) await new Promise((resolve) => setTimeout(resolve, afterMs));
  reset(socket);
  await closed;
}

function reset(socket: Socket): void {
  if (socket.destroyed) return;
  socket.resetAndDestroy();
}
