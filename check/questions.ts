/**
 * The questions a `kv check` run asks the server once its rules are done,
 * each on connections of its own, to tell the likely cause of what failed:
 * whether a request with `\n` is answered where the course's kind without
 * one was not ({@linkcode answersWithNewline}), whether it serves one
 * client at a time ({@linkcode servesOneAtATime}), and what it sends before
 * any request ({@linkcode greetingOf}). Every wait is bounded.
 *
 * @module
 */

import type { PlayConfig } from "./context.ts";
import { encodeData } from "./play.ts";
import type { AnswerSource } from "./transport.ts";

/** Whether a fresh connection gets an answer line to a request that ends with `\n`. */
export async function answersWithNewline(config: PlayConfig): Promise<boolean> {
  let probe: AnswerSource | undefined;
  try {
    probe = await config.transport.open(config);
    const request = encodeData("GET, {k}nobody\n", config.prefix);
    if (await probe.write(request, config.timeoutMs) !== "ok") return false;
    // "Not exist!" is the right answer: a line past 4 KiB is not, and no more of it is read.
    const read = await probe.readLine(config.timeoutMs, config.pauseMs, 4096);
    return read.kind === "line";
  } catch {
    return false;
  } finally {
    await probe?.close();
  }
}

/**
 * Whether a second client's request waits, unanswered, while a first client
 * stays connected saying nothing, and is answered once the first leaves:
 * a server that serves one client at a time (accept, then that client until
 * it goes). A server that answers neither is not one; it is only stuck.
 */
export async function servesOneAtATime(config: PlayConfig, textbook: boolean): Promise<boolean> {
  let first: AnswerSource | undefined;
  let second: AnswerSource | undefined;
  // Any byte decides, whole answer or not: no pause is waited out for a
  // textbook answer's end (it cost 200 ms a run, each answer without \n).
  const anyByte = () => true;
  try {
    first = await config.transport.open(config);
    second = await config.transport.open(config);
    const request = encodeData(`GET, {k}nobody${textbook ? "" : "\n"}`, config.prefix);
    if (await second.write(request, config.timeoutMs) !== "ok") return false;
    // As long as any rule waits: a slow server that serves many at once is not one. Any
    // answer says so, and no more than 4 KiB of one is read.
    const bounds = { maxBytes: 4096 };
    const early = await second.readQuiet(config.timeoutMs, config.pauseMs, anyByte, bounds);
    if (early.kind !== "timeout" || early.got.length > 0) return false;
    await first.close();
    first = undefined;
    const late = await second.readQuiet(config.timeoutMs, config.pauseMs, anyByte, bounds);
    return late.got.length > 0;
  } catch {
    return false;
  } finally {
    await first?.close();
    await second?.close();
  }
}

/**
 * What a fresh connection gets within the pause without sending anything:
 * a greeting a server sends as a client connects, before any request (a
 * client takes it for its first request's answer). Undefined if nothing.
 */
export async function greetingOf(config: PlayConfig): Promise<Uint8Array | undefined> {
  let probe: AnswerSource | undefined;
  try {
    probe = await config.transport.open(config);
    const got = await probe.silence(config.pauseMs);
    return got.length > 0 ? got.slice(0, 4096) : undefined;
  } catch {
    return undefined;
  } finally {
    await probe?.close();
  }
}
