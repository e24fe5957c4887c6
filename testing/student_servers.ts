/**
 * Small line-protocol servers written from scratch for the tests, not from
 * kv's code: {@linkcode studentServer}, a plain server that gets the
 * contract right unless told to make one {@linkcode Mistake};
 * {@linkcode textbookServer}, the assignment's server as students write it
 * (one client at a time, one read per request, answers without `\n`; the
 * same as e2e/textbook_server.py); and {@linkcode heldServer}, a server of
 * one client at a time that another client holds. `kv check` must tell
 * each mistake apart. What the line server answers each request is
 * student_respond.ts's.
 * Re-exported by testing/mod.ts.
 *
 * @module
 */

import { closeQuietly, writeAll } from "../net/conn.ts";
import { accepted } from "./sockets.ts";
import { respond } from "./student_respond.ts";

/** One thing a careless server gets wrong. */
export type Mistake =
  /** Splits fields on `", "` and trims nothing. */
  | "split-comma-space"
  /**
   * Splits the request as Python's `data.decode().split(",")` does, and
   * strips the command word only: the last field keeps the `\n`. `PUT, k, v`
   * stores `" k"`, and `DELETE, k` looks up `" k\n"`: Not exist!
   */
  | "split-comma-no-strip"
  /** Trims every kind of white space (JavaScript's `trim()`, Python's `strip()`). */
  | "trim-all-space"
  /** Accepts only upper-case command words. */
  | "case-sensitive"
  /** Folds case with `toUpperCase()`, so `pıng` is `PING`. */
  | "unicode-case"
  /** Ends LIST without its empty line. */
  | "list-no-empty-line"
  /** Answers LIST on an empty store with nothing at all. */
  | "list-empty-nothing"
  /** Lists a deleted pair still (DELETE hides it from GET only). */
  | "list-keeps-deleted"
  /** Lists each pair twice. */
  | "list-twice"
  /** Closes the connection after an `Error:` answer. */
  | "error-closes"
  /** Stores a pair with an empty key. */
  | "empty-key-accepted"
  /** Keeps a PUT value only up to its next comma. */
  | "value-cut-at-comma"
  /** Answers only the first request of each read. */
  | "first-request-only"
  /** Ends answer lines with `\r\n`. */
  | "crlf-answers"
  /** Decodes bytes that are not UTF-8 with U+FFFD instead of refusing them. */
  | "lossy-utf8"
  /** Answers a blank line with an error. */
  | "blank-line-answered"
  /** Serves one client at a time. */
  | "one-client-at-a-time"
  /** Answers QUIT but keeps the connection open. */
  | "quit-stays-open"
  /** Drops a last line that has no `\n` when the client half-closes. */
  | "no-half-close"
  /** Answers the end of the stream (`recv()` giving `b""`) with "Wrong request!" for ever: no `if not data: break`. */
  | "loops-after-eof"
  /** Waits for `\n` forever: no unframed pause. */
  | "no-unframed"
  /** Answers `Success!` to DELETE even when the key is missing. */
  | "delete-always-success"
  /** Answers a GET of a missing key with nothing at all (`if key in store: send(...)`, no else). */
  | "get-missing-silent"
  /** Answers a GET of a missing key, and LIST of an empty store (`"\n".join()` of no pairs), with nothing. */
  | "missing-silent"
  /** Does not drop the `\r` of a `\r\n` request. */
  | "keeps-cr"
  /** Stops accepting connections once a client resets its connection (Python's uncaught ConnectionResetError). */
  | "dies-on-disconnect"
  /** Stops on a request with more fields than its command takes (Python's `_, k, v = fields`). */
  | "dies-on-extra-fields"
  /**
   * Stops when a client closes in the middle of a request: the bytes left
   * at `b""` go through a second code path, without the first one's try.
   */
  | "dies-on-close-mid-request"
  /** Knows no PING (the assignment does not ask for it). */
  | "no-ping"
  /** Answers `Sucess!` for `Success!` (kv check's cleanup must still see its DELETEs taken). */
  | "success-typo"
  /** Closes the connection after every answer. */
  | "closes-after-answer"
  /** Stores `PUT, key` with no value as the key with an empty value (Python's `",".join(fields[2:])`). */
  | "put-without-value"
  /** Ends every answer line with a space before its `\n`, as Python's `print(answer, "")` would. */
  | "print-space"
  /** Answers a GET of a missing key with `None` (Python's `str(store.get(key))`). */
  | "get-none"
  /** Sends LIST's pairs with no `\n` between them (a `send()` of each pair without one). */
  | "list-glued"
  /** Answers LIST with the store as Python's `str(dict)` prints it. */
  | "list-dict"
  /** Puts `[server] ` before every answer (`sendall(f"[server] {answer}\n")`). */
  | "answer-prefix"
  /** Greets each client with a line of its own as it connects, before any request. */
  | "greeting"
  /**
   * Answers every request `Wrong request!`: it parses `str(data)`,
   * `"b'PUT, k, v\\n'"`, so no command word is one it knows.
   */
  | "same-answer"
  /**
   * Takes what each read returns for whole lines (Python's
   * `data.decode().split("\\n")` of each `recv()`): a request split across
   * reads is answered piece by piece.
   */
  | "no-buffer"
  /**
   * Makes its store in each client's handler (Python's `store = {}` inside
   * `handle(conn)`): a pair PUT on one connection is gone on the next.
   */
  | "store-per-connection";

/** A test server: its port, and disposal that stops it and waits for its connections. */
export interface TestLineServer extends AsyncDisposable {
  readonly port: number;
}

const encoder = new TextEncoder();
const UNFRAMED_PAUSE_MS = 30;
const MAX_LINE_BYTES = 1_048_576;

/** A line-protocol server on 127.0.0.1, port 0, right but for `mistake`. */
export function studentServer(mistake?: Mistake): TestLineServer {
  const shared = new Map<string, string>();
  return listen(async (conn, stop) => {
    const store = mistake === "store-per-connection" ? new Map<string, string>() : shared;
    try {
      await serveLines(conn, store, mistake);
    } catch (error) {
      // Like a Python server whose ConnectionResetError or BrokenPipeError
      // goes uncaught: the whole server ends.
      if (mistake?.startsWith("dies-on")) stop();
      throw error;
    }
  }, mistake === "one-client-at-a-time");
}

/**
 * The assignment's server the way its students write it: one client at a
 * time, one `recv(1024)` per request, fields split on commas and stripped,
 * answers without `\n` (e2e/textbook_server.py is the same in Python).
 */
export function textbookServer(): TestLineServer {
  const store = new Map<string, string>();
  const decoder = new TextDecoder(); // errors="replace"
  return listen(async (conn) => {
    const buffer = new Uint8Array(1024);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return;
      const parts = decoder.decode(buffer.subarray(0, n)).split(",").map((part) => part.trim());
      const command = parts[0]!.toUpperCase();
      let answer = "Wrong request!";
      if (command === "PUT" && parts.length >= 3) {
        store.set(parts[1]!, parts[2]!);
        answer = "Success!";
      } else if (command === "GET" && parts.length === 2) {
        answer = store.get(parts[1]!) ?? "Not exist!";
      } else if (command === "DELETE" && parts.length === 2) {
        answer = store.delete(parts[1]!) ? "Success!" : "Not exist!";
      } else if (command === "LIST") {
        answer = store.size === 0
          ? "Not exist!"
          : [...store].map(([key, value]) => `${key}, ${value}`).join("\n");
      }
      await writeAll(conn, encoder.encode(answer));
    }
  }, true);
}

/** A server held by another client ({@linkcode heldServer}). */
export interface HeldServer extends AsyncDisposable {
  readonly port: number;
  /**
   * Lets the holding client go. The server then takes the connections that
   * waited, in the order they came, each read to its end, and stops:
   * what each sent (a reset one: what came before the reset).
   */
  release(): Promise<string[]>;
}

/**
 * A server that serves one client at a time, held by another client: it
 * has accepted a client that stays connected and says nothing (a student's
 * forgotten `nc`), so every later connection is taken by the kernel (the
 * listen backlog) and waits there, unanswered, with what it sent.
 */
export async function heldServer(): Promise<HeldServer> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  const holder = await Deno.connect({ hostname: "127.0.0.1", port });
  const held = await listener.accept();
  let released: Promise<string[]> | undefined;
  const release = () =>
    released ??= (async () => {
      holder.close();
      held.close();
      // The backlog is first in, first out: once this last connection is
      // taken, so is every one that waited before it.
      const last = await Deno.connect({ hostname: "127.0.0.1", port });
      const lastPort = last.localAddr.port;
      last.close();
      const sent: string[] = [];
      try {
        for await (const conn of accepted(listener)) {
          try {
            if (conn.remoteAddr.port === lastPort) break;
            sent.push(await readToEnd(conn));
          } finally {
            closeQuietly(conn);
          }
        }
      } finally {
        closeQuietly(listener);
      }
      return sent;
    })();
  return {
    port,
    release,
    async [Symbol.asyncDispose]() {
      await release();
    },
  };
}

/** What `conn` sends up to its end, or up to a reset. */
async function readToEnd(conn: Deno.Conn): Promise<string> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let text = "";
  try {
    for (let n; (n = await conn.read(buffer)) !== null;) {
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
  } catch {
    // Reset: what came before it is what was sent.
  }
  return text + decoder.decode();
}

/** Accepts connections (one at a time if `serial`), each handled by `handle`. */
function listen(
  handle: (conn: Deno.TcpConn, stop: () => void) => Promise<void>,
  serial: boolean,
): TestLineServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handlers = new Set<Promise<void>>();
  const stop = () => closeQuietly(listener);
  const accepting = (async () => {
    for await (const conn of accepted(listener)) {
      const handler = handle(conn, stop).catch(() => {}).finally(() => closeQuietly(conn));
      if (serial) await handler;
      handlers.add(handler);
      handler.finally(() => handlers.delete(handler));
    }
  })();
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose]() {
      stop();
      await accepting;
      for (const handler of handlers) await handler;
    },
  };
}

/** Reads lines (and the unframed pause, and the end of the stream) and answers each. */
async function serveLines(
  conn: Deno.TcpConn,
  store: Map<string, string>,
  mistake: Mistake | undefined,
): Promise<void> {
  const chunk = new Uint8Array(64 * 1024);
  let pending = new Uint8Array(0);
  let sawNewline = false;
  let reading: Promise<number | null> | undefined;
  let skipping = false;
  const answer = async (line: Uint8Array, fixed?: string): Promise<"close" | "go on"> => {
    const result = fixed === undefined ? respond(line, store, mistake) : { text: fixed };
    if (result === undefined) return "go on";
    const text = mistake === "crlf-answers"
      ? result.text.replaceAll("\n", "\r\n")
      : mistake === "success-typo"
      ? result.text.replace(/^Success!\n/, "Sucess!\n")
      : mistake === "print-space"
      ? result.text.replace(/(.)\n/g, "$1 \n")
      : mistake === "answer-prefix" && result.text !== ""
      ? `[server] ${result.text}`
      : result.text;
    await writeAll(conn, encoder.encode(text));
    return result.close || mistake === "closes-after-answer" ? "close" : "go on";
  };
  if (mistake === "greeting") await writeAll(conn, encoder.encode("Welcome to the kv server!\n"));
  while (true) {
    reading ??= conn.read(chunk);
    const pause = !sawNewline && pending.length > 0 && mistake !== "no-unframed";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"pause">((resolve) => {
      if (pause) timer = setTimeout(() => resolve("pause"), UNFRAMED_PAUSE_MS);
    });
    let n: number | null | "pause";
    try {
      n = await Promise.race([reading, late]);
    } finally {
      clearTimeout(timer);
    }
    if (n === "pause") {
      const line = pending;
      pending = new Uint8Array(0);
      if (await answer(line) === "close") return;
      continue;
    }
    reading = undefined;
    if (n === null && pending.length > 0 && mistake === "dies-on-close-mid-request") {
      throw new Error("not enough values to unpack (expected 3, got 2)");
    }
    if (n === null) {
      if (pending.length > 0 && mistake !== "no-half-close") await answer(pending);
      // Until the client closes: then the write fails, and the handler ends.
      while (mistake === "loops-after-eof") {
        await writeAll(conn, encoder.encode("Wrong request!\n"));
      }
      return;
    }
    const data = new Uint8Array(pending.length + n);
    data.set(pending);
    data.set(chunk.subarray(0, n), pending.length);
    let start = 0;
    if (skipping) {
      const nl = data.indexOf(0x0a);
      if (nl === -1) continue;
      skipping = false;
      start = nl + 1;
    }
    let answered = false;
    for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
      sawNewline = true;
      const line = data.subarray(start, nl);
      start = nl + 1;
      const blank = isBlank(line);
      if (mistake === "first-request-only" && answered && !blank) continue;
      if (await answer(line) === "close") return;
      answered ||= !blank;
    }
    pending = data.slice(start);
    if (mistake === "no-buffer" && pending.length > 0) {
      const piece = pending;
      pending = new Uint8Array(0);
      if (await answer(piece) === "close") return;
    }
    if (pending.length > MAX_LINE_BYTES) {
      // Too long: say so at once, then skip to the next \n.
      if (await answer(new Uint8Array(0), "Error: line too long\n") === "close") return;
      pending = new Uint8Array(0);
      skipping = true;
    }
  }
}

function isBlank(line: Uint8Array): boolean {
  return line.every((byte) => byte === 0x20 || byte === 0x09 || byte === 0x0d);
}
