/**
 * `kv client`: the command line's three ways to use {@linkcode KvClient}:
 * one request given as words, a batch of stdin lines (pipelined, each
 * answer printed as it arrives), or an interactive prompt. It copes with
 * the servers students write: answers without `\n` are taken after a
 * pause, `--unframed` talks the textbook client's way, and `--timeout`
 * says what did arrive when an answer does not.
 *
 * @module
 */

import {
  type AnswerEnd,
  CLIENT_DEFAULTS,
  type IrregularAnswer,
  isErrorAnswer,
  KvClient,
} from "../client/client.ts";
import {
  KvAnswerError,
  KvConnectionError,
  KvServerError,
  KvTimeoutError,
} from "../client/errors.ts";
import { UDP_CLIENT_DEFAULTS } from "../client/udp.ts";
import { usage } from "../command/command.ts";
import { LINE_TABLE } from "../command/table.ts";
import { formatAddr } from "../net/addr.ts";
import { errorMessage } from "../net/conn.ts";
import { runBatch } from "./client_batch.ts";
import {
  authFailedLine,
  closedLine,
  type CloseHint,
  connectFailedLine,
  cutLine,
  greetingNote,
  notUtf8Line,
  optionsFirstNote,
  pauseNote,
  timeoutLines,
  type UnframedHint,
} from "./client_messages.ts";
import { runRepl } from "./client_repl.ts";
import { CLIENT_SECURITY_OPTIONS, clientSecurity } from "./secrets.ts";
import { runUdpClient } from "./client_udp.ts";
import { EXIT } from "./exit.ts";
import { type MainIo, traceTo } from "./io.ts";
import { defaultLang, type Lang } from "./lang.ts";
import {
  choice,
  command,
  decimal,
  flag,
  flagOf,
  helpText,
  integer,
  parseOptions,
  secondsToMs,
  text,
  UsageError,
} from "./options.ts";

// How long `kv client` waits for an answer over TCP, unless --timeout says.
const ANSWER_TIMEOUT_SECONDS = 10;
// How long it waits, once connected, for a greeting (a learner's server that sends `Welcome!`
// to each client): one sent at once is then told, not taken for the first answer.
const GREETING_WAIT_MS = 30;

/** `kv client`'s options, declared once: help, parsing and checks. */
export const CLIENT_SPEC = command({
  name: "client",
  summary: "send requests to a kv server and print its answers",
  usage: [
    "[OPTIONS] REQUEST...    send one request (its words joined by spaces)",
    "[OPTIONS] < FILE        send every line of stdin, pipelined",
    "[OPTIONS]               on a terminal: an interactive prompt",
  ],
  options: {
    host: text({
      value: "HOST",
      help: "server address (every address of a name is tried)",
      fallback: CLIENT_DEFAULTS.hostname,
    }),
    port: integer({
      short: "p",
      value: "PORT",
      help: "server port",
      fallback: CLIENT_DEFAULTS.port,
      min: 1,
      max: 65_535,
    }),
    timeout: decimal({
      value: "SECONDS",
      help:
        `give up when no whole line of an answer (nor 64 KiB of one) has come for this long [default: ${ANSWER_TIMEOUT_SECONDS}]; with --udp, send again [default: ${
          UDP_CLIENT_DEFAULTS.timeoutMs / 1000
        }]`,
      fallback: undefined,
      min: 0,
      above: true,
      example: "seconds above 0, like 10 or 0.5",
    }),
    pauseMs: integer({
      value: "MS",
      help: "take an answer that ends without \\n once nothing more comes for this long; 0 = never",
      fallback: 300,
      min: 0,
    }),
    unframed: flag(
      "send each request without \\n, alone, after the previous answer (textbook servers)",
    ),
    ...CLIENT_SECURITY_OPTIONS,
    udp: flag("send each request in a UDP datagram (the server needs --udp)"),
    retries: integer({
      value: "N",
      help: "with --udp: send again this many times before giving up",
      fallback: UDP_CLIENT_DEFAULTS.retries,
      min: 0,
      max: 10,
    }),
    trace: flag("print every socket event to stderr: connect, send, recv, close, ..."),
    lang: choice({
      value: "LANG",
      help: "en or ko: the language of the notes and hints (a timeout, a close, an answer " +
        "without \\n or not UTF-8)",
      choices: ["en", "ko"] as const,
      fallback: "en", // Not given: the system's locale decides (below).
      shown: "ko if the system's locale is Korean, else en",
    }),
  },
  words: true,
  footer: `REQUESTS:
  ${LINE_TABLE.commands.map(usage).join("    ")}

A server that reads one request per recv() (as the course's textbook server
does) needs --unframed for a batch; its answers without \\n are taken after
--pause-ms.
Exit status: 0 when every request was answered, 1 when an answer was an
"Error:" line or did not come in time, 2 for a usage error, when the server
cannot be reached, when the connection was lost before every answer came, or
(for a request or a batch) when an answer line was not UTF-8; 130 when Ctrl-C
stopped the prompt while it waited for an answer (at the prompt itself, Ctrl-C
leaves with 0, as Ctrl-D does).`,
});

const OPTION_IN_REQUEST_REGEXP =
  /(^|\s)(--(host|port|help|timeout|pause-ms|unframed|tls|tls-ca|password-file|udp|retries|trace|lang)\b|-[hp]\b)/;

// Options that only mean something over TCP.
const TCP_ONLY = ["pauseMs", "unframed", "tls", "tlsCa", "passwordFile"] as const;

/** Runs `kv client` with `args`; returns the exit status. */
export async function runClient(args: string[], io: MainIo): Promise<number> {
  const { values: options, words, help, given } = parseOptions(CLIENT_SPEC, args);
  if (help) {
    await io.stdout(helpText(CLIENT_SPEC));
    return EXIT.ok;
  }
  if (words.length > 0 && words.join("").trim() === "") {
    throw new UsageError("empty request: give one such as PING, or none for a prompt");
  }
  // Deno hands a program its arguments decoded, bytes that are not UTF-8
  // already replaced: such a request would be sent changed, and answered.
  if (words.some((word) => word.includes("\uFFFD"))) {
    throw new UsageError(
      "the request on the command line is not valid UTF-8 (or holds U+FFFD), and would be sent " +
        "changed: send it on stdin (printf '...\\n' | kv client)",
    );
  }
  if (words.some((word) => word.includes("\n"))) {
    throw new UsageError(
      "a request given on the command line cannot hold a line break: send several requests on stdin",
    );
  }
  if (given.has("retries") && !options.udp) throw new UsageError("--retries needs --udp");
  if (options.udp) {
    const tcpOnly = TCP_ONLY.find((name) => given.has(name));
    // PROTOCOL.md, Datagrams: no connection to authenticate or encrypt, no stream to frame.
    if (tcpOnly !== undefined) throw new UsageError(`cannot use ${flagOf(tcpOnly)} with --udp`);
    const timeout = options.timeout ?? UDP_CLIENT_DEFAULTS.timeoutMs / 1000;
    try {
      const lang = given.has("lang") ? options.lang : defaultLang(io.language);
      return await runUdpClient(words, { ...options, timeout, lang }, io);
    } catch (error) {
      // Reading stdin failed (a folder given as stdin, say): one line, as over TCP.
      await io.stderr(`kv: ${errorMessage(error)}\n`);
      return EXIT.unreachable;
    }
  }
  const security = clientSecurity(options, (line) => io.stderr(`kv: ${line}\n`));
  const batch = words.length === 0 && !io.stdinIsTerminal;
  const lang = given.has("lang") ? options.lang : defaultLang(io.language);
  const address = formatAddr({ hostname: options.host, port: options.port });
  // The request under way, one-shot or at the prompt (one at a time).
  let current = words.join(" ");
  // The note is said once; its --unframed hint once too, later if it could not be right at first.
  let noted: "no" | "note" | "hint" = "no";
  const onIrregularAnswer = (
    missing: IrregularAnswer,
    waiting: number,
    endedBy: AnswerEnd,
  ) => {
    const hint = unframedHint(missing, { batch, unframed: options.unframed, waiting, current });
    if (noted === "hint" || (noted === "note" && hint === undefined)) return;
    io.stderr(pauseNote(lang, missing, options.pauseMs, hint, noted === "note", endedBy));
    noted = hint === undefined ? "note" : "hint";
  };
  let client: KvClient;
  try {
    client = await KvClient.connect({
      hostname: options.host,
      port: options.port,
      answerTimeoutMs: secondsToMs(options.timeout ?? ANSWER_TIMEOUT_SECONDS),
      answerPauseMs: options.pauseMs,
      unframed: options.unframed,
      onIrregularAnswer,
      onGreeting: (lines) => io.stderr(greetingNote(lang, lines)),
      greetingWaitMs: GREETING_WAIT_MS,
      ...security,
      trace: options.trace ? traceTo(io) : undefined,
    });
  } catch (error) {
    if (error instanceof KvServerError) {
      await io.stderr(authFailedLine(lang, error.message));
      return EXIT.failed;
    }
    await io.stderr(connectFailedLine(lang, error, { address, host: options.host }));
    // `kv client PING -p 17420` tried the default port: say why.
    if (OPTION_IN_REQUEST_REGEXP.test(words.join(" "))) await io.stderr(optionsFirstNote(lang));
    return EXIT.unreachable;
  }
  try {
    if (words.length > 0) return await runOnce(client, words.join(" "), io, lang);
    if (batch) return await runBatch(client, io, options.pauseMs, lang);
    return await runRepl({
      lang,
      prompt: `kv ${client.address}`,
      banner: `Connected to ${client.address}.`,
      connected: true,
      request: async (line, signal) => {
        current = line;
        try {
          // A LIST's lines are printed as they come, as the one-shot's are: a
          // server that sends `x, y\n` without end is not held whole. None
          // once Ctrl-C stopped the wait.
          return await client.requestEach(line, async (lines) => {
            if (!signal?.aborted) await io.stdout(lines.map((text) => `${text}\n`).join(""));
          });
        } catch (error) {
          // An answer that is not UTF-8 leaves the connection standing: say it, and go on.
          if (!(error instanceof KvAnswerError)) throw error;
          await io.stderr(notUtf8Line(lang, error, client.address));
          return undefined;
        }
      },
    }, io);
  } catch (error) {
    if (error instanceof KvTimeoutError) {
      await io.stderr(timeoutLines(lang, error, client.address, options.unframed));
      return EXIT.failed;
    }
    if (error instanceof KvConnectionError && error.cut !== undefined) {
      // --pause-ms 0 takes no answer without its \n, even one the close ends.
      await io.stderr(cutLine(lang, error, client.address));
      return EXIT.failed;
    }
    if (error instanceof KvAnswerError) {
      await io.stderr(notUtf8Line(lang, error, client.address));
      return EXIT.unreachable;
    }
    if (!(error instanceof KvConnectionError)) {
      await io.stderr(`kv: ${errorMessage(error)}\n`);
      return EXIT.unreachable;
    }
    // Closed with no byte sent: the code serving us stopped at a request (or, in a batch,
    // at the requests a textbook server read as one).
    const silent = error.serverClose?.silent === true && error.serverClose.unanswered > 0;
    const hint: CloseHint | undefined = silent
      ? batch && !options.unframed ? "silent-batch" : "silent"
      : error.answers === 1
      // Answered once, then closed with requests waiting: a textbook server's habit.
      ? "closes-after-answer"
      : error.afterEnd === "newline" && !options.unframed
      ? "glued-at-end"
      : error.afterEnd === "list-end"
      ? "list-took-answers"
      : error.answers !== undefined && error.answers > 1 && !options.unframed
      // Only a batch sends requests together; the prompt sends each after the last answer.
      ? batch ? "glued" : "stopped"
      : undefined;
    await io.stderr(
      closedLine(lang, error, client.address, { tls: security.tls !== undefined, hint }),
    );
    return EXIT.unreachable;
  } finally {
    await client.close();
  }
}

async function runOnce(
  client: KvClient,
  line: string,
  io: MainIo,
  lang: Lang,
): Promise<number> {
  // A LIST's lines are printed as they come: a million pairs are not held whole.
  const print = (lines: string[]) => io.stdout(lines.map((answer) => `${answer}\n`).join(""));
  const lines = await client.requestEach(line, print);
  if (lines.length > 0) await print(lines);
  if (!isErrorAnswer(lines)) return EXIT.ok;
  // `kv client PING --port 1` sends "PING --port 1": say why it failed.
  if (OPTION_IN_REQUEST_REGEXP.test(line)) await io.stderr(optionsFirstNote(lang));
  return EXIT.failed;
}

/**
 * Which --unframed hint goes with an answer the pause took, if one can be
 * right. Both are for a textbook server, and both only for an answer that
 * lacked its \n (a LIST that lacked only its empty line had its lines
 * framed). A batch's: the server read one request per recv() and answered
 * once for several, so requests sent with this one still wait. One
 * request's (one-shot, at the prompt): the server kept the \n kv client
 * sends in its last field, so the request had a field after its command
 * word (LIST and PING have none).
 */
function unframedHint(
  missing: IrregularAnswer,
  seen: { batch: boolean; unframed: boolean; waiting: number; current: string },
): UnframedHint | undefined {
  if (seen.unframed || missing !== "newline") return undefined;
  if (seen.batch) return seen.waiting > 0 ? "batch" : undefined;
  return seen.current.includes(",") ? "one" : undefined;
}
