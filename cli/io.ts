/**
 * {@linkcode MainIo}: the process's streams as the command line uses them.
 * `main()` takes them as an argument, so tests run every subcommand
 * in-process with fake streams.
 *
 * @module
 */

import { errorMessage } from "../net/conn.ts";
import { escapeForTerminal } from "../net/show.ts";
import { formatTrace, type Tracer, traceStyle } from "../net/trace.ts";
import type { LineEditor } from "./line_editor.ts";

/** Where a subcommand reads and writes; tests pass their own. */
export interface MainIo {
  /** Standard input. */
  stdin: ReadableStream<Uint8Array>;
  /** Whether stdin is a terminal (then `kv client` is a prompt). */
  stdinIsTerminal: boolean;
  /** Whether stderr is a terminal (then `kv bench` draws progress). @default {false} */
  stderrIsTerminal?: boolean;
  /** Writes program output. */
  stdout(text: string): void | Promise<void>;
  /** Writes a log line or an error. */
  stderr(text: string): void | Promise<void>;
  /**
   * Stops `kv serve` gracefully, or `kv check` after the rule under way;
   * without it, the signals do (SIGINT, SIGTERM; `kv check`: SIGINT).
   */
  signal?: AbortSignal;
  /**
   * On a real terminal: opens a line editor (history, arrow keys) for the
   * REPL. Without it (tests, pipes) the REPL reads `stdin` plainly.
   */
  openLineEditor?: () => Promise<LineEditor>;
  /**
   * Whether standard output's reader has gone (a broken pipe: `| head`):
   * a command that would otherwise go on for ever (`kv client` reading an
   * endless stdin) stops. @default {() => false}
   */
  stdoutGone?: () => boolean;
  /**
   * The user's language as `navigator.language` says it (`ko-KR`): Korean
   * makes it `kv client`'s default `--lang`. Tests set one, so that they
   * read the same words on every machine. @default {navigator.language}
   */
  language?: string;
}

/**
 * Signals closer together than this count as one: Ctrl-C under `deno task`
 * arrives twice at once (from the terminal to the process group, and
 * forwarded by the task runner). Only a signal sent later is the user
 * insisting.
 */
export const REPEAT_SIGNAL_MS = 250;

const encoder = new TextEncoder();

/**
 * Writes all of `text` to a process stream, then returns a writer for the
 * next text. Once the reader has gone (`kv check | head`: a broken pipe),
 * the rest is dropped without a word, and `readerGone` is told: the command
 * still finishes what it started (kv check deletes the keys it wrote), as
 * nobody reads it anyway, but does not start more.
 * Any other error (a full disk under `> file`) goes to `failed` once, if
 * given, and the rest is dropped too; without `failed` it is thrown.
 */
export function processStream(
  file: { writeSync(bytes: Uint8Array): number },
  failed?: (error: unknown) => void,
  readerGone?: () => void,
): (text: string) => void {
  let gone = false;
  return (text) => {
    if (gone) return;
    const bytes = encoder.encode(text);
    try {
      for (let written = 0; written < bytes.length;) {
        written += file.writeSync(bytes.subarray(written));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BrokenPipe) && failed === undefined) throw error;
      gone = true;
      if (error instanceof Deno.errors.BrokenPipe) readerGone?.();
      else failed?.(error);
    }
  };
}

/** The real process streams. */
export function processIo(): MainIo {
  const stdinIsTerminal = Deno.stdin.isTerminal();
  const stderr = processStream(Deno.stderr, () => {}); // Nowhere left to say it.
  let stdoutGone = false;
  // Standard output that cannot be written (a full disk): one line on stderr, not a stack trace.
  const stdout = processStream(Deno.stdout, (error) => {
    stderr(`kv: cannot write to standard output: ${errorMessage(error)}\n`);
  }, () => stdoutGone = true);
  // On a terminal, what a server sent (a value anyone could have stored)
  // must not move the cursor, set the title or write the clipboard.
  const stdoutIsTerminal = Deno.stdout.isTerminal();
  return {
    stdin: Deno.stdin.readable,
    stdinIsTerminal,
    // Loaded only when needed: node:readline costs startup time.
    openLineEditor: stdinIsTerminal
      ? async () => (await import("./line_editor.ts")).openLineEditor()
      : undefined,
    stderrIsTerminal: Deno.stderr.isTerminal(),
    stdout: stdoutIsTerminal ? (text) => stdout(escapeForTerminal(text)) : stdout,
    stdoutGone: () => stdoutGone,
    stderr,
  };
}

/**
 * `--trace`'s sink: one line per event on stderr, with the other logs;
 * aligned (and coloured unless `NO_COLOR` is set) when stderr is a terminal.
 */
export function traceTo(io: MainIo): Tracer {
  const style = traceStyle(io.stderrIsTerminal ?? false, Deno.noColor);
  return (event) => {
    io.stderr(`${formatTrace(event, style)}\n`);
  };
}
