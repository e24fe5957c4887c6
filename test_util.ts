/**
 * Helpers for the tests: a server on a free port, and a raw socket that
 * speaks bytes to it the way `nc` would. (`deno test` runs `*_test.ts`
 * files only, so this file is never run as a test itself.)
 *
 * @module
 */

import type { MainIo } from "./main.ts";
import { type KvServer, serve, type ServeOptions } from "./server.ts";

const encoder = new TextEncoder();
// ignoreBOM: a raw socket must hand back every byte; the default decoder
// would strip a U+FEFF at the start of each line it decodes.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Starts a server on 127.0.0.1, port 0, that logs nothing unless asked. */
export function startTestServer(options: ServeOptions = {}): KvServer & { port: number } {
  const server = serve({ hostname: "127.0.0.1", port: 0, log: () => {}, ...options });
  return Object.assign(server, { port: server.addr.port });
}

/** A raw TCP connection to a test server, read line by line. */
export class RawConn implements AsyncDisposable {
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
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    for (let written = 0; written < bytes.length;) {
      written += await this.conn.write(bytes.subarray(written));
    }
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
      n = await this.conn.read(chunk);
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) n = null;
      else throw error;
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

  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Sends `request` on a fresh connection and returns the first answer line. */
export async function ask(port: number, request: string): Promise<string | null> {
  await using conn = await RawConn.connect(port);
  await conn.send(`${request}\n`);
  return await conn.readLine();
}

/** A fake process: stdin from the given chunks, stdout and stderr captured. */
export class FakeIo {
  readonly io: MainIo;
  #stdout = "";
  #stderr = "";
  #waiters: { pattern: RegExp; resolve(match: RegExpMatchArray): void }[] = [];

  constructor(
    options: {
      stdin?: string | Uint8Array | (string | Uint8Array)[];
      terminal?: boolean;
      signal?: AbortSignal;
      stderrIsTerminal?: boolean;
    } = {},
  ) {
    const input = options.stdin ?? "";
    const chunks = (Array.isArray(input) ? input : [input]).map((chunk) =>
      typeof chunk === "string" ? encoder.encode(chunk) : chunk
    );
    this.io = {
      stdin: ReadableStream.from(chunks),
      stdinIsTerminal: options.terminal ?? false,
      stderrIsTerminal: options.stderrIsTerminal ?? false,
      stdout: (text) => {
        this.#stdout += text;
        this.#wake();
      },
      stderr: (text) => {
        this.#stderr += text;
      },
      signal: options.signal,
    };
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves once stdout matches `pattern`. */
  waitForStdout(pattern: RegExp): Promise<RegExpMatchArray> {
    const { promise, resolve } = Promise.withResolvers<RegExpMatchArray>();
    this.#waiters.push({ pattern, resolve });
    this.#wake();
    return promise;
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter(({ pattern, resolve }) => {
      const match = this.#stdout.match(pattern);
      if (match) resolve(match);
      return !match;
    });
  }
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
