/**
 * Real `kv` processes for the end-to-end suites in e2e/ (crash tests with a
 * real kill -9, signals, locks between processes): {@linkcode startKv}
 * spawns `deno run main.ts serve ...` with the permissions a user would
 * give it, and {@linkcode runKv} runs a short-lived subcommand. Using these
 * needs `--allow-run` for the Deno binary; the default test command never
 * imports a suite that calls them.
 *
 * @module
 */

import { BOUND_MS, within } from "./wait.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

/** How a kv process is started. */
export interface KvProcessOptions {
  /** The data folder: the process gets read and write permission on it, nothing else on disk. */
  dir?: string;
  /** Environment variables to set; the process may read them (`--allow-env` for each). */
  env?: Record<string, string>;
  /** Deno permission flags to use instead of those `dir` implies. */
  permissions?: string[];
}

function command(args: string[], options: KvProcessOptions): Deno.Command {
  const env = options.env ?? {};
  const permissions = options.permissions ?? [
    "--allow-net=127.0.0.1",
    ...(options.dir === undefined
      ? []
      : [`--allow-read=${options.dir}`, `--allow-write=${options.dir}`]),
    ...(Object.keys(env).length > 0 ? [`--allow-env=${Object.keys(env).join(",")}`] : []),
  ];
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...permissions, MAIN, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** A running `kv serve`. */
export interface KvProcess extends AsyncDisposable {
  /** The port it listens on. */
  readonly port: number;
  /** The process. */
  readonly child: Deno.ChildProcess;
  /** Its stderr so far. */
  readonly stderr: string;
  /** Resolves once its stderr matches `pattern`. */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Kills it with SIGKILL (kill -9) and waits for it to be gone. */
  kill9(): Promise<void>;
  /** Sends `signal` and waits for the exit: its status and all it wrote to stderr. */
  stop(signal?: Deno.Signal): Promise<{ code: number; stderr: string }>;
}

/** Collects a stream's text, and wakes waiters when it matches. */
class TextSink {
  text = "";
  readonly done: Promise<void>;
  #waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const chunk of stream) {
        this.text += decoder.decode(chunk, { stream: true });
        this.#waiters = this.#waiters.filter(({ pattern, resolve }) => {
          const match = this.text.match(pattern);
          if (match) resolve(match);
          return !match;
        });
      }
    })();
  }

  waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    const match = this.text.match(pattern);
    if (match) return Promise.resolve(match);
    return new Promise((resolve) => this.#waiters.push({ pattern, resolve }));
  }
}

/**
 * Starts `kv serve --port 0 ARGS...` and resolves once it prints its
 * listening line. Fails (killing it) if it exits first or takes longer
 * than {@linkcode BOUND_MS}.
 */
export async function startKv(args: string[], options: KvProcessOptions = {}): Promise<KvProcess> {
  const child = command(["serve", "--port", "0", ...args], options).spawn();
  const stdout = new TextSink(child.stdout);
  const stderr = new TextSink(child.stderr);
  const ended = (async () => {
    const status = await child.status;
    await Promise.all([stdout.done, stderr.done]);
    return { code: status.code, stderr: stderr.text };
  })();
  const listening = stdout.waitFor(/^listening on 127\.0\.0\.1:(\d+)$/m);
  const first = await within(
    "kv serve to start",
    Promise.race([listening, ended.then((end) => end)]),
    BOUND_MS,
  ).catch(async (error) => {
    child.kill("SIGKILL");
    await ended;
    throw error;
  });
  if (!Array.isArray(first)) {
    throw new Error(`kv serve exited with ${first.code} before listening:\n${first.stderr}`);
  }
  let gone = false;
  const process: KvProcess = {
    port: Number(first[1]),
    child,
    get stderr() {
      return stderr.text;
    },
    waitForStderr: (pattern) => within(`stderr to match ${pattern}`, stderr.waitFor(pattern)),
    async kill9() {
      if (!gone) child.kill("SIGKILL");
      gone = true;
      await ended;
    },
    async stop(signal = "SIGTERM") {
      if (!gone) child.kill(signal);
      gone = true;
      return await within("kv serve to exit", ended);
    },
    async [Symbol.asyncDispose]() {
      await process.kill9();
    },
  };
  return process;
}

/** Runs `kv ARGS...` to its end; returns its exit status and output. */
export async function runKv(
  args: string[],
  options: KvProcessOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await within("kv to finish", command(args, options).output());
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Folder of the end-to-end suites' files: `.e2e-tmp/` in the repository, where they get permissions. */
const E2E_ROOT = ".e2e-tmp";

/** A new, empty folder under {@linkcode E2E_ROOT}, removed when disposed. */
export async function e2eDir(): Promise<AsyncDisposable & { path: string }> {
  await Deno.mkdir(E2E_ROOT, { recursive: true });
  const path = await Deno.makeTempDir({ dir: E2E_ROOT });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}
