/**
 * {@linkcode expectTextbook}: a step's `expect` checked the assignment's
 * way, as a textbook client reads: the answer is whatever arrives before a
 * quiet pause, with or without a final `\n`. A wrong answer is told by its
 * likely cause (spaces, case, a LIST's pairs missing, twice, deleted, or
 * without the space after the comma; and answer_reasons.ts's Python habits).
 *
 * @module
 */

import { lineAnswerReason, listAnswerReason } from "./answer_reasons.ts";
import { type PlayConfig, StepFailure } from "./context.ts";
import {
  deletedKeys,
  isRecased,
  isSpaced,
  keyOf,
  ListScan,
  MAX_NON_PAIR_LINES,
  MAX_TRACKED_PAIRS,
  sameKeyLines,
  StepSkip,
} from "./expect.ts";
import { EXPECTED, REASON, SKIPPED } from "./messages.ts";
import { LINE_SLACK_BYTES, MAX_ANSWER_BYTES } from "./probe.ts";
import type { AnswerSource } from "./transport.ts";
import type { Expect, Text } from "./rule.ts";

const decoder = new TextDecoder();
const LF = 0x0a;
// An answer to a request refused may quote it: it is allowed this much more than the request.
const ERROR_ANSWER_BYTES = 1024;
const TRAILING_NEWLINES_REGEXP = /(\r?\n)+$/;

/**
 * Checks the answer on `probe` to what was `sent` against `expect`, taken
 * once it pauses: throws {@linkcode StepFailure} saying why it is wrong, or
 * {@linkcode StepSkip} when the store makes the rule moot.
 */
export async function expectTextbook(
  config: PlayConfig,
  probe: AnswerSource,
  sent: Uint8Array,
  expect: Expect,
): Promise<void> {
  const { timeoutMs, pauseMs, prefix } = config;
  const wanted = "list" in expect ? expect.list.map((text) => text.replaceAll("{k}", prefix)) : [];
  const expected = "line" in expect
    ? EXPECTED.textbook(expect.line)
    : "any" in expect
    ? EXPECTED.any()
    : "list" in expect
    ? EXPECTED.textbookList(wanted)
    : EXPECTED.textbook("Not exist!");
  const gone = deletedKeys(expect, prefix);
  // A pair listed twice, or one of a deleted key: one pass, a bounded set.
  const wrongLine = (lines: string[]): string | undefined => {
    const seen = new Set<string>();
    for (const line of lines) {
      if (gone.includes(keyOf(line))) return line;
      if (!line.startsWith(prefix)) continue;
      if (seen.has(line)) return line;
      if (seen.size < MAX_TRACKED_PAIRS) seen.add(line);
    }
    return undefined;
  };
  const matches = (text: string): boolean => {
    if ("line" in expect) return text === expect.line;
    if ("any" in expect) return true;
    if ("list" in expect) {
      const lines = text.split(/\r?\n/);
      return wanted.every((line) => lines.includes(line)) && wrongLine(lines) === undefined;
    }
    return text === "Not exist!";
  };
  // A one-line answer is cut a little past its right length; a LIST's (a
  // store's pairs: no bound) once many of its lines cannot be pairs.
  // Any answer (to a request it refuses) is one short message, which may quote the request.
  const longest = "line" in expect
    ? new TextEncoder().encode(expect.line).length + 2
    : "any" in expect
    ? sent.length + ERROR_ANSWER_BYTES
    : undefined;
  const maxBytes = longest === undefined ? MAX_ANSWER_BYTES : longest + LINE_SLACK_BYTES;
  const scan = "list" in expect || "emptyList" in expect
    ? new ListScan(config.maxLineBytes + LINE_SLACK_BYTES)
    : undefined;
  // An answer that already ends with \n and is right needs no pause; a
  // LIST always waits for it (a pair listed twice, or one deleted, may
  // come in a later send()).
  const read = await probe.readQuiet(
    timeoutMs,
    pauseMs,
    (bytes) => !("list" in expect) && bytes.at(-1) === LF && matches(answerText(bytes)),
    { maxBytes, wrong: scan?.wrong },
  );
  const fail = (reason: Text): never => {
    throw new StepFailure({ sent, expected, got: read.got, reason });
  };
  if (read.kind === "timeout") fail(config.transport.noAnswer(config, probe));
  if (read.kind === "eof") fail(config.transport.nothing());
  if (read.kind === "stopped") {
    fail(
      scan?.why === "long-line"
        ? REASON.lineTooLong(config.maxLineBytes + LINE_SLACK_BYTES, config.maxLineBytes)
        : REASON.listNotPairs(MAX_NON_PAIR_LINES),
    );
  }
  if (read.kind === "too-much") {
    fail(
      longest === undefined || read.got.length <= maxBytes
        ? REASON.neverEnds(maxBytes, 10 * timeoutMs)
        : REASON.answerTooLong(maxBytes, longest),
    );
  }
  const text = answerText(read.got);
  if (matches(text)) return;
  // A wrong answer may be only its first piece (over UDP, a datagram: the rest came in more).
  const split = await config.transport.splitAnswer(probe, pauseMs);
  if (split !== undefined) fail(split);
  if ("emptyList" in expect && text !== "") {
    // Blank lines between pairs are a textbook LIST's, not a sign of an empty store.
    const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
    if (lines.length > 0 && lines.every((line) => line.includes(", "))) {
      throw new StepSkip(SKIPPED.storeHasKeys(lines.length));
    }
  }
  if (text === "") fail(REASON.emptyAnswer());
  if ("line" in expect && isSpaced(text, expect.line)) fail(REASON.spaces());
  if ("line" in expect && isRecased(text, expect.line)) fail(REASON.caseChanged());
  const shaped = "line" in expect
    ? lineAnswerReason(text, expect.line)
    : "list" in expect || "any" in expect
    ? undefined
    : lineAnswerReason(text, "Not exist!");
  if (shaped !== undefined) fail(shaped);
  if ("list" in expect) {
    const lines = text.split(/\r?\n/);
    const wrong = wrongLine(lines);
    if (wrong !== undefined) {
      fail(
        gone.includes(keyOf(wrong)) ? REASON.listDeleted(wrong) : REASON.listTwice(wrong),
      );
    }
    const missing = wanted.filter((line) => !lines.includes(line));
    // `key,value`: the pair is there, its separator is not the contract's.
    const unspaced = (want: string) => lines.includes(want.replace(", ", ","));
    fail(
      missing.every((want) => lines.some((line) => isRecased(line, want)))
        ? REASON.listCaseChanged(missing)
        : missing.every(unspaced)
        ? REASON.listUnspaced(missing)
        : listAnswerReason(text, missing) ??
          REASON.listMissing(missing, sameKeyLines(missing, lines)),
    );
  }
  fail(REASON.differs());
}

/** A textbook answer as text, its final line ends dropped. */
function answerText(bytes: Uint8Array): string {
  return decoder.decode(bytes).replace(TRAILING_NEWLINES_REGEXP, "");
}
