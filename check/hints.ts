/**
 * Which hints a `kv check` run's results call for, after its summary: a
 * greeting before any request; one answer to every request; many answers
 * without `\n`, or without end; a server that stopped answering, went
 * silent, left one request unanswered, closed without an answer or died in
 * a rule; a PING that is almost right; a request in pieces taken piecemeal; one client at a time; answers not
 * UTF-8; a datagram past `recvfrom(1024)`; a server that waits for the
 * `\n`. The words are in hint_messages.ts; this decides which.
 * Pure: no socket.
 *
 * @module
 */

import { failedAtPing, isLineTooLong, isNoNewline, isTimeout, REASON } from "./messages.ts";
import {
  AUTH_REQUIRED,
  authRequiredHint,
  closedUnansweredHint,
  closesHint,
  encodingHint,
  endlessHint,
  greetingHint,
  noNewlineHint,
  noPingHint,
  oneAtATimeHint,
  piecesHint,
  sameAnswerHint,
  silentHint,
  stoppedAnsweringHint,
  stoppedAtHint,
  unansweredHint,
  waitsForNewlineHint,
} from "./hint_messages.ts";
import type { Expect, Lang } from "./rule.ts";
import type { CheckRun, RuleResult } from "./runner.ts";
import { encodeData } from "./play.ts";
import {
  cutDatagramHint,
  isUdpFramingFailure,
  isUdpUnreachable,
  TEXTBOOK_RECV_BYTES,
  udpSilentHint,
  udpStoppedHint,
} from "./udp_messages.ts";
import { isUtf8From } from "../wire/utf8.ts";

const decoder = new TextDecoder();
// The rules a server of one client at a time fails by waiting: its own hint says why.
const HELD_RULES = new Set(["conn.concurrent", "conn.disconnect"]);

/**
 * The hints a run's results call for, in `lang`, in the order the report
 * prints them after its summary (`tls`: the run spoke TLS).
 */
export function endHints(run: CheckRun, lang: Lang, tls: boolean): string[] {
  const hints: string[] = [];
  // What came before any request: a refusal if it holds an Error: line (`Error: too many
  // connections`, sent at accept, as kv client tells it: AnswerQueue.takeGreeting), else a
  // greeting, which shifts every answer after it: said first, as it explains the rest.
  const before = run.greeting === undefined ? undefined : decoder.decode(run.greeting);
  const refusal = before !== undefined && /(^|\n)Error: /.test(before);
  const greeted = before === undefined || refusal
    ? 0
    : run.results.filter(({ failure }) =>
      failure?.got !== undefined && startsWith(failure.got, run.greeting!)
    ).length;
  if (greeted > 0) hints.push(greetingHint(lang, run.greeting!, greeted));
  // One answer to every request, unless it is the refusal: the server refused, it did not answer.
  const same = sameAnswer(run.results, run.prefix);
  if (
    greeted === 0 && same !== undefined && !(refusal && before!.replace(/\s+$/, "") === same.got)
  ) {
    // The contract's answer before AUTH: the server knows the requests, and wants a password.
    hints.push(
      same.got === AUTH_REQUIRED
        ? authRequiredHint(lang, same.rules)
        : sameAnswerHint(lang, same.got, same.rules),
    );
  }
  const noNewline =
    run.results.filter((result) =>
      result.failure !== undefined && isNoNewline(result.failure.reason)
    ).length;
  if (noNewline >= 2) hints.push(noNewlineHint(lang, noNewline));
  const endless =
    run.results.filter((result) =>
      result.failure !== undefined && isLineTooLong(result.failure.reason)
    ).length;
  if (endless >= 2) hints.push(endlessHint(lang, endless));
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
  // Over UDP on Windows, a stopped server's port answers "port unreachable": the server died
  // in that rule (if its first step already met it, in the one before).
  const unreachable = (result: RuleResult) =>
    result.failure !== undefined && isUdpUnreachable(result.failure.reason);
  const unreachableAt = run.udp ? run.results.findIndex(unreachable) : -1;
  const udpDiedIn = unreachableAt - (run.results[unreachableAt]?.failure?.step === 1 ? 1 : 0);
  if (unreachableAt >= 0 && udpDiedIn >= 0) {
    const died = run.results[udpDiedIn]!;
    const sizes = died.rule.steps.map((step) =>
      "send" in step ? encodeData(step.send, run.prefix).length : 0
    );
    const big = Math.max(...sizes);
    const after = run.results.slice(udpDiedIn + 1).filter(unreachable).length;
    hints.push(
      udpStoppedHint(lang, died.rule.id, after, big > TEXTBOOK_RECV_BYTES ? big : undefined),
    );
  } else if (run.udp && !run.answeredCleanup && run.written > 0) {
    // Over UDP on Linux a server that died goes silent, no "port unreachable" said: its last
    // answer came in a rule, and nothing after, not even the cleanup's DELETEs.
    const last = run.results.findLastIndex((result) =>
      result.status === "pass" || result.heard === true
    );
    const after = run.results.slice(last + 1);
    if (
      last >= 0 && (after.length > 0 || run.results[last]!.status === "fail") &&
      after.every((result) => result.heard !== true)
    ) {
      const { rule, status } = run.results[last]!;
      hints.push(udpSilentHint(lang, rule.id, after.length, status === "pass"));
    }
  } else if (stoppedAt !== undefined) {
    hints.push(stoppedAnsweringHint(lang, stoppedAt, run.results.length - stop));
  }
  // Most rules got nothing at all: say that, not what a silent PING would suggest.
  const quiet = !run.waitsForNewline && silent >= 2 && silent * 2 >= run.results.length;
  if (quiet && stoppedAt === undefined) {
    hints.push(silentHint(lang, silent, run.results.length));
  }
  // Silent where the server answered the rules after: that request alone went unanswered
  // (not a line the server waits for the \n of, nor a second client of one served at a time).
  const unanswered = run.results.slice(0, from).filter((result) =>
    isSilent(result) && !result.rule.unframed &&
    !(run.oneAtATime && HELD_RULES.has(result.rule.id))
  ).map((result) => result.rule.id);
  if (!run.waitsForNewline && !quiet && unanswered.length > 0) {
    hints.push(unansweredHint(lang, unanswered));
  }
  // Closed with no answer where the server answered a rule after: that client's code stopped
  // there (not a server that died: the rules after could not connect, and say so).
  const lastAnswered = run.results.findLastIndex((result) => result.status === "pass");
  const closedUnanswered = run.results.slice(0, Math.max(lastAnswered, 0)).filter((result) =>
    result.failure !== undefined && (result.failure.got?.length ?? 0) === 0 &&
    result.failure.reason.en === REASON.closedSilently().en && !failedAtPing(result.failure)
  ).map((result) => result.rule.id);
  if (closedUnanswered.length > 0) {
    hints.push(closedUnansweredHint(lang, closedUnanswered));
  }
  // Refused from one rule on: the server died in that rule (its first step had connected) or
  // in the one before.
  const refused = (result: RuleResult) => result.failure?.reason.en === REASON.stopped().en;
  const refusedAt = run.results.findIndex(refused);
  const diedIn = refusedAt - (run.results[refusedAt]?.failure?.step === 1 ? 1 : 0);
  if (refusedAt >= 0 && diedIn >= 0) {
    // Those refused only: a server started again midway answers the rules after.
    const after = run.results.slice(diedIn + 1).filter(refused).length;
    hints.push(stoppedAtHint(lang, run.results[diedIn]!.rule.id, after));
  }
  const ping = run.results.find((result) => result.rule.id === "cmd.ping" && result.failure);
  const atPing =
    run.results.filter((result) =>
      result.rule.id !== "cmd.ping" && result.failure !== undefined && failedAtPing(result.failure)
    ).length;
  // Not after a greeting (every answer came one late, PONG too), nor when no request was known,
  // nor when PING got the refusal: the server refused that client, it did not answer it.
  const pingRefused = refusal && startsWith(ping?.failure?.got ?? new Uint8Array(0), run.greeting!);
  if (
    ping !== undefined && atPing >= 2 && !quiet && stoppedAt === undefined && greeted === 0 &&
    same === undefined && !pingRefused
  ) {
    // "PONG " or "pong\r\n": PING is there, its answer is not exactly PONG.
    const got = ping.failure?.got;
    // ... or "[server] PONG": PONG with more around it (the rule's reason says what).
    const almost = got !== undefined && /(^|[^\p{L}\p{N}])PONG([^\p{L}\p{N}]|$)/iu.test(
      new TextDecoder().decode(got),
    );
    // Closed with nothing said, or reset: PING may well be there, the connection is not.
    const reason = ping.failure!.reason.en;
    const closed = (got === undefined || got.length === 0) &&
      (reason === REASON.closed().en || reason === REASON.closedSilently().en ||
        reason.startsWith("cannot connect"));
    hints.push(
      closed ? closesHint(lang, atPing, tls) : noPingHint(lang, atPing, almost ? got : undefined),
    );
  }
  // A request sent in pieces got another answer than the one the same server gave that
  // request sent whole (in a rule that passed): it took a piece for the request.
  for (const { rule, failure } of run.results) {
    const sent = rule.steps[(failure?.step ?? 0) - 2];
    const step = rule.steps[(failure?.step ?? 0) - 1];
    const got = failure?.got;
    if (sent === undefined || !("sendPieces" in sent) || got === undefined || got.length === 0) {
      continue;
    }
    const want = step !== undefined && "expect" in step && "line" in step.expect
      ? step.expect.line
      : undefined;
    const answeredWhole = want !== undefined &&
      run.results.some((result) =>
        result.status === "pass" &&
        result.rule.steps.some((other) =>
          "expect" in other && "line" in other.expect && other.expect.line === want
        )
      );
    if (!answeredWhole) continue;
    const pieces = sent.sendPieces.map((piece) => encodeData(piece, run.prefix));
    hints.push(piecesHint(lang, rule.id, pieces, sent.gapMs, got));
  }
  if (run.oneAtATime) hints.push(oneAtATimeHint(lang));
  // Answers not UTF-8, whole (kept ends may cut a character), to requests
  // that were (a server may echo the bytes a rule sent to test it).
  const notUtf8 = run.results.filter((result) => {
    const { got, gotBytes, sent } = result.failure ?? {};
    return got !== undefined && gotBytes === undefined && !isUtf8From(got, 0, got.length) &&
      (sent === undefined || isUtf8From(sent, 0, sent.length));
  });
  if (notUtf8.length > 0) {
    hints.push(encodingHint(lang, notUtf8.length, notUtf8[0]!.failure!.got!));
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
  if (cut.length > 0) hints.push(cutDatagramHint(lang, cut));
  if (run.waitsForNewline) {
    const timedOut = run.results.filter((result) =>
      result.failure !== undefined && isTimeout(result.failure.reason)
    ).length;
    hints.push(waitsForNewlineHint(lang, timedOut));
  }
  return hints;
}

/** Whether `bytes` begins with `start` (a greeting of a few bytes; an answer of a few KiB). */
function startsWith(bytes: Uint8Array, start: Uint8Array): boolean {
  return bytes.length >= start.length && start.every((byte, i) => bytes[i] === byte);
}

/**
 * The one answer every failed rule got, if at least three did and they
 * wanted at least two different answers, and no rule passed with another
 * answer: a server that recognises no request (it parsed `str(data)`,
 * `"b'PUT, k, v'"`), and says so the same way each time. One whose PUT got
 * `Success!` recognised it: its failures have another cause (a store made
 * per connection answers every GET `Not exist!`; a server at its
 * connection limit refuses every client alike).
 */
function sameAnswer(
  results: readonly RuleResult[],
  prefix: string,
): { got: string; rules: number } | undefined {
  const failed = results.flatMap(({ failure }) => failure === undefined ? [] : [failure]);
  const answers = new Set(
    failed.map(({ got }) => new TextDecoder().decode(got ?? new Uint8Array(0)).replace(/\s+$/, "")),
  );
  const wanted = new Set(failed.map(({ expected }) => expected.en));
  const [got] = answers;
  if (failed.length < 3 || answers.size !== 1 || got === "" || wanted.size < 2) return undefined;
  const otherwise = results.some(({ rule, status }) =>
    status === "pass" &&
    rule.steps.some((step) => "expect" in step && answersOtherwise(step.expect, got!, prefix))
  );
  return otherwise ? undefined : { got: got!, rules: failed.length };
}

/** Whether an answer that passed `expect` cannot have been `got` (its line ends dropped). */
function answersOtherwise(expect: Expect, got: string, prefix: string): boolean {
  const text = (line: string) => line.replaceAll("{k}", prefix).replace(/\s+$/, "");
  if ("line" in expect) return text(expect.line) !== got;
  if ("lines" in expect) return text(expect.lines.join("\n")) !== got;
  if ("raw" in expect) return text(expect.raw) !== got;
  if ("list" in expect) return expect.list.length > 0;
  if ("emptyList" in expect) return got !== "Not exist!";
  if ("error" in expect) return !got.startsWith(`Error: ${expect.starting ?? ""}`);
  return false; // Anything, a close or a silence: no answer of its own.
}
