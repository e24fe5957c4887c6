/**
 * {@linkcode openLineEditor}: the REPL's line editing and history on a
 * terminal (arrow keys, Home/End, Ctrl-R is not there, but up and down
 * recall earlier requests), from `node:readline`, which Deno runs with
 * terminal support and no extra permission.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";

/** Reads lines from a person, with editing and history. */
export interface LineEditor {
  /**
   * Aborted when Ctrl-C is pressed. At the prompt Ctrl-C also ends
   * {@linkcode LineEditor.readLine} with `null`; while the caller waits for
   * something else (an answer), the caller stops on it. Either way the
   * lines typed ahead are dropped: every readLine after it is `null`.
   * Optional, for an editor of a caller's own.
   */
  readonly interrupted?: AbortSignal;
  /** Shows `prompt` and resolves with the line typed, or `null` at the end (Ctrl-D, Ctrl-C). */
  readLine(prompt: string): Promise<string | null>;
  /** As readLine, but what is typed is not shown, and not kept in the history (a password). */
  readSecret(prompt: string): Promise<string | null>;
  /** Drops the last line from the history (one that held a password). */
  forgetLast(): void;
  /** Gives the terminal back. */
  close(): void;
}

/** Where the editor reads and writes; the process's terminal unless a test passes streams. */
export interface LineEditorOptions {
  /** @default {process.stdin} */
  input?: NodeJS.ReadableStream;
  /** @default {process.stdout} */
  output?: NodeJS.WritableStream;
}

/** Requests remembered for the up arrow. */
const HISTORY_SIZE = 1_000;

/** A line editor over a terminal. */
export function openLineEditor(options: LineEditorOptions = {}): LineEditor {
  const rl = createInterface({
    input: options.input ?? process.stdin,
    output: options.output ?? process.stdout,
    terminal: true,
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
  });
  let closed = false;
  let waiting: ((line: string | null) => void) | undefined;
  // Lines that came while none was asked for: a paste of several, or typed
  // ahead while an answer was awaited. Each is the next readLine's, in turn
  // (readline's question() would let all but the first go unheard).
  const queued: string[] = [];
  rl.on("line", (line: string) => {
    const resolve = waiting;
    waiting = undefined;
    // No prompt is shown until the next is asked for: what is typed ahead starts a line.
    rl.setPrompt("");
    if (resolve === undefined) queued.push(line);
    else resolve(line);
  });
  rl.on("close", () => {
    closed = true;
    waiting?.(null);
    waiting = undefined;
  });
  // Ctrl-C leaves, as Ctrl-D does (readline would otherwise only pause);
  // the terminal is in raw mode, so it comes as a key, not as SIGINT.
  const interrupts = new AbortController();
  rl.on("SIGINT", () => {
    // Lines pasted or typed ahead and not yet run go with it, as a terminal
    // flushes its input on ^C: the next readLine is the end, not the paste's next request.
    queued.length = 0;
    // Text typed ahead while an answer was awaited: what follows starts on a line of its own.
    if (rl.line.length > 0) (options.output ?? process.stdout).write("\n");
    interrupts.abort();
    rl.close();
  });
  // readline echoes through this method; while a secret is typed it writes
  // nothing but the prompt and the final newline.
  const internals = rl as unknown as {
    _writeToOutput(text: string): void;
    history: string[];
  };
  const write = internals._writeToOutput.bind(rl);
  let muted = "";
  internals._writeToOutput = (text: string) => {
    if (muted === "" || text === muted || text.endsWith("\n")) write(text);
  };
  // The line last given out, which forgetLast() drops from the history (a
  // later line of a paste may already be in it).
  let last: string | undefined;
  const readLine = async (prompt: string): Promise<string | null> => {
    const line = queued.length > 0
      ? queued.shift()!
      : closed
      ? null
      : await new Promise<string | null>((resolve) => {
        waiting = resolve;
        rl.setPrompt(prompt);
        rl.prompt();
      });
    if (line !== null) last = line;
    return line;
  };
  const forget = (line: string | undefined): void => {
    const at = line === undefined ? -1 : internals.history.indexOf(line);
    if (at !== -1) internals.history.splice(at, 1);
  };
  return {
    interrupted: interrupts.signal,
    readLine,
    async readSecret(prompt) {
      muted = prompt;
      try {
        const secret = await readLine(prompt);
        if (secret !== null) forget(secret);
        return secret;
      } finally {
        muted = "";
      }
    },
    forgetLast() {
      forget(last);
    },
    close() {
      if (!closed) rl.close();
    },
  };
}
