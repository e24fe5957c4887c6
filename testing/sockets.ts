/**
 * Raw TCP for the tests: {@linkcode startTestServer} on a free port,
 * {@linkcode RawConn}, a socket read line by line the way `nc` would, and
 * the one-liners built on it ({@linkcode exchange}, {@linkcode ask},
 * {@linkcode assertAlive}), plus line readers for plain `Deno.Conn`s.
 * Re-exported by `testing/mod.ts`.
 *
 * @module
 */

import { closeQuietly, isClientGone, writeAll } from "../net/conn.ts";
import { type KvServer, serve, type ServeOptions } from "../server/serve.ts";
import { within } from "./wait.ts";

const encoder = new TextEncoder();
// ignoreBOM: a raw socket must hand back every byte; the default decoder
// would strip a U+FEFF at the start of each line it decodes.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Starts a server on 127.0.0.1, port 0, that logs nothing unless asked. */
export function startTestServer(options: ServeOptions = {}): KvServer & { port: number } {
  const server = serve({ hostname: "127.0.0.1", port: 0, log: () => {}, ...options });
  return Object.assign(server, { port: server.addr.port });
}

/** A port nothing listens on (the OS just handed it out and took it back). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Joins strings (as UTF-8) and raw byte arrays into one buffer. */
export function bytes(...parts: (string | number[])[]): Uint8Array {
  const chunks = parts.map((part) =>
    typeof part === "string" ? encoder.encode(part) : Uint8Array.from(part)
  );
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * A raw TCP connection to a server, read line by line. Every read is
 * bounded by {@linkcode BOUND_MS}: a missing answer fails the test (and
 * closes the connection) instead of hanging it.
 */
export class RawConn implements AsyncDisposable {
  /** The socket, for what the helpers do not cover. */
  readonly conn: Deno.TcpConn;
  #buffered = new Uint8Array(0);
  #eof = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<RawConn> {
    return new RawConn(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes all of `data` (a string is sent as UTF-8). */
  async send(data: string | Uint8Array): Promise<void> {
    await writeAll(this.conn, typeof data === "string" ? encoder.encode(data) : data);
  }

  /** Reads one line (without `\n`); `null` if the server closed first. */
  async readLine(): Promise<string | null> {
    while (true) {
      const nl = this.#buffered.indexOf(0x0a);
      if (nl !== -1) {
        const line = decoder.decode(this.#buffered.subarray(0, nl));
        this.#buffered = this.#buffered.slice(nl + 1);
        return line;
      }
      if (!(await this.#fill())) return null;
    }
  }

  /** Reads exactly `count` lines; fails if the server closes first. */
  async readLines(count: number): Promise<string[]> {
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const line = await this.readLine();
      if (line === null) throw new Error(`connection closed after ${i} of ${count} lines`);
      lines.push(line);
    }
    return lines;
  }

  /** Reads the lines of a LIST answer up to (not including) its empty line. */
  async readList(): Promise<string[]> {
    const lines: string[] = [];
    while (true) {
      const line = await this.readLine();
      if (line === null) {
        throw new Error(`connection closed inside a LIST after ${lines.length} lines`);
      }
      if (line === "") return lines;
      lines.push(line);
    }
  }

  /** Reads every remaining byte until the server closes, as text. */
  async readToEnd(): Promise<string> {
    while (await this.#fill());
    const text = decoder.decode(this.#buffered);
    this.#buffered = new Uint8Array(0);
    return text;
  }

  /** Whether the server has closed its side (after all buffered bytes are read). */
  async closedByServer(): Promise<boolean> {
    return this.#buffered.length === 0 && !(await this.#fill()) && this.#buffered.length === 0;
  }

  /** Shuts down the write side: the server sees the end of the stream. */
  async closeWrite(): Promise<void> {
    await this.conn.closeWrite();
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await within("waiting for the server", this.conn.read(chunk));
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) n = null;
      else {
        this.close();
        throw error;
      }
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const joined = new Uint8Array(this.#buffered.length + n);
    joined.set(this.#buffered);
    joined.set(chunk.subarray(0, n), this.#buffered.length);
    this.#buffered = joined;
    return true;
  }

  /** Closes the socket (once; later calls do nothing). */
  close(): void {
    closeQuietly(this.conn);
  }

  /** Closes the socket. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Sends `data` and reads exactly `count` answer lines. */
export async function exchange(
  conn: RawConn,
  data: string | Uint8Array,
  count: number,
): Promise<string[]> {
  await conn.send(data);
  return await conn.readLines(count);
}

/** Sends `request` on a fresh connection and returns the first answer line. */
export async function ask(port: number, request: string): Promise<string | null> {
  await using conn = await RawConn.connect(port);
  await conn.send(`${request}\n`);
  return await conn.readLine();
}

/** Fails unless a fresh connection still gets `PONG` for `PING`. */
export async function assertAlive(port: number): Promise<void> {
  const answer = await ask(port, "PING");
  if (answer !== "PONG") throw new Error(`the server no longer answers PING (got ${answer})`);
}

/**
 * Reads `count` lines from `conn` without keeping them (answers can be
 * 100 MB), passing each to `check`. Fails if the connection ends first, or
 * if bytes follow the last line.
 */
export async function readLinesChecked(
  conn: Deno.Conn,
  count: number,
  check: (line: string, index: number) => void,
): Promise<void> {
  const streamDecoder = new TextDecoder();
  const buffer = new Uint8Array(256 * 1024);
  let carry = "";
  let index = 0;
  while (index < count) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`connection closed after ${index} of ${count} lines`);
    const lines = (carry + streamDecoder.decode(buffer.subarray(0, n), { stream: true }))
      .split("\n");
    carry = lines.pop()!;
    for (const line of lines) {
      if (index === count) throw new Error(`more than ${count} lines`);
      check(line, index++);
    }
  }
  if (carry !== "") throw new Error(`bytes after the last expected line: ${JSON.stringify(carry)}`);
}

/** Reads `conn` (a TLS one too) to the end of its stream, as text. */
export async function readAll(conn: Deno.Conn): Promise<string> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(256 * 1024);
  let text = "";
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
  return text;
}

/** Writes all of `data` to `conn` (a string as UTF-8). */
export async function send(conn: Deno.Conn, data: string | Uint8Array): Promise<void> {
  await writeAll(conn, typeof data === "string" ? encoder.encode(data) : data);
}

/** Reads until exactly `count` lines have arrived on `conn`; fails on EOF or extra bytes. */
export async function readRawLines(conn: Deno.Conn, count: number): Promise<string[]> {
  const lines: string[] = [];
  await readLinesChecked(conn, count, (line) => lines.push(line));
  return lines;
}

/**
 * The connections `listener` accepts, until it is closed. A client that
 * connected and reset before its accept (`kv check` resets some) makes that
 * accept throw (NotConnected): it is skipped, as kv's server skips it, and
 * does not end the loop.
 */
export async function* accepted(listener: Deno.Listener): AsyncGenerator<Deno.TcpConn> {
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (isClientGone(error)) continue;
      if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
        return; // The listener was closed.
      }
      throw error;
    }
    yield conn as Deno.TcpConn;
  }
}
