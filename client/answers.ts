/**
 * {@linkcode AnswerQueue}: how {@linkcode KvClient}'s connection (pipeline.ts) matches the
 * answer lines it reads to the requests it sent, in order. Most requests are
 * answered by one line; a LIST by its lines up to an empty one, or by one
 * lone `Error:` line. Lines that come with no request waiting (`Error: too
 * many connections`, sent before the server closes) answer the next
 * requests (or, before the first request, are a greeting that answers
 * none: {@linkcode AnswerQueue.takeGreeting}). Which answers are errors is
 * told by {@linkcode isErrorAnswer}: a LIST line may itself start with
 * `Error: ` (it is a key). What is held is bounded: the early lines
 * ({@linkcode MAX_EARLY_LINES}, {@linkcode MAX_EARLY_BYTES}) and a LIST
 * gathered whole (`maxListLines`, `maxListBytes`, of `ClientOptions`); past
 * them {@linkcode AnswerQueue.take} refuses the line, and the connection
 * fails.
 * Pure: no socket, no timer.
 *
 * @module
 */

import { concat } from "../net/bytes.ts";
import { Fifo } from "../net/fifo.ts";
import { keepEnds } from "../net/show.ts";
import { ERROR_PREFIX, failureText } from "../wire/line/reply.ts";

const encoder = new TextEncoder();

/**
 * The most lines kept that came with no request waiting. A right server
 * sends none; the wrong ones that end send a few (`Error: too many
 * connections` before closing; a server that reads a request in 1 KiB
 * pieces, one answer per piece, so a 1 MB request gives 1,000). Past it the
 * server is taken to send without end (a loop that answers each `b""`
 * `recv()` gives after our FIN sent 620,000 lines a second, and all were
 * kept): the connection fails rather than hold them.
 */
export const MAX_EARLY_LINES = 1_000;
/** ... or this many bytes of them, whichever comes first (a few long lines, not only many short ones). */
export const MAX_EARLY_BYTES = 256 * 1024;
/**
 * Why {@linkcode AnswerQueue.take} refused a line: a line that is not UTF-8
 * that no request waits for; one more line no request waits for than
 * {@linkcode MAX_EARLY_LINES} (or {@linkcode MAX_EARLY_BYTES}) allow; one
 * more line of a LIST held whole than the queue's `listLimit` allows.
 */
export type Refusal = "unasked-unreadable" | "unasked-too-many" | "list-too-big";

/** The most a LIST held whole may hold: lines, and bytes (each line's with its `\n`). */
export interface ListLimit {
  readonly lines: number;
  readonly bytes: number;
}

/** How a request is answered: by one line, or by lines up to an empty one (LIST). */
export type AnswerShape = "line" | "list";

/** A request waiting for its answer. */
export interface Pending {
  readonly shape: AnswerShape;
  /** A LIST's lines so far (those not yet handed to `onLines`). */
  readonly lines: string[];
  /** How many lines of a LIST have been taken, handed to `onLines` or not. */
  taken: number;
  /** How many bytes `lines` hold (with a `\n` each): what a LIST held whole is bounded by. */
  heldBytes?: number;
  /**
   * Where a LIST's lines go as they come (`KvClient.requestEach`): the
   * connection hands over `lines` after each read. Unset: they are kept.
   */
  readonly onLines?: (lines: string[]) => void | Promise<void>;
  /** How many of `lines` come before the first line that was not UTF-8 (none of the rest is handed on). */
  readable?: number;
  /** Of a LIST handed on: how many bytes were, and their two ends (what a timeout tells of it). */
  handed?: { bytes: number; kept: Uint8Array };
  /** Why the answer cannot be handed out once it ends (a line of it was not UTF-8). */
  unreadable?: Error;
  resolve(lines: string[]): void;
  reject(error: Error): void;
}

/** The requests waiting for answers, oldest first, and the lines that came early. */
export class AnswerQueue {
  /** How many requests have been answered. */
  answered = 0;
  /** Whether the last answer was an error (`Error: too many connections` is not a habit of closing after each answer). */
  lastWasError = false;
  // An answer that is no error came: the connection needs no AUTH (any more),
  // so the authentication error's text in a LIST is a pair.
  #authenticated = false;
  // Not an array: its shift() made n pipelined requests cost O(n^2) (net/fifo.ts).
  readonly #pending = new Fifo<Pending>();
  readonly #early: string[] = [];
  // The bytes of each early line (with its \n), and of all of them.
  readonly #earlySizes: number[] = [];
  #earlyBytes = 0;
  #tooManyEarly = false;
  /** The most a LIST held whole (no `onLines`) may hold. */
  readonly listLimit: ListLimit;

  /** `listLimit`: the most a LIST held whole (no `onLines`) may hold. */
  constructor(listLimit: ListLimit = { lines: Infinity, bytes: Infinity }) {
    this.listLimit = listLimit;
  }

  /** The oldest request waiting, if any. */
  get first(): Pending | undefined {
    return this.#pending.first;
  }

  /** How many requests wait. */
  get waiting(): number {
    return this.#pending.length;
  }

  /**
   * Whether lines came that no request has taken yet, to answer the next
   * requests. Not once more came than are kept: the connection failed for
   * it, and later requests fail with that.
   */
  get hasEarly(): boolean {
    return !this.#tooManyEarly && this.#early.length > 0;
  }

  /** The lines that came with no request waiting, and no request has taken yet. */
  get early(): readonly string[] {
    return this.#early;
  }

  /**
   * Takes the early lines for no request, if there are any and none is an
   * error line: before the first request, they are a greeting (a refusal,
   * `Error: too many connections`, still answers it).
   */
  takeGreeting(): string[] | undefined {
    if (!this.hasEarly || this.#early.some((line) => line.startsWith(ERROR_PREFIX))) {
      return undefined;
    }
    const lines = [...this.#early];
    this.dropEarly();
    return lines;
  }

  /** Forgets the early lines (the client closed: nothing more is answered). */
  dropEarly(): void {
    this.#early.length = this.#earlySizes.length = this.#earlyBytes = 0;
  }

  /**
   * Queues a request; lines that came early answer it at once if it is the
   * oldest. With `ended` (the connection is over), a request no early line
   * answered fails with it. An early line {@linkcode AnswerQueue.take}
   * refuses (a LIST held whole past `listLimit`) is refused as one read
   * live would be: the early lines are dropped, and `onRefused` is told,
   * to fail the connection (without it, every request waiting fails).
   */
  add(
    shape: AnswerShape,
    ended?: Error,
    onLines?: (lines: string[]) => void | Promise<void>,
    onRefused?: (refusal: Refusal) => void,
  ): Promise<string[]> {
    const { promise, resolve, reject } = Promise.withResolvers<string[]>();
    const pending: Pending = { shape, lines: [], taken: 0, onLines, resolve, reject };
    this.#pending.push(pending);
    while (this.hasEarly && this.#pending.first === pending) {
      const size = this.#earlySizes.shift()!;
      this.#earlyBytes -= size;
      const refused = this.take(this.#early.shift()!, undefined, size - 1);
      if (refused !== undefined) {
        this.dropEarly();
        if (onRefused !== undefined) onRefused(refused);
        else this.rejectAll(new Error(`answer line refused: ${refused}`));
        return promise;
      }
    }
    if (ended !== undefined && this.#pending.first === pending) {
      this.#pending.shift();
      reject(ended);
    }
    return promise;
  }

  /**
   * Hands one answer line to the oldest request waiting for it. With
   * `unreadable` (the line's bytes were not UTF-8, `line` their lossy
   * reading), that request fails with it once its answer ends: a LIST still
   * takes its lines up to the empty one, so the answers after it stay in
   * step. `bytes`: the line's length as it came, without its `\n`. Takes
   * nothing, and says why ({@linkcode Refusal}), for such a line no request
   * waits for, and for a line past what is kept: the connection is to fail.
   */
  take(line: string, unreadable?: Error, bytes: number = line.length): Refusal | undefined {
    const pending = this.#pending.first;
    if (pending === undefined) {
      if (unreadable !== undefined) return "unasked-unreadable";
      if (
        this.#early.length >= MAX_EARLY_LINES || this.#earlyBytes + bytes + 1 > MAX_EARLY_BYTES
      ) {
        this.#tooManyEarly = true;
        return "unasked-too-many";
      }
      this.#early.push(line);
      this.#earlySizes.push(bytes + 1);
      this.#earlyBytes += bytes + 1;
      return undefined;
    }
    if (unreadable !== undefined) {
      if (pending.unreadable === undefined) {
        pending.unreadable = unreadable;
        pending.readable = pending.lines.length;
      }
      // A LIST's lone error ends it, whatever its codec (as below).
      if (pending.shape === "line" || (pending.taken === 0 && this.#isLoneError(line))) {
        this.#resolveFirst([line]);
        return undefined;
      }
      return this.#push(pending, line, bytes);
    }
    if (pending.shape === "line") {
      this.#resolveFirst([line], line.startsWith(ERROR_PREFIX));
    } else if (pending.taken === 0 && this.#isLoneError(line)) {
      this.#resolveFirst([line], true);
    } else if (line === "") {
      this.#resolveFirst(pending.lines);
    } else {
      return this.#push(pending, line, bytes);
    }
    return undefined;
  }

  /** Ends the oldest request's LIST with the lines it has (a server that never sent the empty line). */
  endList(): void {
    this.#resolveFirst(this.#pending.first!.lines);
  }

  /**
   * The lines of the oldest request's LIST that are to be handed to its
   * `onLines` now (taken out of its `lines`), or undefined if there are
   * none. Those after a line that was not UTF-8 are dropped: its request
   * fails once its answer ends.
   */
  takeStreamed(): { pending: Pending; lines: string[] } | undefined {
    const pending = this.#pending.first;
    if (pending?.onLines === undefined || pending.lines.length === 0) return undefined;
    let lines = (pending.lines as string[]).splice(0);
    if (pending.readable !== undefined) {
      lines = lines.slice(0, pending.readable);
      pending.readable = 0;
      if (lines.length === 0) return undefined;
    }
    // What a timeout would say came of the answer: its two ends and its length.
    const bytes = encoder.encode(`${lines.join("\n")}\n`);
    const handed = pending.handed;
    pending.handed = {
      bytes: (handed?.bytes ?? 0) + bytes.length,
      kept: keepEnds(handed === undefined ? bytes : concat([handed.kept, bytes])),
    };
    return { pending, lines };
  }

  /**
   * What came of `pending`'s answer, for a timeout to tell: its bytes (of a
   * LIST handed on, only the two ends), `partLine` (a line with no `\n`
   * yet) last, and how many there were.
   */
  received(pending: Pending, partLine: Uint8Array): { received: Uint8Array; bytes: number } {
    const rest = concat([...pending.lines.map((line) => encoder.encode(`${line}\n`)), partLine]);
    const handed = pending.handed;
    if (handed === undefined) return { received: rest, bytes: rest.length };
    return { received: keepEnds(concat([handed.kept, rest])), bytes: handed.bytes + rest.length };
  }

  /** Fails every request waiting. */
  rejectAll(error: Error): void {
    for (const pending of this.#pending.drain()) pending.reject(error);
  }

  /** Adds a line to a LIST; refuses one past the bounds of a LIST held whole. */
  #push(pending: Pending, line: string, bytes: number): Refusal | undefined {
    if (pending.onLines === undefined) {
      const held = (pending.heldBytes ?? 0) + bytes + 1;
      const limit = this.listLimit;
      if (pending.lines.length >= limit.lines || held > limit.bytes) return "list-too-big";
      pending.heldBytes = held;
    }
    pending.lines.push(line);
    pending.taken++;
    return undefined;
  }

  #resolveFirst(lines: string[], error = false): void {
    if (error) errorAnswers.add(lines);
    else this.#authenticated = true;
    this.lastWasError = error;
    const pending = this.#pending.shift()!;
    if (pending.unreadable === undefined) pending.resolve(lines);
    else pending.reject(pending.unreadable);
    this.answered++;
  }

  /**
   * An `Error:` line where a LIST answer was expected (a line too long, too
   * many connections, authentication required). A LIST line always holds
   * `, `; these errors do not, but for the contract's authentication error,
   * which is one only while no answer has shown the connection needs no AUTH.
   */
  #isLoneError(line: string): boolean {
    return line.startsWith(ERROR_PREFIX) &&
      (!line.includes(", ") || (line === AUTH_REQUIRED && !this.#authenticated));
  }
}

// The answers that are errors: one `Error:` line (a LIST's lines are pairs,
// whatever their keys start with).
const errorAnswers = new WeakSet<readonly string[]>();

/**
 * Whether `lines`, the very array `KvClient.request()` returned, is an
 * error answer: one `Error:` line. A LIST's pairs are not, even one whose
 * key starts with `Error: `. The answer is known by its array, not read
 * from its text: a copy of it, or lines built by hand, are never errors.
 */
export function isErrorAnswer(lines: readonly string[]): boolean {
  return errorAnswers.has(lines);
}

// The one error that can answer LIST and holds ", " (PROTOCOL.md, Authentication).
const AUTH_REQUIRED = `${ERROR_PREFIX}${failureText({ kind: "authRequired" })}`;
