/**
 * What a conformance rule is, as data: an id, a level, where it comes from,
 * one sentence in English and Korean, and its steps (what to send, what to
 * expect). The rules themselves are in `check/rules/`; `playRule()`
 * (`play.ts`) plays the steps over the run's transport (raw TCP, or UDP
 * datagrams with `--udp`: `transport.ts`), and knows nothing else.
 *
 * @module
 */

/**
 * What a run checks. `assignment`: only what the course assignment asks,
 * the way a textbook server does it (a fresh connection per request, sent
 * without `\n`, the answer taken once it stops growing). `contract`:
 * PROTOCOL.md's requests, responses and connection rules, framed by `\n`.
 * `full`: the contract, and what loads the server.
 */
export type Level = "assignment" | "contract" | "full";

/** Every level, from the most lenient. */
export const LEVELS: readonly Level[] = ["assignment", "contract", "full"];

/** A sentence in the two languages the checker speaks. */
export interface Text {
  /** In English. */
  readonly en: string;
  /** In Korean. */
  readonly ko: string;
}

/** A language of the report. */
export type Lang = keyof Text;

/**
 * Bytes to send: text (sent as UTF-8), or pieces of text and raw bytes (for
 * invalid UTF-8). In text, `{k}` stands for the run's key prefix, so every
 * key the checker writes is under it.
 */
export type Data = string | readonly (string | readonly number[])[];

/** What an answer must be. */
export type Expect =
  /** One line, exactly (a `\r` before its `\n` is let pass: `resp.lf` checks that alone). */
  | { readonly line: string }
  /** These lines, in this order. */
  | { readonly lines: readonly string[] }
  /** One line that starts with `Error: ` (and then `starting`, if given). */
  | { readonly error: true; readonly starting?: string }
  /** Anything at all (the assignment does not word its errors). */
  | { readonly any: true }
  /**
   * A LIST answer holding these lines, in any order, among others, each
   * once, and no pair of the `deleted` keys; then an empty line.
   */
  | { readonly list: readonly string[]; readonly deleted?: readonly string[] }
  /** `Not exist!` then an empty line; if the store holds pairs, the rule is skipped. */
  | { readonly emptyList: true }
  /** The server closes the connection, sending nothing more. */
  | { readonly closed: true }
  /** Nothing arrives for this many milliseconds. */
  | { readonly silenceMs: number }
  /** Exactly these bytes, up to and including a `\n`. */
  | { readonly raw: string };

/** The name of a connection within a rule; steps without one use `"main"`. */
export type ConnName = string;

/** A load the `full` level puts on the server; its code is in `load.ts`. */
export type Load =
  | { readonly load: "clients"; readonly clients: number; readonly keysEach: number }
  | { readonly load: "longLine" }
  | { readonly load: "slowReader"; readonly gets: number; readonly valueBytes: number }
  | { readonly load: "disconnects"; readonly connections: number };

/** One step of a rule. */
export type Step =
  /** Writes bytes (in the `assignment` level: on a fresh connection, alone). */
  | { readonly send: Data; readonly on?: ConnName }
  /** Writes each piece alone, `gapMs` apart, so that the server reads them apart. */
  | { readonly sendPieces: readonly Data[]; readonly gapMs: number; readonly on?: ConnName }
  /** Reads an answer and compares it. */
  | { readonly expect: Expect; readonly on?: ConnName }
  /** Shuts down the sending side (a half-close). */
  | { readonly closeWrite: true; readonly on?: ConnName }
  /**
   * Closes the connection, unread answers and all, after `afterMs`: a FIN
   * (the server reads the end of the stream), then a reset if answers lie
   * unread.
   */
  | { readonly disconnect: true; readonly afterMs?: number; readonly on?: ConnName }
  /**
   * On a connection of its own: writes the bytes, waits `afterMs` for the
   * answers to arrive unread, and resets the connection (an RST and no
   * FIN, as a client killed mid-conversation: the server's `recv()` raises
   * `ConnectionResetError`, where a FIN gives it `b""`).
   */
  | { readonly reset: Data; readonly afterMs: number }
  | Load;

/** A conformance rule. */
export interface Rule {
  /** Short and stable: `req.trim`, `a.put`. */
  readonly id: string;
  /** The level it belongs to; `full` also runs every `contract` rule. */
  readonly level: Level;
  /**
   * Where it comes from: a PROTOCOL.md section (in English, as the file is),
   * or the assignment's words (in both languages).
   */
  readonly source: string | Text;
  /** What it checks, in one sentence. */
  readonly text: Text;
  /**
   * What it checks over UDP, where `text` speaks of a connection (UDP has
   * none): `kv check --udp` shows it instead ({@linkcode asPlayedOver}).
   * @default {undefined} (`text`)
   */
  readonly udpText?: Text;
  /** What to send and what to expect, in order. */
  readonly steps: readonly Step[];
  /** Runs before any rule writes a key (LIST on an empty store). @default {false} */
  readonly first?: boolean;
  /**
   * Its requests come on a connection that has never sent `\n` (every
   * `assignment` rule is played so too). With a password, AUTH's `\n` comes
   * first, so such a rule is skipped. @default {false}
   */
  readonly unframed?: boolean;
  /**
   * Played only over this transport: `tcp` for a rule about connections
   * (UDP has none), `udp` for one about datagrams (`kv check --udp`).
   * @default {undefined} (both)
   */
  readonly over?: TransportName;
}

/**
 * The rules a run plays, by how it reaches the server: TCP, or UDP
 * datagrams (`kv check --udp`). The rest of what differs is the run's
 * `Transport` (`transport.ts`).
 */
export type TransportName = "tcp" | "udp";

/** A step that sends `request` and one that expects `answer` (on `on`). */
export function ask(request: Data, answer: Expect, on?: ConnName): Step[] {
  return on === undefined
    ? [{ send: request }, { expect: answer }]
    : [{ send: request, on }, { expect: answer, on }];
}

/** Exactly one line. */
export function line(text: string): Expect {
  return { line: text };
}

/** One line starting with `Error: `. */
export const ERROR: Expect = { error: true };

/** Any answer at all. */
export const ANY: Expect = { any: true };

/** `PING` then `PONG`: the connection still works. */
export function stillAnswers(on?: ConnName): Step[] {
  return ask("PING\n", line("PONG"), on);
}

/** Where `rule` comes from, in `lang`. */
export function sourceOf(rule: Rule, lang: Lang): string {
  return typeof rule.source === "string" ? rule.source : rule.source[lang];
}

/** `rule` as a run over `transport` shows it: over UDP, its `udpText` is its `text`. */
export function asPlayedOver(rule: Rule, transport: TransportName): Rule {
  return transport === "udp" && rule.udpText !== undefined ? { ...rule, text: rule.udpText } : rule;
}
