/**
 * The real Redis for the suites that compare kv with it: Debian's
 * redis-server started on a free port, persistence off, and a RESP
 * connection that sends one command and reads its one whole reply, RESP2
 * or RESP3 (or pipelines several). Used by e2e/redis_e2e.ts,
 * e2e/redis_edges_e2e.ts and e2e/redis_multi_e2e.ts; and {@linkcode runTool},
 * redis-cli or redis-benchmark run to its end, by e2e/redis_cli_e2e.ts and
 * e2e/redis_cli_modes_e2e.ts.
 *
 * @module
 */

import { concat } from "../net/bytes.ts";
import { closeQuietly, writeAll } from "../net/conn.ts";

const encoder = new TextEncoder();

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Starts Debian's redis-server on a free port, persistence off, with `options` added. */
export async function startRedis(
  options: string[] = [],
): Promise<{ port: number; stop(): Promise<void> }> {
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: [
      ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      ...options,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let attempt = 0;; attempt++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      break;
    } catch (error) {
      // Redis binds within milliseconds; this bounds the wait, it is not a pause to sync on.
      if (attempt > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** What a tool printed and how it exited. */
export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` (redis-cli, redis-benchmark) with `args` to its end, `stdin`
 * written to it and closed (none: /dev/null). A tool still running after
 * `boundMs` is killed and the run throws: a mode that should end but waits
 * for ever fails its test instead of hanging the suite.
 */
export async function runTool(
  command: string,
  args: string[],
  stdin?: string | Uint8Array,
  boundMs = 30_000,
): Promise<ToolRun> {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, boundMs);
  try {
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      // A tool that ends (or is killed) before it read it all breaks the pipe: its output says why.
      await writer.write(typeof stdin === "string" ? encoder.encode(stdin) : stdin)
        .then(() => writer.close())
        .catch(() => {});
    }
    const { code, stdout, stderr } = await child.output();
    if (killed) throw new Error(`${command} ${args.join(" ")}: still running after ${boundMs} ms`);
    const decoder = new TextDecoder();
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** Encodes a command as a RESP array of bulk strings. */
export function encode(words: Uint8Array[]): Uint8Array {
  const parts: number[] = [...encoder.encode(`*${words.length}\r\n`)];
  for (const word of words) parts.push(...encoder.encode(`$${word.length}\r\n`), ...word, 13, 10);
  return Uint8Array.from(parts);
}

/** A connection that sends one command and reads its one whole reply. */
export class RespConn {
  readonly #conn: Deno.TcpConn;
  #buffer = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(port: number): Promise<RespConn> {
    return new RespConn(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async call(words: Uint8Array[]): Promise<Uint8Array> {
    await this.send([words]);
    return await this.read();
  }

  /** Sends commands in one write (a pipeline); read() takes their replies in order. */
  async send(commands: Uint8Array[][]): Promise<void> {
    await this.sendEncoded(commands.map(encode));
  }

  /** Sends requests already encoded (RESP arrays, inline lines) in one write. */
  async sendEncoded(parts: Uint8Array[]): Promise<void> {
    await writeAll(this.#conn, concat(parts));
  }

  /** The next whole reply; throws if the connection ends first. */
  async read(): Promise<Uint8Array> {
    while (true) {
      const end = replyEnd(this.#buffer, 0);
      if (end !== -1) {
        const reply = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end);
        return reply;
      }
      if (!await this.#fill()) throw new Error("connection closed");
    }
  }

  /**
   * How the peer ends the connection once nothing more is expected of it:
   * "eof" (its FIN, no bytes before it), "reset", "bytes" (it sent more) or
   * "open" (still open after `boundMs`: the connection is then closed here).
   */
  async ending(boundMs = 5_000): Promise<"eof" | "reset" | "bytes" | "open"> {
    if (this.#buffer.length > 0) return "bytes";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.close();
    }, boundMs);
    try {
      return await this.#fill() ? "bytes" : "eof";
    } catch (error) {
      if (timedOut) return "open";
      if (error instanceof Deno.errors.ConnectionReset) return "reset";
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Appends what the socket has to the buffer; false at its end. */
  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.#conn.read(chunk);
    if (n === null) return false;
    const joined = new Uint8Array(this.#buffer.length + n);
    joined.set(this.#buffer);
    joined.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = joined;
    return true;
  }

  close(): void {
    closeQuietly(this.#conn);
  }
}

/** Where the RESP2/RESP3 reply starting at `at` ends, or -1 if it is not all there. */
export function replyEnd(bytes: Uint8Array, at: number): number {
  const crlf = bytes.indexOf(13, at);
  if (crlf === -1 || crlf + 1 >= bytes.length) return -1;
  const type = String.fromCharCode(bytes[at]!);
  const header = new TextDecoder().decode(bytes.subarray(at + 1, crlf));
  const next = crlf + 2;
  switch (type) {
    case "$":
    case "=":
    case "!": {
      const length = Number(header);
      if (length < 0) return next;
      return next + length + 2 <= bytes.length ? next + length + 2 : -1;
    }
    case "*":
    case "~":
    case ">":
    case "%": {
      let count = Number(header);
      if (count < 0) return next;
      if (type === "%") count *= 2;
      let end = next;
      for (let i = 0; i < count; i++) {
        end = replyEnd(bytes, end);
        if (end === -1) return -1;
      }
      return end;
    }
    default: // + - : _ , # (
      return next;
  }
}
