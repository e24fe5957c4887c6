/**
 * {@linkcode Transport}: how a run reaches the server, chosen once by
 * `runner.ts` (TCP, `tcp_transport.ts`; UDP datagrams, `udp_transport.ts`).
 * What differs between them is asked of it, not tested for elsewhere: how
 * the server is first reached and how a rule's exchange with it is opened,
 * which rules run, whether there are connections (each a stream of bytes),
 * and how a missing or cut answer, one in pieces, or a failed send is
 * worded. The ways of checking an answer (`expect_framed.ts`,
 * `expect_textbook.ts`) and of playing a rule (`play.ts`) read the
 * {@linkcode AnswerSource} it opened and ask it the rest.
 *
 * @module
 */

import type { PlayConfig } from "./context.ts";
import type { LineRead, QuietRead } from "./probe.ts";
import type { Level, Step, Text, TransportName } from "./rule.ts";

/**
 * One exchange with the server that the checks read answers from: a TCP
 * connection (`Probe`), or a UDP request and its answer datagram
 * (`DatagramProbe`). Every wait is bounded.
 */
export interface AnswerSource {
  /** How many bytes the server has sent on it so far. */
  readonly received: number;
  /** Whether its sending side was shut down ({@linkcode AnswerSource.closeWrite}). */
  readonly halfClosed: boolean;
  /** Sends `bytes`; `"timeout"` if the server read none of them for `timeoutMs`. */
  write(bytes: Uint8Array, timeoutMs: number): Promise<"ok" | "timeout" | "closed">;
  /** One line of the answer, up to and including its `\n`, or why none came. */
  readLine(timeoutMs: number, pauseMs: number, maxBytes?: number): Promise<LineRead>;
  /** An answer taken the textbook way: whatever came before a quiet pause. */
  readQuiet(
    timeoutMs: number,
    pauseMs: number,
    done: (bytes: Uint8Array) => boolean,
    bounds?: { maxBytes?: number; wrong?: (bytes: Uint8Array) => boolean },
  ): Promise<QuietRead>;
  /** Waits for the end; any byte first is returned instead. */
  readEnd(timeoutMs: number): Promise<"eof" | "timeout" | Uint8Array>;
  /** Waits `ms`; returns what arrived meanwhile. */
  silence(ms: number): Promise<Uint8Array>;
  /** Shuts down the sending side (a half-close). */
  closeWrite(): Promise<void>;
  close(): Promise<void>;
}

/**
 * How a run reaches the server. Its methods that take an
 * {@linkcode AnswerSource} are handed only those its own
 * {@linkcode Transport.open} made.
 */
export interface Transport {
  /** The rules it plays, by their `over` (`rules.ts`). */
  readonly name: TransportName;
  /**
   * Whether the server is reached over connections, each a stream of bytes
   * (TCP): a client can hold one open, and a line waits for its `\n`.
   * Without them (UDP) each request is an exchange of its own, whose answer
   * ends where its datagram does, and {@linkcode Transport.reach} already
   * waited for an answer.
   */
  readonly connections: boolean;
  /**
   * Reaches the server once, before the first rule: throws
   * {@linkcode CheckUnreachableError} if it cannot, in words that say why.
   */
  reach(config: PlayConfig): Promise<void>;
  /** Opens one exchange with the server; throws what connecting throws. */
  open(config: PlayConfig): Promise<AnswerSource>;
  /** What the header says under its first lines, for a run of `level` (or `only`), if anything. */
  headerNote(level: Level, only: readonly string[]): Text | undefined;
  /** Why `step` cannot be played over it (a step about connections, without any), if so. */
  cannotPlay(step: Step): Text | undefined;
  /** Why a request got no answer in time (and after every try) on `source`. */
  noAnswer(config: PlayConfig, source?: AnswerSource): Text;
  /**
   * Why a textbook answer was nothing at all: the connection closed before
   * a byte of it (TCP); an empty datagram (UDP).
   */
  nothing(): Text;
  /**
   * Why a line was cut before its `\n` by the end of what came (the server
   * closed the connection; the datagram ended): `got`, the line's bytes.
   */
  ended(got: Uint8Array): Text;
  /**
   * Whether the answer just read was only its first piece, the rest coming
   * apart within `pauseMs` (another datagram): why that fails, or
   * `undefined`. A stream has no pieces: `undefined`, without a wait.
   */
  splitAnswer(source: AnswerSource, pauseMs: number): Promise<Text | undefined>;
  /** Why a request could not be sent, `write()` having said `result`. */
  sendFailed(source: AnswerSource, result: "timeout" | "closed", timeoutMs: number): Text;
  /** The most sends an answer on `source` took: above 1, a request was sent again. */
  mostTries(source: AnswerSource): number;
}

/** The server could not be reached at all: nothing was checked. */
export class CheckUnreachableError extends Error {
  /** The message in both languages, where the checker has it in Korean too (no answer over UDP). */
  readonly text?: Text;

  /** `message` names the address and says why. */
  constructor(message: string, options?: ErrorOptions & { text?: Text }) {
    super(message, options);
    this.name = "CheckUnreachableError";
    this.text = options?.text;
  }
}
