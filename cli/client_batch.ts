/**
 * `kv client`'s batch mode: every stdin line is sent as it is read
 * (pipelined, or one at a time with `--unframed`), and each answer is
 * printed as soon as it and those before it have arrived, so a stdin that
 * stays open shows its answers as they come; a LIST's lines are printed as
 * they arrive, as `kv client LIST` prints them, not gathered first.
 *
 * @module
 */

import { isErrorAnswer, KvAnswerError, type KvClient } from "../client/client.ts";
import { concat } from "../net/bytes.ts";
import { settlesWithin } from "../net/conn.ts";
import { EXIT } from "./exit.ts";
import type { MainIo } from "./io.ts";
import { extraLinesNote } from "./client_messages.ts";
import type { Lang } from "./lang.ts";

// At most this many requests wait for answers at once, so a huge stdin does
// not pile up in memory.
const MAX_IN_FLIGHT = 4_096;
const QUIT_REGEXP = /^[ \t]*quit[ \t]*\r?$/i;
// Once every answer is in, how long to wait at least for the server's end of the stream (and
// answers past the last request) before leaving.
const MIN_END_WAIT_MS = 100;

/** Sends every stdin line; prints the answers in order as they come. */
export async function runBatch(
  client: KvClient,
  io: MainIo,
  pauseMs = 0,
  lang: Lang = "en",
): Promise<number> {
  const inFlight: Promise<unknown>[] = [];
  let sawError = false;
  // Answers are printed in order: each waits for the one before it. Those
  // that arrive together are written together, at the end of the tick.
  let printing: Promise<void> = Promise.resolve();
  // Settles once the answers so far are printed, or one failed (never
  // rejects); `stopped`: one failed, so nothing after it is printed.
  let turn: Promise<void> = Promise.resolve();
  let stopped = false;
  let output = "";
  let flushing: Promise<void> | undefined;
  const flush = () => {
    flushing ??= new Promise<void>((resolve) => setTimeout(resolve, 0)).then(async () => {
      flushing = undefined;
      const text = output;
      output = "";
      if (text !== "") await io.stdout(text);
    });
    return flushing;
  };
  // A connection that ends while stdin is still open (the server went away)
  // ends the batch at once: its requests could only fail, and stdin may not
  // end for a long time (or ever: `yes PING | kv client`).
  const lines = byteLines(io.stdin);
  const ENDED = { done: true, value: undefined } as const;
  let lost: Error | undefined;
  let connectionEnded = false;
  // The connection's end wakes the read that waits then: it is listened for
  // once, not raced with every read, since each race with a promise that has
  // not settled leaves a reaction on it that keeps the race, and its line,
  // for as long as the connection lasts (400,000 lines held 390 MB).
  let watchEnd = true;
  let hasEnded = false;
  let wake: ((ended: typeof ENDED) => void) | undefined;
  client.ended.then(() => {
    hasEnded = true;
    wake?.(ENDED);
  });
  /** `reading`'s line, or ENDED if the connection ends first. */
  const lineOrEnd = (reading: Promise<IteratorResult<Uint8Array>>) =>
    hasEnded ? ENDED : new Promise<IteratorResult<Uint8Array> | typeof ENDED>((resolve, reject) => {
      wake = resolve;
      reading.then(resolve, reject);
    });
  while (true) {
    // The read of the next line is kept across the races: one it lost
    // still gets its line.
    const reading = lines.next();
    let next = watchEnd ? await lineOrEnd(reading) : await reading;
    wake = undefined;
    if (next === ENDED) {
      // Lines already waiting are still sent (their failure says why, as
      // for a server that closes after each answer); a stdin with none
      // ready ends the batch with the reason the connection ended.
      // (A stall of our own is not a stdin with none: settlesWithin.)
      watchEnd = false;
      if (!await settlesWithin(reading, MIN_END_WAIT_MS)) {
        lost = await client.ended;
        break;
      }
      next = await reading;
      // One line came in time: it is sent below, fails with the reason,
      // and ends the batch (stdin may never run dry: `yes PING`).
      connectionEnded = true;
    }
    if (next.done) break;
    const line = next.value;
    const quit = isQuit(line);
    // A LIST's lines are printed as they come, as the one-shot's are: a
    // million pairs are not held whole. They wait for the answers before
    // theirs to be printed (`myTurn`, which never waits for the client: the
    // client reads nothing more until they are printed), and for their own
    // write, so a slow stdout slows the server, not the heap.
    const myTurn = turn;
    const printed = Promise.withResolvers<void>();
    turn = printed.promise;
    const answer = client.requestEach(line, async (lines) => {
      await myTurn;
      if (stopped) return; // An answer before this one ended the batch.
      for (const text of lines) output += `${text}\n`;
      await flush();
    });
    answer.catch(() => {}); // Awaited in order below; this only keeps an early failure from being "unhandled".
    printing = printing.then(async () => {
      const lines = await answer.catch(async (error) => {
        stopped = true;
        printed.resolve();
        // An answer that is not UTF-8 ends the batch, as a lost connection
        // does: nothing more is sent, and runClient says why.
        if (error instanceof KvAnswerError) await client.close();
        throw error;
      });
      for (const text of lines) output += `${text}\n`;
      if (isErrorAnswer(lines)) sawError = true;
      printed.resolve();
      flush();
    }, (error) => {
      stopped = true;
      printed.resolve();
      throw error;
    });
    // A failure (the server closed) is thrown by the `await printing` below;
    // until stdin ends, it must not count as unhandled, which ends the process.
    printing.catch(() => {});
    inFlight.push(answer);
    if (quit || connectionEnded) break; // The server closes after QUIT: nothing more is read.
    // Nobody reads the answers any more (`yes PING | kv client | head`): stop asking.
    if (io.stdoutGone?.()) break;
    if (inFlight.length >= MAX_IN_FLIGHT) await inFlight.shift()!.catch(() => {});
  }
  // Nothing more to send: say so (our FIN), as `nc -N` does; the answers still come.
  await client.closeWrite();
  try {
    await printing;
  } finally {
    await flush();
  }
  if (lost !== undefined) throw lost;
  // Answers past the last request: say so, not drop them.
  const extra = await client.finish(Math.max(pauseMs, MIN_END_WAIT_MS));
  if (extra.length > 0) {
    // More than the client keeps: it stopped reading them (a flood, said at once).
    const flood = !client.open && (await client.ended)?.unasked !== undefined;
    // Still open, and still sending a while later: a loop, not a slow close.
    const endless = !flood && client.open &&
      (await client.finish(Math.max(pauseMs, MIN_END_WAIT_MS))).length > extra.length;
    // An empty line among them: most likely an answer with one inside it
    // (a LIST whose values keep their own \n), read as two answers.
    const why = flood
      ? "flood"
      : endless
      ? "endless"
      : extra.includes("")
      ? "empty-line"
      : "pieces";
    await io.stderr(extraLinesNote(lang, extra, why));
  }
  return sawError ? EXIT.failed : EXIT.ok;
}

function isQuit(line: Uint8Array): boolean {
  return line.length <= 256 && QUIT_REGEXP.test(String.fromCharCode(...line));
}

/** Splits a byte stream on `\n`, keeping each line's bytes as they are. */
async function* byteLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  let rest = new Uint8Array(0);
  for await (const chunk of stream) {
    const data = rest.length > 0 ? concat([rest, chunk]) : chunk;
    let start = 0;
    while (true) {
      const nl = data.indexOf(0x0a, start);
      if (nl === -1) break;
      yield data.subarray(start, nl);
      start = nl + 1;
    }
    rest = data.slice(start);
  }
  if (rest.length > 0) yield rest;
}
