/**
 * {@linkcode playRule}: plays one rule's steps against the server over raw
 * TCP and says how it went. Two ways to read an answer: framed (the
 * contract: lines ended by `\n`) and textbook (the assignment: whatever
 * arrives before a quiet pause, each request alone on a fresh connection).
 *
 * @module
 */

import { concat, equalBytes } from "../net/bytes.ts";
import { openProbe, type Outcome, type PlayConfig, StepFailure } from "./context.ts";
import { runLoad } from "./load.ts";
import { resetAfter } from "./reset.ts";
import { EXPECTED, REASON, SKIPPED } from "./messages.ts";
import { MAX_ANSWER_BYTES, type Probe } from "./probe.ts";
import type { ConnName, Data, Expect, Rule, Step, Text } from "./rule.ts";

class StepSkip extends Error {
  readonly reason: Text;

  constructor(reason: Text) {
    super(reason.en);
    this.reason = reason;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// How many lines of a LIST's answer a failure shows.
const SHOWN_LIST_LINES = 50;
// How many of its own pairs a LIST step remembers, to see one listed twice.
const MAX_TRACKED_PAIRS = 10_000;
const LF = 0x0a;
const CR = 0x0d;
const PUT_REGEXP = /^[ \t]*put[ \t]*,([^,\n]*),/i;
const TRAILING_NEWLINES_REGEXP = /(\r?\n)+$/;

/** The bytes of `data`, with `{k}` replaced by `prefix`. */
export function encodeData(data: Data, prefix: string): Uint8Array {
  const pieces = typeof data === "string" ? [data] : data;
  return concat(
    pieces.map((piece) =>
      typeof piece === "string"
        ? encoder.encode(piece.replaceAll("{k}", prefix))
        : Uint8Array.from(piece)
    ),
  );
}

/** Plays `rule`; textbook-style if its level is `assignment`. */
export async function playRule(rule: Rule, config: PlayConfig): Promise<Outcome> {
  const textbook = rule.level === "assignment";
  if (config.password !== undefined && (textbook || rule.unframed)) {
    return { status: "skip", skipped: SKIPPED.framedByAuth };
  }
  const player = new Player(config, textbook);
  let step = 0;
  try {
    for (; step < rule.steps.length; step++) await player.play(rule.steps[step]!);
    return { status: "pass" };
  } catch (error) {
    if (error instanceof StepSkip) return { status: "skip", skipped: error.reason };
    if (error instanceof StepFailure) {
      return { status: "fail", failure: { step: step + 1, ...error.detail } };
    }
    throw error;
  } finally {
    await player.close();
  }
}

/** The connections of one rule, and what was sent on each since its last answer. */
class Player {
  readonly #config: PlayConfig;
  readonly #textbook: boolean;
  readonly #conns = new Map<ConnName, Probe>();
  readonly #sent = new Map<ConnName, Uint8Array[]>();
  // The step before this one was a reset: a refused connection now says so.
  #afterReset = false;
  #lastWasReset = false;

  constructor(config: PlayConfig, textbook: boolean) {
    this.#config = config;
    this.#textbook = textbook;
  }

  async play(step: Step): Promise<void> {
    // A reset is the likeliest cause of a server that stopped at the step right after it.
    this.#afterReset = this.#lastWasReset;
    this.#lastWasReset = "reset" in step;
    if ("load" in step) return await runLoad(step, this.#config);
    if ("reset" in step) {
      const bytes = encodeData(step.reset, this.#config.prefix);
      this.#noteWrites(bytes);
      return await resetAfter(this.#config, bytes, step.afterMs, this.#afterReset);
    }
    const name = step.on ?? "main";
    if ("send" in step) return await this.#send(name, [step.send], 0);
    if ("sendPieces" in step) return await this.#send(name, step.sendPieces, step.gapMs);
    if ("closeWrite" in step) return await (await this.#conn(name)).closeWrite();
    if ("disconnect" in step) {
      if (step.afterMs) await new Promise((resolve) => setTimeout(resolve, step.afterMs));
      await this.#conns.get(name)?.close();
      this.#conns.delete(name);
      return;
    }
    const probe = await this.#conn(name);
    const sent = concat(this.#sent.get(name) ?? []);
    this.#sent.set(name, []);
    if (this.#textbook) await this.#expectTextbook(probe, sent, step.expect);
    else await this.#expectFramed(probe, sent, step.expect);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#conns.values()].map((probe) => probe.close()));
    this.#conns.clear();
  }

  async #conn(name: ConnName): Promise<Probe> {
    let probe = this.#conns.get(name);
    if (probe === undefined) {
      probe = await openProbe(this.#config, this.#afterReset);
      this.#conns.set(name, probe);
    }
    return probe;
  }

  async #send(name: ConnName, pieces: readonly Data[], gapMs: number): Promise<void> {
    if (this.#textbook) {
      // The textbook way: each request alone, on a connection of its own.
      await this.#conns.get(name)?.close();
      this.#conns.delete(name);
      this.#sent.set(name, []);
    }
    const probe = await this.#conn(name);
    const all = pieces.map((piece) => encodeData(piece, this.#config.prefix));
    this.#noteWrites(concat(all));
    for (const [i, bytes] of all.entries()) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      const sent = this.#sent.get(name) ?? [];
      sent.push(bytes);
      this.#sent.set(name, sent);
      const result = await probe.write(bytes, this.#config.timeoutMs);
      if (result === "ok") continue;
      throw new StepFailure({
        sent: concat(sent),
        expected: EXPECTED.any(),
        reason: result === "timeout"
          ? REASON.writeTimeout(this.#config.timeoutMs)
          : REASON.writeClosed(),
      });
    }
  }

  /** Remembers the keys of our own PUTs, for the cleanup. */
  #noteWrites(bytes: Uint8Array): void {
    for (const request of decoder.decode(bytes).split("\n")) {
      const key = PUT_REGEXP.exec(request)?.[1]?.replace(/^[ \t]+|[ \t\r]+$/g, "");
      if (key === undefined) continue;
      // An empty key too (err.empty-key): a server that takes one stores it.
      if (key === "" || key.startsWith(this.#config.prefix)) this.#config.written.add(key);
    }
  }

  // -- The contract: answers are lines -------------------------------------

  async #expectFramed(probe: Probe, sent: Uint8Array, expect: Expect): Promise<void> {
    const { timeoutMs, prefix } = this.#config;
    const fail = (expected: Text, got: Uint8Array | undefined, reason: Text): never => {
      throw new StepFailure({ sent, expected, got, reason });
    };
    if ("line" in expect || "raw" in expect) {
      const want = "line" in expect ? `${expect.line.replaceAll("{k}", prefix)}\n` : expect.raw;
      const expected = EXPECTED.literal(want);
      const raw = await this.#line(probe, sent, expected);
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
          : REASON.differs(),
      );
    }
    if ("lines" in expect) {
      const expected = EXPECTED.literal(expect.lines.map((text) => `${text}\n`).join(""));
      const got: Uint8Array[] = [];
      const { timeoutMs } = this.#config;
      for (const text of expect.lines) {
        // Some answered, the rest never: the textbook one-request-per-recv() server.
        const silence = got.length > 0
          ? REASON.answeredSome(got.length, expect.lines.length, timeoutMs)
          : undefined;
        const raw = await this.#line(probe, sent, expected, got, silence);
        got.push(raw);
        if (!sameBytes(stripLineEnd(raw), encoder.encode(text))) {
          return fail(expected, concat(got), REASON.differs());
        }
      }
      return;
    }
    if ("error" in expect) {
      const raw = await this.#line(probe, sent, EXPECTED.error());
      if (!decoder.decode(raw).startsWith("Error: ")) {
        fail(EXPECTED.error(), raw, REASON.notError());
      }
      return;
    }
    if ("list" in expect || "emptyList" in expect) {
      const wanted = "list" in expect
        ? expect.list.map((text) => text.replaceAll("{k}", prefix))
        : [];
      const expected = "list" in expect
        ? EXPECTED.list(wanted)
        : EXPECTED.literal("Not exist!\n\n");
      const first = await this.#line(probe, sent, expected).catch((error: unknown) => {
        // Pairs that never got their \n: the store holds keys, so this rule
        // cannot apply (resp.* rules tell of the missing \n).
        if ("emptyList" in expect && error instanceof StepFailure && error.detail.got) {
          const lines = decoder.decode(error.detail.got).split(/\r?\n/).filter((l) => l !== "");
          if (lines.length > 0 && lines.every((l) => l.includes(", "))) {
            throw new StepSkip(SKIPPED.storeHasKeys(lines.length));
          }
        }
        throw error;
      });
      const got = [first];
      if ("emptyList" in expect && decoder.decode(stripLineEnd(first)) === "Not exist!") {
        const end = await this.#line(probe, sent, expected, got, REASON.listEnd(timeoutMs));
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
        if (Date.now() > listDeadline) {
          fail(expected, concat(got), REASON.listNeverEnds(10 * timeoutMs));
        }
        line = await this.#line(probe, sent, expected, got, REASON.listEnd(timeoutMs));
        if (got.length < SHOWN_LIST_LINES) got.push(line);
      }
      if (bad !== undefined) fail(expected, concat(got), REASON.listShape(bad));
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
            : REASON.listMissing(missing),
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

  /** Reads one line, or fails the step saying why none came. */
  async #line(
    probe: Probe,
    sent: Uint8Array,
    expected: Text,
    before: Uint8Array[] = [],
    timeoutReason?: Text,
  ): Promise<Uint8Array> {
    const { timeoutMs, pauseMs } = this.#config;
    const read = await probe.readLine(timeoutMs, pauseMs);
    if (read.kind === "line") return read.raw;
    const got = concat([...before, read.got]);
    const reason = read.kind === "quiet"
      ? REASON.quiet(pauseMs)
      : read.kind === "flowing"
      ? REASON.neverEnds(MAX_ANSWER_BYTES, timeoutMs)
      : read.kind === "eof"
      ? REASON.closed()
      : read.kind === "too-much"
      ? REASON.tooMuch(MAX_ANSWER_BYTES)
      : timeoutReason ?? REASON.timeout(timeoutMs);
    throw new StepFailure({ sent, expected, got, reason });
  }

  // -- The assignment: an answer is what arrives before a pause -----------

  async #expectTextbook(probe: Probe, sent: Uint8Array, expect: Expect): Promise<void> {
    const { timeoutMs, pauseMs, prefix } = this.#config;
    const wanted = "list" in expect
      ? expect.list.map((text) => text.replaceAll("{k}", prefix))
      : [];
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
    // An answer that already ends with \n and is right needs no pause; a
    // LIST always waits for it (a pair listed twice, or one deleted, may
    // come in a later send()).
    const read = await probe.readQuiet(
      timeoutMs,
      pauseMs,
      (bytes) => !("list" in expect) && bytes.at(-1) === LF && matches(answerText(bytes)),
    );
    const fail = (reason: Text): never => {
      throw new StepFailure({ sent, expected, got: read.got, reason });
    };
    if (read.kind === "timeout") fail(REASON.timeout(timeoutMs));
    if (read.kind === "eof") fail(REASON.closedSilently());
    if (read.kind === "too-much") fail(REASON.neverEnds(MAX_ANSWER_BYTES, 10 * timeoutMs));
    const text = answerText(read.got);
    if (matches(text)) return;
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
          : REASON.listMissing(missing),
      );
    }
    fail(REASON.differs());
  }
}

/** The key of a LIST line `key, value`; `""` for a line that is not a pair (no key is empty). */
function keyOf(line: string): string {
  const comma = line.indexOf(", ");
  return comma < 0 ? "" : line.slice(0, comma);
}

/** The keys whose pairs a LIST step must not show (`{k}` replaced). */
function deletedKeys(expect: Expect, prefix: string): string[] {
  return "list" in expect && expect.deleted !== undefined
    ? expect.deleted.map((key) => key.replaceAll("{k}", prefix))
    : [];
}

/** Whether `got` is `want` with spaces or tabs around it: a server that did not strip the value. */
function isSpaced(got: string, want: string): boolean {
  const bare = (text: string) => text.replace(/^[ \t]+|[ \t]+$/g, "");
  return got !== want && want !== "" && bare(got) === bare(want);
}

/** Whether `got` is `want` with some letters in another case: a server that lower()ed the request. */
function isRecased(got: string, want: string): boolean {
  // The protocol's own words in another case (SUCCESS!) are the server's
  // wording, not a request it lower()ed: only data (keys, values) counts.
  return got !== want && got.toLowerCase() === want.toLowerCase() && !PROTOCOL_WORDS.has(want);
}

// The answers the protocol fixes, whose case says nothing about the request's.
const PROTOCOL_WORDS = new Set(["Success!", "Not exist!", "PONG", "Bye!"]);

/** A textbook answer as text, its final line ends dropped. */
function answerText(bytes: Uint8Array): string {
  return decoder.decode(bytes).replace(TRAILING_NEWLINES_REGEXP, "");
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
