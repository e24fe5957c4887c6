/**
 * {@linkcode playRule}: plays one rule's steps against the server over the
 * run's transport (`transport.ts`) and says how it went: it opens the
 * rule's connections, sends its requests, and hands each answer to one of
 * two ways to check it: framed (the contract: lines ended by `\n`,
 * `expect_framed.ts`) or textbook (the assignment: whatever arrives before
 * a quiet pause, each request alone on a fresh connection,
 * `expect_textbook.ts`). Without connections (`--udp`) each request is an
 * exchange of its own: a datagram, and its answer the datagram that comes
 * back.
 *
 * @module
 */

import { concat } from "../net/bytes.ts";
import { openProbe, type Outcome, type PlayConfig, StepFailure } from "./context.ts";
import { StepSkip } from "./expect.ts";
import { expectFramed } from "./expect_framed.ts";
import { expectTextbook } from "./expect_textbook.ts";
import { runLoad } from "./load.ts";
import { resetAfter } from "./reset.ts";
import { EXPECTED, SKIPPED } from "./messages.ts";
import type { AnswerSource } from "./transport.ts";
import type { ConnName, Data, Rule, Step } from "./rule.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// A PUT's key; a PUT with no value too (err.usage, a.missing-fields): a
// lenient server stores the key with an empty value.
const PUT_REGEXP = /^[ \t]*put[ \t]*,([^,\n]*)(?:,|$)/i;

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
    return { status: "pass", ...player.retried };
  } catch (error) {
    if (error instanceof StepSkip) {
      return { status: "skip", skipped: error.reason, ...player.retried };
    }
    if (error instanceof StepFailure) {
      return {
        status: "fail",
        failure: { step: step + 1, ...error.detail },
        heard: player.heard,
        ...player.retried,
      };
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
  readonly #conns = new Map<ConnName, AnswerSource>();
  readonly #sent = new Map<ConnName, Uint8Array[]>();
  readonly #opened: AnswerSource[] = []; // Every connection it opened, closed ones too.
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
    // A step about connections, over UDP: its rule is left out (rules.ts), so never played here.
    const cannot = this.#config.transport.cannotPlay(step);
    if (cannot !== undefined) throw new StepFailure({ expected: EXPECTED.any(), reason: cannot });
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
    if (this.#textbook) await expectTextbook(this.#config, probe, sent, step.expect);
    else await expectFramed(this.#config, probe, sent, step.expect);
  }

  /** The most sends an answer took (over UDP, resent), if more than one. */
  get retried(): { retried?: number } {
    const { transport } = this.#config;
    const most = Math.max(0, ...this.#opened.map((source) => transport.mostTries(source)));
    return most > 1 ? { retried: most } : {};
  }

  /** Whether anything came back on the rule's connections (not a load's or a reset's own). */
  get heard(): boolean {
    return this.#opened.some((probe) => probe.received > 0);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#conns.values()].map((probe) => probe.close()));
    this.#conns.clear();
  }

  async #conn(name: ConnName): Promise<AnswerSource> {
    let probe = this.#conns.get(name);
    if (probe === undefined) {
      probe = await openProbe(this.#config, this.#afterReset);
      this.#conns.set(name, probe);
      this.#opened.push(probe);
    }
    return probe;
  }

  async #send(name: ConnName, pieces: readonly Data[], gapMs: number): Promise<void> {
    if (this.#textbook || !this.#config.transport.connections) {
      // The textbook way: each request alone, on a connection of its own
      // (without connections, as over UDP, each request is an exchange of its own).
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
        reason: this.#config.transport.sendFailed(probe, result, this.#config.timeoutMs),
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
}
