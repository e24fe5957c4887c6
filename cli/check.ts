/**
 * `kv check`: the command line of the conformance checker in check/. It
 * tests any server that speaks kv's line protocol (a student's Python
 * server included) and reports each rule as text, JSON or JUnit XML.
 *
 * @module
 */

import { formatResult, formatRuleList, jsonReport } from "../check/report.ts";
import { junitReport } from "../check/junit.ts";
import { failedAtPing, isLineTooLong, isNoNewline, isTimeout, REASON } from "../check/messages.ts";
import { header, noAnswerText, summary } from "../check/report_messages.ts";
import {
  closedUnansweredHint,
  closesHint,
  encodingHint,
  endlessHint,
  noNewlineHint,
  noPingHint,
  oneAtATimeHint,
  silentHint,
  stoppedAnsweringHint,
  stoppedAtHint,
  unansweredHint,
  waitsForNewlineHint,
  waitsForNewlineNotice,
} from "../check/hint_messages.ts";
import { type Lang, LEVELS } from "../check/rule.ts";
import { playsOver, rulesOf, rulesOver } from "../check/rules.ts";
import {
  CHECK_DEFAULTS,
  type CheckRun,
  CheckUnreachableError,
  type RuleResult,
  runCheck,
} from "../check/runner.ts";
import { isUtf8From } from "../wire/utf8.ts";
import { EXIT } from "./exit.ts";
import { connectFailedLine } from "./client_messages.ts";
import { formatAddr } from "../net/addr.ts";
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
import { encodeData } from "../check/play.ts";
import {
  cutDatagramHint,
  isUdpFramingFailure,
  leftOutLine,
  listUdpLine,
  TEXTBOOK_RECV_BYTES,
} from "../check/udp_messages.ts";

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
      return await cannotWriteJunit(options.junit, PERMISSION_DENIED, io, lang);
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
        // Over UDP, the rules of the level that are TCP's alone (--only names its own).
        const leftOut = options.udp && options.only.length === 0
          ? rulesOf(options.level).filter((rule) => !playsOver(rule, "udp")).map((rule) => rule.id)
          : [];
        return textOut?.(
          header(lang, { ...plan, rules: plan.rules.length }) + leftOutLine(lang, leftOut),
        );
      },
      onWaitsForNewline: () => textOut?.(waitsForNewlineNotice(lang, textbookRules, timeoutMs)),
      onResult: (result) => textOut?.(formatResult(result, lang, said)),
    });
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    if (!(error instanceof CheckUnreachableError)) throw error;
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
    await printEnd(run, lang, textOut, options.tls);
  }
  if (options.json) await io.stdout(`${JSON.stringify(jsonReport(run, lang), null, 2)}\n`);
  if (options.junit === "-") await io.stdout(junitReport(run, lang));
  else if (options.junit !== undefined) {
    try {
      await Deno.writeTextFile(options.junit, junitReport(run, lang));
    } catch (error) {
      const why =
        error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
          ? PERMISSION_DENIED
          : error instanceof Error
          ? error.message
          : String(error);
      return await cannotWriteJunit(options.junit, why, io, lang);
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

/** The end of the text report: the summary, and the hints that apply. */
async function printEnd(
  run: CheckRun,
  lang: Lang,
  textOut: MainIo["stdout"] | undefined,
  tls: boolean,
): Promise<void> {
  await textOut?.(summary(lang, run));
  const noNewline =
    run.results.filter((result) =>
      result.failure !== undefined && isNoNewline(result.failure.reason)
    ).length;
  if (noNewline >= 2) await textOut?.(noNewlineHint(lang, noNewline));
  const endless =
    run.results.filter((result) =>
      result.failure !== undefined && isLineTooLong(result.failure.reason)
    ).length;
  if (endless >= 2) await textOut?.(endlessHint(lang, endless));
  // Nothing at all came in time, the connection left open.
  const isSilent = (result: RuleResult) =>
    result.failure !== undefined && isTimeout(result.failure.reason) &&
    (result.failure.got?.length ?? 0) === 0;
  const silent = run.results.filter(isSilent).length;
  let from = run.results.length;
  while (from > 0 && isSilent(run.results[from - 1]!)) from--;
  // The server answered rules, then none from one on: it stopped answering anyone. The rules
  // after that one heard nothing at any step; that one may have got answers before it stopped.
  let stop = run.results.length;
  while (stop > from && run.results[stop - 1]!.heard !== true) stop--;
  if (stop > from) stop--;
  const answeredBefore = run.results.slice(0, stop).some((result) =>
    result.status !== "fail" || result.heard === true || (result.failure?.got?.length ?? 0) > 0
  );
  // A server of one client at a time answered the first client of the rules that end the
  // contract's (conn.concurrent, conn.disconnect): they heard something, and do not count.
  const unheard = run.results.slice(stop).filter((result) => result.heard !== true);
  // Nor when the cleanup, after the rules, got answers: that server was slow, or busy for a while.
  const stoppedAt = !run.waitsForNewline && !run.answeredCleanup && unheard.length >= 2 &&
      answeredBefore
    ? run.results[stop]!.rule.id
    : undefined;
  if (stoppedAt !== undefined) {
    await textOut?.(stoppedAnsweringHint(lang, stoppedAt, run.results.length - stop));
  }
  // Most rules got nothing at all: say that, not what a silent PING would suggest.
  const quiet = !run.waitsForNewline && silent >= 2 && silent * 2 >= run.results.length;
  if (quiet && stoppedAt === undefined) {
    await textOut?.(silentHint(lang, silent, run.results.length));
  }
  // Silent where the server answered the rules after: that request alone went unanswered
  // (not a line the server waits for the \n of, nor a second client of one served at a time).
  const unanswered = run.results.slice(0, from).filter((result) =>
    isSilent(result) && !result.rule.unframed &&
    !(run.oneAtATime && HELD_RULES.has(result.rule.id))
  ).map((result) => result.rule.id);
  if (!run.waitsForNewline && !quiet && unanswered.length > 0) {
    await textOut?.(unansweredHint(lang, unanswered));
  }
  // Closed with no answer where the server answered a rule after: that client's code stopped
  // there (not a server that died: the rules after could not connect, and say so).
  const lastAnswered = run.results.findLastIndex((result) => result.status === "pass");
  const closedUnanswered = run.results.slice(0, Math.max(lastAnswered, 0)).filter((result) =>
    result.failure !== undefined && (result.failure.got?.length ?? 0) === 0 &&
    result.failure.reason.en === REASON.closedSilently().en && !failedAtPing(result.failure)
  ).map((result) => result.rule.id);
  if (closedUnanswered.length > 0) {
    await textOut?.(closedUnansweredHint(lang, closedUnanswered));
  }
  // Refused from one rule on: the server died in that rule (its first step had connected) or
  // in the one before.
  const refused = (result: RuleResult) => result.failure?.reason.en === REASON.stopped().en;
  const refusedAt = run.results.findIndex(refused);
  const diedIn = refusedAt - (run.results[refusedAt]?.failure?.step === 1 ? 1 : 0);
  if (refusedAt >= 0 && diedIn >= 0) {
    // Those refused only: a server started again midway answers the rules after.
    const after = run.results.slice(diedIn + 1).filter(refused).length;
    await textOut?.(stoppedAtHint(lang, run.results[diedIn]!.rule.id, after));
  }
  const ping = run.results.find((result) => result.rule.id === "cmd.ping" && result.failure);
  const atPing =
    run.results.filter((result) =>
      result.rule.id !== "cmd.ping" && result.failure !== undefined && failedAtPing(result.failure)
    ).length;
  if (ping !== undefined && atPing >= 2 && !quiet && stoppedAt === undefined) {
    // "PONG " or "pong\r\n": PING is there, its answer is not exactly PONG.
    const got = ping.failure?.got;
    const almost = got !== undefined &&
      new TextDecoder().decode(got).trim().toUpperCase() === "PONG";
    // Closed with nothing said, or reset: PING may well be there, the connection is not.
    const reason = ping.failure!.reason.en;
    const closed = (got === undefined || got.length === 0) &&
      (reason === REASON.closed().en || reason === REASON.closedSilently().en ||
        reason.startsWith("cannot connect"));
    await textOut?.(
      closed ? closesHint(lang, atPing, tls) : noPingHint(lang, atPing, almost ? got : undefined),
    );
  }
  if (run.oneAtATime) await textOut?.(oneAtATimeHint(lang));
  // Answers not UTF-8, whole (kept ends may cut a character), to requests
  // that were (a server may echo the bytes a rule sent to test it).
  const notUtf8 = run.results.filter((result) => {
    const { got, gotBytes, sent } = result.failure ?? {};
    return got !== undefined && gotBytes === undefined && !isUtf8From(got, 0, got.length) &&
      (sent === undefined || isUtf8From(sent, 0, sent.length));
  });
  if (notUtf8.length > 0) {
    await textOut?.(encodingHint(lang, notUtf8.length, notUtf8[0]!.failure!.got!));
  }
  // Over UDP, a datagram past a textbook server's recvfrom(1024) is cut there: said where a
  // step after one failed with a wrong or missing answer (a value cut short), not where the
  // answer was framed wrong (no \n, several datagrams), which the cut does not explain.
  const cut = run.results.filter(({ rule, failure }) =>
    run.udp && failure !== undefined && !isUdpFramingFailure(failure.reason) &&
    rule.steps.slice(0, failure.step - 1).some((step) =>
      "send" in step && encodeData(step.send, run.prefix).length > TEXTBOOK_RECV_BYTES
    )
  ).map((result) => result.rule.id);
  if (cut.length > 0) await textOut?.(cutDatagramHint(lang, cut));
  if (run.waitsForNewline) {
    const timedOut = run.results.filter((result) =>
      result.failure !== undefined && isTimeout(result.failure.reason)
    ).length;
    await textOut?.(waitsForNewlineHint(lang, timedOut));
  }
}

// The rules a server of one client at a time fails by waiting: its own hint says why.
const HELD_RULES = new Set(["conn.concurrent", "conn.disconnect"]);

const PERMISSION_DENIED = "permission denied";

/**
 * Says the JUnit report cannot be written, and how to get it; the exit
 * status. `why`: {@linkcode PERMISSION_DENIED}, or the system's words (in
 * English in either language).
 */
async function cannotWriteJunit(
  file: string,
  why: string,
  io: MainIo,
  lang: Lang,
): Promise<number> {
  const denied = why === PERMISSION_DENIED;
  // Not a rule's failure: how kv was run, as for the files it reads.
  if (lang === "ko") {
    const how = denied
      ? `권한이 없습니다(--allow-write=${file} 옵션을 주고 실행하거나, --junit - > ${file}처럼 ` +
        "표준 출력으로 쓰세요)"
      : why;
    await io.stderr(`kv: ${file}에 JUnit 보고서를 쓸 수 없습니다: ${how}\n`);
    return EXIT.usage;
  }
  const how = denied
    ? ` (run with --allow-write=${file}, or write it with --junit - > ${file})`
    : "";
  await io.stderr(`kv: cannot write ${file}: ${why}${how}\n`);
  return EXIT.usage;
}
