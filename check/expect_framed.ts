/**
 * {@linkcode expectFramed}: a step's `expect` checked the contract's way,
 * the answer read as lines ended by `\n` (a LIST's up to its empty line,
 * each pair checked as it comes). Every way a line can fail to come is a
 * reason of its own: a pause without `\n`, a close, no answer in time, an
 * answer that never ends.
 *
 * @module
 */

import { concat, equalBytes } from "../net/bytes.ts";
import { lineAnswerReason, listAnswerReason } from "./answer_reasons.ts";
import { type PlayConfig, StepFailure } from "./context.ts";
import {
  deletedKeys,
  isRecased,
  isSpaced,
  keyOf,
  MAX_TRACKED_PAIRS,
  sameKeyLines,
  StepSkip,
} from "./expect.ts";
import { EXPECTED, REASON, SKIPPED } from "./messages.ts";
import { ERROR_LINE_BYTES, LINE_SLACK_BYTES, MAX_ANSWER_BYTES } from "./probe.ts";
import type { AnswerSource } from "./transport.ts";
import type { Expect, Text } from "./rule.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// How many lines of a LIST's answer a failure shows.
const SHOWN_LIST_LINES = 50;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Checks the answer on `probe` to what was `sent` against `expect`, read as
 * lines: throws {@linkcode StepFailure} saying why it is wrong, or
 * {@linkcode StepSkip} when the store makes the rule moot.
 */
export async function expectFramed(
  config: PlayConfig,
  probe: AnswerSource,
  sent: Uint8Array,
  expect: Expect,
): Promise<void> {
  const { timeoutMs, prefix } = config;
  const fail = (expected: Text, got: Uint8Array | undefined, reason: Text): never => {
    throw new StepFailure({ sent, expected, got, reason });
  };
  if ("line" in expect || "raw" in expect) {
    const want = "line" in expect ? `${expect.line.replaceAll("{k}", prefix)}\n` : expect.raw;
    const expected = EXPECTED.literal(want);
    const raw = await readLine(config, probe, sent, expected, [], undefined, byteLength(want));
    if (sameBytes(raw, encoder.encode(want))) return;
    if ("line" in expect && sameBytes(stripLineEnd(raw), encoder.encode(want.slice(0, -1)))) {
      return;
    }
    const crlf = "raw" in expect &&
      sameBytes(stripLineEnd(raw), encoder.encode(want.slice(0, -1)));
    const text = decoder.decode(stripLineEnd(raw));
    const spaced = !crlf && isSpaced(text, want.slice(0, -1));
    const cased = !crlf && !spaced && isRecased(text, want.slice(0, -1));
    return fail(
      expected,
      raw,
      crlf
        ? REASON.crlf()
        : spaced
        ? REASON.spaces()
        : cased
        ? REASON.caseChanged()
        : ("line" in expect && !crlf ? lineAnswerReason(text, want.slice(0, -1)) : undefined) ??
          REASON.differs(),
    );
  }
  if ("lines" in expect) {
    const expected = EXPECTED.literal(expect.lines.map((text) => `${text}\n`).join(""));
    const got: Uint8Array[] = [];
    const { timeoutMs } = config;
    const longest = Math.max(...expect.lines.map((text) => byteLength(text) + 2));
    for (const text of expect.lines) {
      // Some answered, the rest never: the textbook one-request-per-recv() server.
      const silence = got.length > 0
        ? REASON.answeredSome(got.length, expect.lines.length, timeoutMs)
        : undefined;
      const raw = await readLine(config, probe, sent, expected, got, silence, longest);
      got.push(raw);
      if (!sameBytes(stripLineEnd(raw), encoder.encode(text))) {
        const shaped = lineAnswerReason(decoder.decode(stripLineEnd(raw)), text);
        return fail(expected, concat(got), shaped ?? REASON.differs());
      }
    }
    return;
  }
  if ("error" in expect) {
    const start = `Error: ${expect.starting ?? ""}`;
    const expected = expect.starting === undefined ? EXPECTED.error() : EXPECTED.literal(start);
    const raw = await readLine(
      config,
      probe,
      sent,
      expected,
      [],
      undefined,
      sent.length + ERROR_LINE_BYTES,
    );
    if (!decoder.decode(raw).startsWith("Error: ")) {
      const text = decoder.decode(stripLineEnd(raw));
      fail(expected, raw, lineAnswerReason(text, "Error: ", true) ?? REASON.notError());
    }
    if (!decoder.decode(raw).startsWith(start)) fail(expected, raw, REASON.differs());
    return;
  }
  if ("list" in expect || "emptyList" in expect) {
    const wanted = "list" in expect
      ? expect.list.map((text) => text.replaceAll("{k}", prefix))
      : [];
    const expected = "list" in expect ? EXPECTED.list(wanted) : EXPECTED.literal("Not exist!\n\n");
    // A pair was stored by a request line within the server's line limit.
    const longest = "pair";
    const first = await readLine(config, probe, sent, expected, [], undefined, longest).catch(
      (error: unknown) => {
        // Pairs that never got their \n: the store holds keys, so this rule
        // cannot apply (resp.* rules tell of the missing \n).
        if ("emptyList" in expect && error instanceof StepFailure && error.detail.got) {
          const lines = decoder.decode(error.detail.got).split(/\r?\n/).filter((l) => l !== "");
          if (lines.length > 0 && lines.every((l) => l.includes(", "))) {
            throw new StepSkip(SKIPPED.storeHasKeys(lines.length));
          }
        }
        throw error;
      },
    );
    const got = [first];
    // The LIST's next line; silence now means its end never came.
    const nextLine = () =>
      readLine(config, probe, sent, expected, got, REASON.listEnd(timeoutMs), longest);
    if ("emptyList" in expect && decoder.decode(stripLineEnd(first)) === "Not exist!") {
      const end = await nextLine();
      if (stripLineEnd(end).length !== 0) fail(expected, concat([...got, end]), REASON.differs());
      return;
    }
    // The store may hold millions of pairs: each is checked as it comes and
    // not kept, and a failure shows the first lines. A LIST must end
    // within ten timeouts (a server may list forever).
    const listDeadline = Date.now() + 10 * timeoutMs;
    const found = new Set<string>();
    const recased = new Set<string>(); // Wanted lines LIST shows in another case.
    const gone = deletedKeys(expect, prefix);
    const ours = new Set<string>(); // The check's own pairs so far: each once.
    let twice: string | undefined;
    let ghost: string | undefined;
    let pairs = 0;
    let bad: Uint8Array | undefined;
    let line = first;
    while (stripLineEnd(line).length > 0) {
      const pair = decoder.decode(stripLineEnd(line));
      if (!pair.includes(", ")) bad ??= stripLineEnd(line);
      else if (pair.startsWith(prefix) && ours.has(pair)) twice ??= pair;
      else if (wanted.includes(pair)) found.add(pair);
      else if (gone.includes(keyOf(pair))) ghost ??= pair;
      else {
        const like = wanted.find((text) => isRecased(pair, text));
        if (like !== undefined) recased.add(like);
      }
      // Bounded: a server may stream endless lines that carry the prefix.
      if (pair.startsWith(prefix) && ours.size < MAX_TRACKED_PAIRS) ours.add(pair);
      pairs++;
      // A line that is no pair already fails the rule: read on only for the lines a failure
      // shows, not (from a server that sends one line without end) up to the deadline.
      if (bad !== undefined && got.length >= SHOWN_LIST_LINES) break;
      if (Date.now() > listDeadline) {
        fail(expected, concat(got), REASON.listNeverEnds(10 * timeoutMs));
      }
      line = await nextLine();
      if (got.length < SHOWN_LIST_LINES) got.push(line);
    }
    // A dict as str() prints it, or pairs with no \n between them: the shape names the habit.
    const shaped = (missing: readonly string[]) =>
      listAnswerReason(decoder.decode(concat(got)), missing);
    if (bad !== undefined) {
      const missing = wanted.filter((text) => !found.has(text));
      // "[server] Not exist!" for an empty store: the right line with more around it.
      const empty = "emptyList" in expect
        ? lineAnswerReason(decoder.decode(bad), "Not exist!")
        : undefined;
      fail(expected, concat(got), shaped(missing) ?? empty ?? REASON.listShape(bad));
    }
    if ("emptyList" in expect) throw new StepSkip(SKIPPED.storeHasKeys(pairs));
    if (ghost !== undefined) fail(expected, concat(got), REASON.listDeleted(ghost));
    if (twice !== undefined) fail(expected, concat(got), REASON.listTwice(twice));
    const missing = wanted.filter((text) => !found.has(text));
    if (missing.length > 0) {
      fail(
        expected,
        concat(got),
        missing.every((text) => recased.has(text))
          ? REASON.listCaseChanged(missing)
          : shaped(missing) ?? REASON.listMissing(missing, sameKeyLines(missing, ours)),
      );
    }
    return;
  }
  if ("closed" in expect) {
    const end = await probe.readEnd(timeoutMs);
    if (end === "eof") return;
    if (end === "timeout") {
      return fail(EXPECTED.closed(), undefined, REASON.stayedOpen(timeoutMs, probe.halfClosed));
    }
    return fail(EXPECTED.closed(), end, REASON.sentMore(probe.halfClosed));
  }
  if ("silenceMs" in expect) {
    const got = await probe.silence(expect.silenceMs);
    if (got.length > 0) fail(EXPECTED.silence(expect.silenceMs), got, REASON.answeredEarly());
    return;
  }
  throw new TypeError(`the contract cannot check ${JSON.stringify(expect)}`);
}

/**
 * Reads one line, or fails the step saying why none came. `longest`: the
 * most bytes a right answer's line has, its `\n` included, or `"pair"`, a
 * LIST's line: the server's line limit, as assumed (`--assume-max-line-bytes`);
 * a little past it with no `\n`, the read stops (see {@linkcode LINE_SLACK_BYTES}).
 * `timeoutReason`: why nothing more coming fails, once `before` holds the
 * answer's first lines.
 */
async function readLine(
  config: PlayConfig,
  probe: AnswerSource,
  sent: Uint8Array,
  expected: Text,
  before: Uint8Array[] = [],
  timeoutReason?: Text,
  longest?: number | "pair",
): Promise<Uint8Array> {
  const { timeoutMs, pauseMs } = config;
  const most = longest === "pair" ? config.maxLineBytes : longest;
  const limit = most === undefined
    ? MAX_ANSWER_BYTES
    : Math.min(MAX_ANSWER_BYTES, most + LINE_SLACK_BYTES);
  const read = await probe.readLine(timeoutMs, pauseMs, limit);
  if (read.kind === "line") return read.raw;
  const got = concat([...before, read.got]);
  const { transport } = config;
  // The transport words no answer, an end before the `\n` (a close; over UDP, the datagram's),
  // and an answer in pieces (over UDP, more datagrams). A datagram never pauses without its `\n`
  // (quiet), flows on, or holds MAX_ANSWER_BYTES.
  const reason = read.kind === "timeout"
    ? timeoutReason ?? transport.noAnswer(config, probe)
    : await transport.splitAnswer(probe, pauseMs) ??
      (read.kind === "quiet"
        ? REASON.quiet(pauseMs)
        : read.kind === "flowing"
        ? REASON.neverEnds(MAX_ANSWER_BYTES, timeoutMs)
        : read.kind === "eof"
        ? transport.ended(read.got)
        : most === undefined || limit === MAX_ANSWER_BYTES
        ? REASON.tooMuch(MAX_ANSWER_BYTES)
        : REASON.lineTooLong(limit, most, longest === "pair"));
  throw new StepFailure({ sent, expected, got, reason });
}

/** How many bytes `text` takes in UTF-8. */
function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** A line without its `\n`, and a `\r` before it. */
function stripLineEnd(raw: Uint8Array): Uint8Array {
  let end = raw.length;
  if (end > 0 && raw[end - 1] === LF) end--;
  if (end > 0 && raw[end - 1] === CR) end--;
  return raw.subarray(0, end);
}

/** Whether `a` and `b` hold the same bytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return equalBytes(a, 0, a.length, b);
}
