/**
 * `kv client`'s interactive prompt, over TCP or (`--udp`) UDP. On a real
 * terminal it reads through a line editor (arrow keys, history:
 * cli/line_editor.ts); otherwise (tests, a terminal it cannot drive) it
 * reads stdin plainly, line by line.
 *
 * @module
 */

import { TextLineStream } from "@std/streams";
import { usage } from "../command/command.ts";
import { LINE_TABLE } from "../command/table.ts";
import { EXIT } from "./exit.ts";
import type { MainIo } from "./io.ts";
import type { Lang } from "./lang.ts";

/** What the prompt talks to: a TCP connection, or a UDP socket. */
export interface ReplSession {
  /** The language of the prompt's notes (the tip, Ctrl-C); its banner and help stay English. */
  readonly lang: Lang;
  /** What the prompt shows before `> `: `kv 127.0.0.1:12000`. */
  readonly prompt: string;
  /** The first line printed. */
  readonly banner: string;
  /**
   * Whether there is a connection: AUTH and QUIT mean something. Over UDP
   * there is none to authenticate or end, so AUTH is not offered and `quit`
   * leaves the prompt without sending anything, as `exit` does.
   */
  readonly connected: boolean;
  /**
   * Sends one request and returns its answer's lines; `undefined` when
   * there was none, which the session has already said on stderr and the
   * prompt goes on after. A thrown error ends the prompt. `signal` aborts
   * on Ctrl-C: the request stops quietly (the prompt has ended).
   */
  request(line: string, signal?: AbortSignal): Promise<string[] | undefined>;
}

/** The REPL's help, from the command table (AUTH's lines only where there is a connection). */
function replHelp(connected: boolean): string {
  return [
    "Type a request and press Enter; the server's answer is printed below it.",
    ...LINE_TABLE.commands.filter((entry) => connected || entry.name !== "AUTH").map((entry) =>
      entry.name !== "QUIT"
        ? `  ${usage(entry).padEnd(18)} ${entry.summary}`
        : connected
        ? `  ${"quit".padEnd(18)} ${entry.summary} (exit or Ctrl-D: leave without it)`
        : `  ${
          "quit".padEnd(18)
        } leave, as exit and Ctrl-D do (nothing is sent: no connection to end)`
    ),
    "On kv, command words are case-insensitive and spaces around commas are ignored.",
    "Up and down recall earlier requests; left and right move in the line.",
    ...(connected ? ["AUTH alone asks for the password without showing it."] : []),
    "",
  ].join("\n");
}

const AUTH_ALONE_REGEXP = /^[ \t]*auth[ \t]*,?[ \t]*$/i;
const AUTH_REGEXP = /^[ \t]*auth[ \t]*,/i;

/** The interactive prompt, for a person at a terminal. */
export async function runRepl(session: ReplSession, io: MainIo): Promise<number> {
  const prompt = `${session.prompt}> `;
  const help = replHelp(session.connected);
  await io.stdout(`${session.banner} Type "help" for the commands.\n`);
  const editor = await io.openLineEditor?.();
  const plain = editor === undefined ? plainLines(io, prompt) : undefined;
  try {
    while (true) {
      const line = editor === undefined
        ? (await plain!.next()).value
        : await editor.readLine(prompt);
      if (line === null || line === undefined) break;
      const word = line.trim().toLowerCase();
      if (word === "help" || word === "?") {
        await io.stdout(help);
        continue;
      }
      // QUIT asks the server to end the connection; with none (UDP), it is only leaving.
      if (word === "exit" || (word === "quit" && !session.connected)) return EXIT.ok;
      let request = line;
      if (session.connected && AUTH_ALONE_REGEXP.test(line)) {
        // The password is asked for apart, and never shown as it is typed.
        const password = editor === undefined
          ? (await plain!.next()).value
          : await editor.readSecret("Password: ");
        if (password === null || password === undefined) break;
        request = `AUTH, ${password}`;
      } else if (session.connected && AUTH_REGEXP.test(line)) {
        // Typed with the password: keep it out of the history at least.
        editor?.forgetLast();
        await io.stderr(
          session.lang === "ko"
            ? "kv: 참고: 비밀번호가 화면에 보이지 않게 하려면 AUTH만 입력하세요(그러면 비밀번호를 " +
              "따로 묻습니다)\n"
            : "kv: tip: type AUTH alone to enter the password without showing it\n",
        );
      }
      const interrupted = editor?.interrupted;
      const answer = await untilInterrupted(session.request(request, interrupted), interrupted);
      if (answer === INTERRUPTED) {
        // The caller closes the connection, or the signal ends a UDP try;
        // an answer that comes later is not shown.
        await io.stderr(
          session.lang === "ko"
            ? "kv: 답을 기다리는 중에 Ctrl-C로 멈췄습니다\n"
            : "kv: stopped with Ctrl-C while waiting for an answer\n",
        );
        return EXIT.interrupted;
      }
      if (answer !== undefined) await io.stdout(answer.map((text) => `${text}\n`).join(""));
      if (word === "quit") return EXIT.ok;
    }
  } finally {
    editor?.close();
    await plain?.return(undefined);
  }
  await io.stdout("\n");
  return EXIT.ok;
}

const INTERRUPTED: unique symbol = Symbol("interrupted");

/**
 * What `pending` gives, or {@linkcode INTERRUPTED} if Ctrl-C comes first
 * (then its failure goes unheard). The listener goes with the request, so
 * a long session keeps no answer alive.
 */
function untilInterrupted<T>(
  pending: Promise<T>,
  interrupted: AbortSignal | undefined,
): Promise<T | typeof INTERRUPTED> {
  if (interrupted === undefined) return pending;
  return new Promise((resolve, reject) => {
    const stop = () => {
      pending.catch(() => {});
      resolve(INTERRUPTED);
    };
    if (interrupted.aborted) return stop();
    interrupted.addEventListener("abort", stop, { once: true });
    pending.then(resolve, reject).finally(() => interrupted.removeEventListener("abort", stop));
  });
}

/** Lines of stdin, each after its prompt: for input that is not a terminal we drive. */
async function* plainLines(io: MainIo, prompt: string): AsyncGenerator<string, undefined> {
  // @std/streams comes untyped from the npm mirror; this is its real type.
  const lines: ReadableStream<string> = io.stdin
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream());
  await io.stdout(prompt);
  for await (const line of lines) {
    yield line;
    await io.stdout(prompt);
  }
  return undefined;
}
