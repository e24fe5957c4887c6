/**
 * Byte-array helpers shared by `KvClient` (client/client.ts), `kv client`'s
 * batch mode (cli/client_batch.ts) and `kv check` (check/play.ts).
 *
 * @module
 */

/** Joins byte chunks into one new buffer. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
