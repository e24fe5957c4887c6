/**
 * {@linkcode FakeIo}: a fake process for `main()`, with stdin from chunks
 * the test gives and stdout and stderr captured, and a way to wait for
 * output. Re-exported by `testing/mod.ts`.
 *
 * @module
 */

import type { MainIo } from "../cli/io.ts";

const encoder = new TextEncoder();

/** A fake process: stdin from the given chunks, stdout and stderr captured. */
export class FakeIo {
  /** The streams to pass to `main()`. */
  readonly io: MainIo;
  #stdout = "";
  #stderr = "";
  #waiters: { stream: "stdout" | "stderr"; pattern: RegExp; resolve(m: RegExpMatchArray): void }[] =
    [];

  /** `stdin`: what the process reads; `terminal`: whether stdin is a terminal. */
  constructor(
    options: {
      stdin?: string | Uint8Array | (string | Uint8Array)[] | ReadableStream<Uint8Array>;
      terminal?: boolean;
      signal?: AbortSignal;
      stderrIsTerminal?: boolean;
      /** stdout's reader goes away (a broken pipe) once this many characters were written. */
      stdoutBreaksAfter?: number;
      /** The user's language (`navigator.language`): `kv client`'s default `--lang`. @default {"en-US"} */
      language?: string;
    } = {},
  ) {
    const input = options.stdin ?? "";
    const stdin = input instanceof ReadableStream ? input : ReadableStream.from(
      (Array.isArray(input) ? input : [input]).map((chunk) =>
        typeof chunk === "string" ? encoder.encode(chunk) : chunk
      ),
    );
    this.io = {
      stdin,
      stdinIsTerminal: options.terminal ?? false,
      // The same words on every machine: a test that wants Korean says --lang ko.
      language: options.language ?? "en-US",
      stderrIsTerminal: options.stderrIsTerminal ?? false,
      stdout: (text) => {
        if (this.#stdout.length >= (options.stdoutBreaksAfter ?? Infinity)) return;
        this.#stdout += text;
        this.#wake();
      },
      stdoutGone: () => this.#stdout.length >= (options.stdoutBreaksAfter ?? Infinity),
      stderr: (text) => {
        this.#stderr += text;
        this.#wake();
      },
      signal: options.signal,
    };
  }

  /** Everything written to stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Everything written to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves once stdout matches `pattern`. */
  waitForStdout(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.#waitFor("stdout", pattern);
  }

  /** Resolves once stderr matches `pattern`. */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.#waitFor("stderr", pattern);
  }

  #waitFor(stream: "stdout" | "stderr", pattern: RegExp): Promise<RegExpMatchArray> {
    const { promise, resolve } = Promise.withResolvers<RegExpMatchArray>();
    this.#waiters.push({ stream, pattern, resolve });
    this.#wake();
    return promise;
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter(({ stream, pattern, resolve }) => {
      const match = (stream === "stdout" ? this.#stdout : this.#stderr).match(pattern);
      if (match) resolve(match);
      return !match;
    });
  }
}
