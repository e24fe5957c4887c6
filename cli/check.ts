/**
 * `kv check`: the command line of the conformance checker in check/. It
 * tests any server that speaks kv's line protocol (a student's Python
 * server included) and reports each rule as text, JSON or JUnit XML.
 *
 * @module
 */

import { formatResult, formatRuleList, jsonReport } from "../check/report.ts";
import { junitReport } from "../check/junit.ts";
import { header, noAnswerText, summary } from "../check/report_messages.ts";
import { waitsForNewlineNotice } from "../check/hint_messages.ts";
import { endHints } from "../check/hints.ts";
import { type Lang, LEVELS } from "../check/rule.ts";
import { rulesOf, rulesOver } from "../check/rules.ts";
import {
  CHECK_DEFAULTS,
  CheckHaltedError,
  CheckUnreachableError,
  runCheck,
} from "../check/runner.ts";
import { EXIT } from "./exit.ts";
import { connectFailedLine } from "./client_messages.ts";
import { formatAddr } from "../net/addr.ts";
import { errorMessage } from "../net/conn.ts";
import { permissionDenied } from "../net/permission.ts";
import { defaultLang } from "./lang.ts";
import { CLIENT_SECURITY_OPTIONS, clientSecurity } from "./secrets.ts";
import { type MainIo, REPEAT_SIGNAL_MS } from "./io.ts";
import {
  choice,
  command,
  decimal,
  flag,
  flagOf,
  helpText,
  integer,
  list,
  parseOptions,
  secondsToMs,
  text,
  UsageError,
} from "./options.ts";
import { listUdpLine } from "../check/udp_messages.ts";

// The report's language when --lang is not given (shared with kv client).
export { defaultLang };

/** `kv check`'s options, declared once: help, parsing and checks. */
export const CHECK_SPEC = command({
  name: "check",
  summary: `test a running server against kv's line protocol, rule by rule
(any server: a student's Python server too)`,
  usage: [
    "[OPTIONS]                 run the rules of a level",
    "--udp [OPTIONS]           the same over UDP datagrams (the server needs --udp)",
    "--list [--level LEVEL]    print the rules",
  ],
  options: {
    host: text({ value: "HOST", help: "server address", fallback: CHECK_DEFAULTS.hostname }),
    port: integer({
      short: "p",
      value: "PORT",
      help: "server port",
      fallback: CHECK_DEFAULTS.port,
      min: 1,
      max: 65_535,
    }),
    level: choice({
      value: "LEVEL",
      help: "assignment: what the course asks, the textbook way; contract: PROTOCOL.md; " +
        "full: the contract and loads",
      choices: LEVELS,
      fallback: CHECK_DEFAULTS.level,
    }),
    only: list({
      value: "RULE",
      help: "only these rules, of any level (repeat it or use commas; * matches anything: err.*)",
    }),
    list: flag(
      "print the rules (of --level, if given; with --udp, those that run over UDP) and exit",
    ),
    json: flag("print one JSON object for the run instead of the text"),
    junit: text({
      value: "FILE",
      help: "also write a JUnit XML report to FILE (- for stdout); needs --allow-write",
      fallback: undefined,
    }),
    lang: choice({
      value: "LANG",
      help: "en or ko: the language of the report",
      choices: ["en", "ko"] as const,
      fallback: defaultLang(),
      shown: "ko if the system's locale is Korean, else en",
    }),
    timeout: decimal({
      value: "SECONDS",
      help: "how long to wait for any answer (a whole answer, such as a LIST: ten times this)",
      fallback: CHECK_DEFAULTS.timeoutMs / 1000,
      min: 0,
      above: true,
      example: "seconds above 0, like 2 or 0.5",
    }),
    pauseMs: integer({
      value: "MS",
      help: "quiet this long ends an answer sent without \\n",
      fallback: CHECK_DEFAULTS.pauseMs,
      min: 1,
    }),
    assumeMaxLineBytes: integer({
      value: "N",
      help: "the server's longest request line, for load.long-line and the longest LIST line",
      fallback: CHECK_DEFAULTS.maxLineBytes,
      min: 1,
      max: 256 * 1024 * 1024,
    }),
    udp: flag(
      "send each request in a UDP datagram, its answer read from one datagram (the server " +
        "needs --udp); the rules about connections are left out",
    ),
    retries: integer({
      value: "N",
      help: "with --udp: send again this many times when no answer comes within --timeout",
      fallback: CHECK_DEFAULTS.retries,
      min: 0,
      max: 10,
    }),
    tls: CLIENT_SECURITY_OPTIONS.tls,
    tlsCa: CLIENT_SECURITY_OPTIONS.tlsCa,
    passwordFile: CLIENT_SECURITY_OPTIONS.passwordFile,
  },
  footer: `It writes only keys that start with "kvcheck:" and four random hex digits,
says so before the first rule, and deletes them at the end.
Exit status: 0 when every rule of the level holds (skipped ones aside), 1 when
one fails, 2 for a usage error, a file it may not read or write, or when the
server cannot be reached or answers nothing (then no rule runs: is another
client holding a server that serves one at a time?), 130 when stopped with
Ctrl-C (the rule under way finishes and deletes its keys first).`,
});

/** Runs `kv check` with `args`; returns the exit status. */
export async function runCheckCommand(args: string[], io: MainIo): Promise<number> {
  const { values: options, given, help } = parseOptions(CHECK_SPEC, args);
  const lang = options.lang;
  if (help) {
    await io.stdout(helpText(CHECK_SPEC));
    return EXIT.ok;
  }
  if (given.has("retries") && !options.udp) throw new UsageError("--retries needs --udp");
  // PROTOCOL.md, Datagrams: no connection to authenticate or encrypt, as kv serve refuses them.
  const tcpOnly = (["tls", "tlsCa", "passwordFile"] as const).find((name) => given.has(name));
  if (options.udp && tcpOnly !== undefined) {
    throw new UsageError(`cannot use ${flagOf(tcpOnly)} with --udp: UDP has no connections`);
  }
  const transport = options.udp ? "udp" : "tcp";
  if (options.list) {
    const rules = given.has("level") ? rulesOf(options.level, transport) : rulesOver(transport);
    // The udp.* rules are --udp's alone: say how to find them (not to --json, left as it was).
    const udpLine = options.udp || options.json ? "" : listUdpLine(lang);
    await io.stdout(formatRuleList(rules, lang) + udpLine);
    return EXIT.ok;
  }
  if (options.json && options.junit !== undefined) {
    throw new UsageError("cannot use --json with --junit: give one");
  }
  // Before the first rule, not after the last: a run is no use without its report.
  if (options.junit !== undefined && options.junit !== "-") {
    const write = { name: "write", path: options.junit } as const;
    let { state } = await Deno.permissions.query(write);
    // At a terminal Deno may ask the user: ask now, not after the run.
    if (state === "prompt" && io.stdinIsTerminal) {
      ({ state } = await Deno.permissions.request(write));
    }
    if (state !== "granted") {
      const refused = new Deno.errors.NotCapable(`Requires write access to "${options.junit}"`);
      await io.stderr(junitWriteFailedLine(options.junit, refused, lang, Deno.build.standalone));
      return EXIT.usage;
    }
  }
  // The text report goes to stdout unless stdout carries JSON or XML.
  const textOut = options.json ? undefined : options.junit === "-" ? io.stderr : io.stdout;
  // Ctrl-C: no new rule starts; the keys written are still deleted. A second one quits at once.
  const stop = new AbortController();
  let firstSignalAt = 0;
  const onSignal = () => {
    if (stop.signal.aborted) {
      // `deno task` forwards the terminal's Ctrl-C: two arrive at once (cli/serve.ts).
      if (Date.now() - firstSignalAt < REPEAT_SIGNAL_MS) return;
      Deno.exit(EXIT.interrupted);
    }
    firstSignalAt = Date.now();
    io.stderr(
      "kv: stopping after the rule under way, then deleting the keys written (Ctrl-C again to quit at once)\n",
    );
    stop.abort();
  };
  const onAbort = () => stop.abort();
  if (io.signal === undefined) Deno.addSignalListener("SIGINT", onSignal);
  else io.signal.addEventListener("abort", onAbort, { once: true });
  let run;
  const said = new Map<string, string>(); // Long failure reasons printed so far.
  const timeoutMs = secondsToMs(options.timeout);
  let textbookRules = 0; // Of the plan: the rules sent as the course's client sends them.
  try {
    run = await runCheck({
      signal: stop.signal,
      hostname: options.host,
      port: options.port,
      level: options.level,
      only: options.only,
      timeoutMs,
      pauseMs: options.pauseMs,
      maxLineBytes: options.assumeMaxLineBytes,
      udp: options.udp,
      retries: options.retries,
      ...clientSecurity(options, (line) => io.stderr(`kv: ${line}\n`)),
      onStart: (plan) => {
        textbookRules = plan.rules.filter((rule) => rule.level === "assignment").length;
        // The transport's own line (over UDP: the level's rules left out, as TCP's alone).
        return textOut?.(
          header(lang, { ...plan, rules: plan.rules.length }) + (plan.headerNote?.[lang] ?? ""),
        );
      },
      onWaitsForNewline: () => textOut?.(waitsForNewlineNotice(lang, textbookRules, timeoutMs)),
      onResult: (result) => textOut?.(formatResult(result, lang, said)),
    });
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    // Unreachable, or stopped for a cause on this side (out of file descriptors): exit 2.
    if (!(error instanceof CheckUnreachableError || error instanceof CheckHaltedError)) throw error;
    // In the report's language, as kv client says it.
    const address = formatAddr({ hostname: options.host, port: options.port });
    await io.stderr(
      error.text !== undefined
        ? `kv: ${error.text[lang]}\n`
        : connectFailedLine(lang, error, { address, host: options.host }),
    );
    return EXIT.unreachable;
  } finally {
    if (io.signal === undefined) Deno.removeSignalListener("SIGINT", onSignal);
    else io.signal.removeEventListener("abort", onAbort);
  }
  if (run.noAnswer !== undefined) {
    // Nothing was checked, as when the server cannot be reached: said on stderr, whatever the
    // report's form; --json and --junit still get theirs (saying so).
    await io.stderr(`kv: ${noAnswerText(run.address, run.noAnswer)[lang]}\n`);
  } else {
    await textOut?.(summary(lang, run));
    for (const hint of endHints(run, lang, options.tls)) await textOut?.(hint);
  }
  if (options.json) await io.stdout(`${JSON.stringify(jsonReport(run, lang), null, 2)}\n`);
  if (options.junit === "-") await io.stdout(junitReport(run, lang));
  else if (options.junit !== undefined) {
    try {
      await Deno.writeTextFile(options.junit, junitReport(run, lang));
    } catch (error) {
      await io.stderr(junitWriteFailedLine(options.junit, error, lang, Deno.build.standalone));
      return EXIT.usage;
    }
  }
  // Stopped, even during the last rule or the cleanup: the user was told it would stop.
  return stop.signal.aborted
    ? EXIT.interrupted
    : run.noAnswer !== undefined
    ? EXIT.unreachable
    : run.failed > 0
    ? EXIT.failed
    : EXIT.ok;
}

/**
 * The line for a JUnit report kv cannot write to `file`, for `error` (what
 * the write threw; `Deno.errors.NotCapable` also when the permission was
 * found missing before the run). Not a rule's failure: how kv was run, as
 * for the files it reads. Deno's refusal says how to get the permission
 * (`standalone`: in a compiled binary, how to compile one with it); the
 * file system's does not, since no flag helps there; anything else is in
 * the system's words (in English in either language).
 */
export function junitWriteFailedLine(
  file: string,
  error: unknown,
  lang: Lang,
  standalone: boolean,
): string {
  const why = error instanceof Deno.errors.NotCapable
    ? permissionDenied(
      [`--allow-write=${file}`],
      standalone,
      lang === "ko"
        ? { lang, or: `--junit - > ${file}처럼 표준 출력으로 쓰세요` }
        : { or: `write it with --junit - > ${file}` },
    )
    : error instanceof Deno.errors.PermissionDenied
    // The OS said no (the folder's owner or mode, say).
    ? lang === "ko"
      ? "파일 시스템이 쓰기를 허용하지 않습니다"
      : "permission denied by the file system"
    : errorMessage(error);
  return lang === "ko"
    ? `kv: ${file}에 JUnit 보고서를 쓸 수 없습니다: ${why}\n`
    : `kv: cannot write ${file}: ${why}\n`;
}
