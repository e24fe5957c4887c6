/**
 * Byte-array helpers shared by `KvClient` (client/client.ts), `kv client`'s
 * batch mode (cli/client_batch.ts), `kv check` (check/play.ts) and
 * `kv bench` (bench/).
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

/** Whether `buffer[start, end)` holds exactly `expected`. */
export function equalBytes(
  buffer: Uint8Array,
  start: number,
  end: number,
  expected: Uint8Array,
): boolean {
  if (end - start !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) {
    if (buffer[start + i] !== expected[i]) return false;
  }
  return true;
}
