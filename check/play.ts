/**
 * {@linkcode playRule}: plays one rule's steps against the server over raw
 * TCP and says how it went: it opens the rule's connections, sends its
 * requests, and hands each answer to one of two ways to check it: framed
 * (the contract: lines ended by `\n`, `expect_framed.ts`) or textbook (the
 * assignment: whatever arrives before a quiet pause, each request alone on a
 * fresh connection, `expect_textbook.ts`). With `--udp` each request is
 * a datagram of its own, and its answer the datagram that comes back
 * (`datagram_probe.ts`).
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
import { EXPECTED, REASON, SKIPPED } from "./messages.ts";
import { type AnswerSource, DatagramProbe } from "./datagram_probe.ts";
import { UDP_REASON } from "./udp_messages.ts";
import { errorMessage } from "../net/conn.ts";
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

/** A UDP client of the server under test, as `config` says (`kv check --udp`). */
export function openDatagrams(config: PlayConfig): DatagramProbe {
  const probe = new DatagramProbe({
    hostname: config.hostname,
    port: config.port,
    timeoutMs: config.timeoutMs,
    retries: config.udp?.retries ?? 0,
  });
  config.heard.add(probe);
  return probe;
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
    if (this.#config.udp !== undefined && !("send" in step) && !("expect" in step)) {
      // A rule about connections: left out of a run over UDP (rules.ts), so never played here.
      throw new StepFailure({ expected: EXPECTED.any(), reason: UDP_REASON.noConnection() });
    }
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

  /** Over UDP, the most sends an answer took, if more than one. */
  get retried(): { retried?: number } {
    const most = Math.max(
      0,
      ...this.#opened.map((source) => source instanceof DatagramProbe ? source.mostTries : 0),
    );
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
      probe = this.#config.udp === undefined
        ? await openProbe(this.#config, this.#afterReset)
        : openDatagrams(this.#config);
      this.#conns.set(name, probe);
      this.#opened.push(probe);
    }
    return probe;
  }

  async #send(name: ConnName, pieces: readonly Data[], gapMs: number): Promise<void> {
    if (this.#textbook || this.#config.udp !== undefined) {
      // The textbook way: each request alone, on a connection of its own
      // (over UDP, a datagram is one exchange).
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
        reason: probe instanceof DatagramProbe
          ? UDP_REASON.sendFailed(errorMessage(probe.sendError))
          : result === "timeout"
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
}
