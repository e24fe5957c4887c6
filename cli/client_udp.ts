/**
 * `kv client --udp`: each request in a datagram of its own
 * ({@linkcode udpRequest}), one at a time: the one given as words, or each
 * line of stdin (with a prompt on a terminal). It says when an answer needed
 * a retry, and, when none came, that UDP promises no delivery.
 *
 * @module
 */

import { TextLineStream } from "@std/streams";
import { KvAnswerError, KvNoAnswerError, notUtf8Answer } from "../client/errors.ts";
import { udpRequest } from "../client/udp.ts";
import { answerShape } from "../wire/line/encode.ts";
import { ERROR_PREFIX } from "../wire/line/reply.ts";
import { EXIT } from "./exit.ts";
import { secondsToMs } from "./options.ts";
import { type MainIo, traceTo } from "./io.ts";
import { runRepl } from "./client_repl.ts";
import { notUtf8Line } from "./client_messages.ts";
import {
  udpNoAnswerLine,
  udpNoNewlineNote,
  udpRetryNote,
  udpSendFailedLine,
  udpUnreachableLine,
} from "./client_udp_messages.ts";
import type { Lang } from "./lang.ts";
import { isUtf8From } from "../wire/utf8.ts";

/** The options of `kv client` that `--udp` uses. */
export interface UdpClientOptions {
  /** The server's address. */
  readonly host: string;
  /** The server's port. */
  readonly port: number;
  /** Seconds to wait for each answer. */
  readonly timeout: number;
  /** Sends after the first, before giving up. */
  readonly retries: number;
  /** Whether to trace the socket's events to stderr. */
  readonly trace: boolean;
  /** The language of the notes and hints (a failed send, no answer, a retry, no `\n`, not UTF-8). @default {"en"} */
  readonly lang?: Lang;
}

const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Runs `kv client --udp`: the request in `words`, or each stdin line. Returns the exit status. */
export async function runUdpClient(
  words: string[],
  options: UdpClientOptions,
  io: MainIo,
): Promise<number> {
  const address = `${options.host}:${options.port}`;
  const lang = options.lang ?? "en";
  let noted = false;
  // The answer's lines, or undefined when none came or it is not UTF-8 (said on stderr).
  const ask = async (line: string, signal?: AbortSignal): Promise<string[] | undefined> => {
    const shape = answerShape(line.replace(/\r$/, ""));
    if (shape === "none") return []; // A blank line: no request, no answer.
    let answer;
    try {
      answer = await udpRequest(`${line}\n`, {
        hostname: options.host,
        port: options.port,
        timeoutMs: secondsToMs(options.timeout),
        retries: options.retries,
        trace: options.trace ? traceTo(io) : undefined,
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error; // Ctrl-C: the prompt has ended and said so.
      if (!(error instanceof KvNoAnswerError)) {
        await io.stderr(udpSendFailedLine(lang, error, { address, host: options.host }));
        return undefined;
      }
      await io.stderr(
        error.portUnreachable ? udpUnreachableLine(lang, address) : udpNoAnswerLine(
          lang,
          error.message,
          address,
          error.tries,
          secondsToMs(options.timeout),
        ),
      );
      return undefined;
    }
    if (answer.tries > 1) {
      await io.stderr(udpRetryNote(lang, answer.tries));
    }
    if (!isUtf8From(answer.bytes, 0, answer.bytes.length)) {
      // As over TCP: the bytes, the likely cause; at the prompt it goes on.
      const bytes = answer.bytes.at(-1) === 0x0a ? answer.bytes.subarray(0, -1) : answer.bytes;
      const error = new KvAnswerError(notUtf8Answer(address, bytes), bytes);
      await io.stderr(notUtf8Line(lang, error, address));
      return undefined;
    }
    const lines = decoder.decode(answer.bytes).split("\n");
    // A datagram is one whole answer: what follows its last "\n" is the
    // answer's end, not a line still coming, so a server that does not end
    // its answers with "\n" (as the course's UDP example) is shown anyway.
    if (lines.at(-1) === "") lines.pop();
    else if (!noted) {
      noted = true;
      await io.stderr(udpNoNewlineNote(lang));
    }
    if (shape === "list" && lines.at(-1) === "") lines.pop(); // LIST's closing empty line.
    return lines;
  };
  const statusOf = (lines: string[]): number =>
    lines.some((text) => text.startsWith(ERROR_PREFIX)) ? EXIT.failed : EXIT.ok;
  const show = (lines: string[]) => io.stdout(lines.map((text) => `${text}\n`).join(""));

  if (words.length > 0) {
    const lines = await ask(words.join(" "));
    if (lines === undefined) return EXIT.unreachable;
    await show(lines);
    return statusOf(lines);
  }
  if (io.stdinIsTerminal) {
    // At a prompt, a lost datagram is said and the prompt goes on.
    return await runRepl({
      lang,
      prompt: `kv udp ${address}`,
      banner: `Sending to ${address} over UDP, a datagram per request.`,
      connected: false,
      request: ask,
    }, io);
  }
  let status: number = EXIT.ok;
  // @std/streams comes untyped from the npm mirror; this is its real type.
  const lines: ReadableStream<string> = io.stdin
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream());
  for await (const line of lines) {
    const answer = await ask(line);
    if (answer === undefined) return EXIT.unreachable;
    await show(answer);
    if (status === EXIT.ok) status = statusOf(answer);
  }
  return status;
}
