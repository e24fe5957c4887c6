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
import { setRunningTimeout } from "../net/conn.ts";
import { addressesOf } from "../net/connect.ts";
import { type PlayConfig, StepFailure } from "./context.ts";
import { EXPECTED, REASON } from "./messages.ts";

/**
 * Connects (plain TCP, even when the run speaks TLS or sends a password:
 * the reset reaches the server's accept and handshake, or its first
 * `recv()`), sends `bytes`, waits `afterMs` for the answers to arrive
 * unread, and resets the connection. Each address of the host is tried in
 * turn, as the rules' own connections do (`localhost`: `::1`, then
 * `127.0.0.1`). A refused connection fails the step, as any of the rule's
 * connections; `afterReset`: the step before was a reset too.
 */
export async function resetAfter(
  config: PlayConfig,
  bytes: Uint8Array,
  afterMs: number,
  afterReset = false,
): Promise<void> {
  let socket: Socket | undefined;
  let failure: unknown;
  for (const address of await addressesOf(config.hostname)) {
    try {
      socket = await connected(address, config.port, config.timeoutMs);
      break;
    } catch (error) {
      // A refusal says least: any other error of another address says more.
      if (failure === undefined || (error as { code?: string }).code !== "ECONNREFUSED") {
        failure = error;
      }
    }
  }
  if (socket === undefined) {
    throw new StepFailure({
      expected: EXPECTED.any(),
      reason: (failure as { code?: string }).code === "ECONNREFUSED"
        ? afterReset ? REASON.stoppedAfterReset() : REASON.stopped()
        : REASON.connect(failure instanceof Error ? failure.message : String(failure)),
    });
  }
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  // Whatever the server does now (a reset of its own, a close) is its business.
  socket.on("error", () => {});
  if (bytes.length > 0) socket.write(bytes);
  if (afterMs > 0) await new Promise((resolve) => setTimeout(resolve, afterMs));
  if (!socket.destroyed) socket.resetAndDestroy();
  await closed;
}

/** A connected socket to `host`, or the error of trying (the socket then closed). */
async function connected(host: string, port: number, timeoutMs: number): Promise<Socket> {
  const socket = connect({ host, port });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  let cancel: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
      // As connectTcp's (net/connect.ts): a stall of the checker's own is
      // not a server that does not accept.
      cancel = setRunningTimeout(() => reject(new Error("connect timed out")), timeoutMs, {
        look: true,
      });
    });
    return socket;
  } catch (error) {
    socket.destroy();
    await closed;
    throw error;
  } finally {
    cancel?.();
  }
}
