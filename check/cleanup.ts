/**
 * The cleanup at the end of a run: {@linkcode cleanUp} deletes every key
 * the run's rules wrote, speaking as they did, then reads one LIST to see
 * what is really gone, and says of each key that may be left why it thinks
 * so ({@linkcode LeftKey}).
 *
 * @module
 */

import type { PlayConfig } from "./context.ts";
import { CLEANUP } from "./messages.ts";
import { ListScan } from "./expect.ts";
import { encodeData } from "./play.ts";
import type { AnswerSource } from "./transport.ts";
import { LINE_SLACK_BYTES } from "./probe.ts";
import type { Text } from "./rule.ts";

// The most bytes of a DELETE's answer the cleanup reads and keeps (a right one is a short line).
const SHORT_ANSWER_BYTES = 4096;

/** A key of the run's that may still be in the store, and why the cleanup thinks so. */
export interface LeftKey {
  readonly key: string;
  readonly why: Text;
}

/** What the cleanup did: how many of the keys written are gone, and which may be left. */
export interface Cleanup {
  /** Keys gone: deleted, or (`Not exist!`) not held under that name, and not in LIST. */
  readonly deleted: number;
  /** Of those, the keys whose DELETE answered `Not exist!`. */
  readonly absent: number;
  readonly left: readonly LeftKey[];
  /** Whether any of its requests got an answer: a server that stopped answering gives none. */
  readonly answered: boolean;
}

/**
 * Deletes every key the run wrote, the way its rules talk (a fresh
 * connection per request for a textbook server; if it answers nothing, as a
 * server framed by `\n` does, the rest goes with `\n`). `Success!` means
 * deleted, and so does any other answer that is not an error or
 * `Not exist!` (`Sucess!`, `Success! ` with print's space). A key that got
 * no answer, because the server closed the connection, is asked again once
 * on a new one. Two keys in a row with no answer end the DELETEs: the
 * server may have stopped answering, or only its thread for a client dies
 * at a DELETE of a missing key (the LIST tells). The empty key
 * (err.empty-key's PUT) goes last, and only if the server holds one; if
 * not, it was never written.
 *
 * Then one LIST, read to its end (a value that kept its `\n` puts an empty
 * line between pairs), sent as the textbook does if the framed one is not
 * understood. A key of ours it still shows is left, whatever its DELETE got
 * (a server that stores " key" answers `Not exist!` to `DELETE, key`); one
 * it does not show is gone. Without a LIST to go by, `Not exist!` cannot
 * tell a key never stored from one stored under another name: such a key is
 * reported as not known to be gone, as are those refused or unanswered.
 */
export async function cleanUp(config: PlayConfig, textbook: boolean): Promise<Cleanup> {
  let probe: AnswerSource | undefined;
  // `list`: the answer is many lines, up to an empty one (or a pause).
  let unframedNow = textbook;
  const askOnce = async (
    request: string,
    list = false,
    unframed = unframedNow,
  ): Promise<string | undefined> => {
    if (unframed) await probe?.close();
    if (probe === undefined || unframed) probe = await config.transport.open(config);
    const bytes = encodeData(`${request}${unframed ? "" : "\n"}`, config.prefix);
    if (await probe.write(bytes, config.timeoutMs) !== "ok") return undefined;
    // A LIST's answer is cut once many of its lines cannot be pairs (no LIST, then).
    const read = list
      ? await probe.readQuiet(config.timeoutMs, config.pauseMs, wholeList(), {
        wrong: new ListScan(config.maxLineBytes + LINE_SLACK_BYTES).wrong,
      })
      : unframed
      ? await probe.readQuiet(config.timeoutMs, config.pauseMs, wholeDeleteAnswer, {
        maxBytes: SHORT_ANSWER_BYTES,
      })
      // A DELETE's right answer is a short line: a flood is cut off soon, not at 64 MiB per key.
      : await probe.readLine(config.timeoutMs, config.pauseMs, SHORT_ANSWER_BYTES);
    if (read.kind === "stopped") return undefined;
    const answer = "raw" in read ? read.raw : read.got;
    if (answer.length === 0) return undefined;
    // A DELETE's answer is told by its start: a server that sends without
    // end must not leave 64 MiB strings behind, one per key.
    const kept = list ? answer : answer.subarray(0, SHORT_ANSWER_BYTES);
    return new TextDecoder().decode(kept).replace(/(\r?\n)+$/, "");
  };
  // A server that closes after each answer (or dropped us) is asked again on a new connection;
  // a textbook one that answers nothing, with a \n.
  // Whether the last ask found the server gone (its connect refused), not silent.
  let refused = false;
  const noAnswer = (error: unknown) => {
    refused = error instanceof Deno.errors.ConnectionRefused;
    return undefined;
  };
  const ask = async (request: string): Promise<string | undefined> => {
    const answer = await askOnce(request).catch(noAnswer);
    if (answer !== undefined) return answer;
    await probe?.close();
    probe = undefined;
    refused = false;
    const again = await askOnce(request, false, false).catch(noAnswer);
    if (again !== undefined) unframedNow = false; // It frames by \n.
    return again;
  };
  const keys = [...config.written].sort((a, b) => Number(a === "") - Number(b === ""));
  // What each key's DELETE got: undefined for no answer, null if never asked.
  const answers = new Map<string, string | undefined | null>(keys.map((key) => [key, null]));
  // Two keys in a row with no answer at all: the server has stopped answering.
  let unanswered = 0;
  const gone = new Set<string>(); // Keys whose DELETE found the server stopped (refused).
  let listed: string[] | undefined; // Our lines of LIST's answer, if it could be read.
  try {
    for (const key of keys) {
      if (unanswered >= 2) break;
      if (key === "") {
        const held = await ask("GET, ");
        if (held === undefined) break;
        if (held === "Not exist!" || isError(held)) {
          config.written.delete(key); // Refused: it holds none.
          answers.delete(key);
          continue;
        }
      }
      const answer = await ask(`DELETE, ${key}`);
      answers.set(key, answer);
      if (answer === undefined && refused) gone.add(key);
      unanswered = answer === undefined ? unanswered + 1 : 0;
    }
    // After two keys unanswered, one LIST still: a server whose thread dies at a DELETE of a
    // missing key still lists, and tells what is gone. Asked one way only, in case it is stuck.
    if (answers.size > 0) {
      await probe?.close(); // Fresh: not the connection a DELETE went unanswered on.
      probe = undefined;
      const ways = unframedNow ? [true] : unanswered >= 2 ? [false] : [false, true];
      listed = await listOurs(config, askOnce, ways);
    }
  } finally {
    await probe?.close();
  }
  let deleted = 0;
  let absent = 0;
  const left: LeftKey[] = [];
  const shown = new Set<string>(); // Lines of LIST's that name a key written.
  for (const [key, answer] of answers) {
    const line = listed?.find((line) =>
      line.split(",")[0]!.replace(/^[ \t]+|[ \t\r]+$/g, "") === key
    );
    if (line !== undefined) shown.add(line);
    const why = line !== undefined
      ? CLEANUP.listed(answer, line)
      : listed !== undefined
      ? undefined
      : answer === null
      ? refused ? CLEANUP.stopped() : CLEANUP.notAsked()
      : answer === undefined
      ? gone.has(key) ? CLEANUP.stopped() : CLEANUP.unanswered()
      : isError(answer)
      ? CLEANUP.refused(answer)
      : answer === "Not exist!"
      ? CLEANUP.unconfirmed()
      : undefined;
    if (why !== undefined) left.push({ key, why });
    else {
      deleted++;
      if (answer === "Not exist!") absent++;
    }
  }
  // Lines of ours that name no key we wrote (a key the server changed): left too.
  for (const line of listed ?? []) {
    if (!shown.has(line)) left.push({ key: line, why: CLEANUP.listedOther() });
  }
  // A line of ours that names no key is one of them, changed: not gone either.
  const answered = listed !== undefined ||
    [...answers.values()].some((answer) => answer !== undefined && answer !== null);
  return {
    deleted: Math.max(0, Math.min(deleted, answers.size - left.length)),
    absent,
    left,
    answered,
  };
}

/**
 * The lines of a LIST's answer that hold the run's prefix (in any case: a
 * server may have changed it), on a fresh connection: undefined if no
 * answer that looks like a LIST came, framed or the textbook way.
 */
async function listOurs(
  config: PlayConfig,
  askOnce: (request: string, list: boolean, unframed: boolean) => Promise<string | undefined>,
  ways: readonly boolean[],
): Promise<string[] | undefined> {
  for (const unframed of ways) {
    const answer = await askOnce("LIST", true, unframed).catch(() => undefined);
    if (answer === undefined) continue;
    const lines = answer.split(/\r?\n/).filter((line) => line.trim() !== "");
    // Not exist! for an empty store, or pairs (a value that kept a \n may
    // break one in two): an error, or no pair at all, is not a LIST. Blank
    // lines alone are the "\n".join() of no pairs: a store empty, mistaking
    // LIST's answer for it (a.list-empty says so).
    const list = lines.length === 0 || lines[0] === "Not exist!" ||
      (!isError(lines[0]!) && lines.some((line) => line.includes(",")));
    if (!list) continue;
    const prefix = config.prefix.toLowerCase();
    return lines.filter((line) => line.toLowerCase().includes(prefix));
  }
  return undefined;
}

/**
 * A test of whether a LIST's answer is whole: its first empty line is its
 * last. One with an empty line between pairs (a textbook server's) ends at a
 * pause. Each call looks only at the bytes that came since the last.
 */
function wholeList(): (bytes: Uint8Array) => boolean {
  let scanned = 0; // Bytes before this hold no "\n\n" or "\n\r\n".
  let end = -1; // Where the first empty line ends.
  return (bytes) => {
    for (let i = Math.max(1, scanned); end === -1 && i < bytes.length; i++) {
      if (bytes[i] !== 0x0a) continue;
      if (bytes[i - 1] === 0x0a || (i >= 2 && bytes[i - 1] === 0x0d && bytes[i - 2] === 0x0a)) {
        end = i + 1;
      }
    }
    scanned = bytes.length;
    return end === bytes.length;
  };
}

// A DELETE's answers the textbook way, whole without a \n.
const DELETE_ANSWERS = ["Success!", "Not exist!"].map((text) => new TextEncoder().encode(text));

/**
 * Whether a DELETE's answer, on a connection of its own, is whole: it ends
 * with `\n`, or it is `Success!` or `Not exist!` (a textbook answer has
 * none), so no pause is waited out for it (one per key: 2 s of a textbook
 * run's 9.3). Its connection closes next. More bytes could not make
 * `Success!` count as anything but deleted; after `Not exist!` they would
 * (as an odd answer), but LIST decides what is gone, and without one a
 * `Not exist!` is reported as not known to be gone: the safe side.
 */
function wholeDeleteAnswer(got: Uint8Array): boolean {
  return got.at(-1) === 0x0a ||
    DELETE_ANSWERS.some((answer) =>
      got.length === answer.length && got.every((byte, i) => byte === answer[i])
    );
}

/** An answer that says the request was refused: `Error: ...`, or a textbook `Wrong request!`. */
function isError(answer: string): boolean {
  return /^\s*(error|wrong)/i.test(answer);
}
