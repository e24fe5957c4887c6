/**
 * What a command is: its entry in the table ({@linkcode Command}) and what
 * its handler is given ({@linkcode Context}). A handler reads its arguments
 * from a {@linkcode Request}, works on the {@linkcode Store}, and says what
 * the answer means through a {@linkcode Reply}; it never sees a socket or a
 * wire format.
 *
 * @module
 */

import type { Clock } from "../store/clock.ts";
import type { Store } from "../store/store.ts";
import type { Reply } from "./reply.ts";
import type { Request } from "./request.ts";

/** One field of a line-protocol request, after the command word. */
export interface Field {
  /** Its name in the usage text (`key` in `GET, key`). */
  readonly name: string;
  /** An empty field is an error (`Error: key must not be empty`). */
  readonly nonEmpty?: boolean;
  /** The field takes the rest of the line, commas included (PUT's value). */
  readonly rest?: boolean;
}

/** A key: never empty. */
export const KEY: Field = { name: "key", nonEmpty: true };
/** A value: the rest of the line, commas included; may be empty. */
export const VALUE: Field = { name: "value", rest: true };

/** Per-connection state that commands read and change. */
export interface Session {
  /** Set by a command after which the connection closes (QUIT). */
  closing: boolean;
}

/** What a handler works with besides its request and reply. */
export interface Context {
  /** The store every connection shares. */
  readonly store: Store;
  /** The time expiry is measured by (the store's own). */
  readonly clock: Clock;
  /** This connection's state. */
  readonly session: Session;
}

/**
 * The rest of an answer too large to build at once (LIST of a big store):
 * the connection calls `step()` until it returns `true`, writing out what
 * each step added once the answer buffer is full, so a connection never
 * holds more than a bounded amount of unsent answer.
 */
export interface Continuation {
  /** Adds the next bounded piece of the answer; `true` once it is complete. */
  step(reply: Reply): boolean;
}

/** Runs one command. Returns a continuation if the answer is not complete yet. */
export type Handler = (
  request: Request,
  context: Context,
  reply: Reply,
) => Continuation | undefined | void;

/** One entry of the command table. */
export interface Command {
  /** The command word, upper case, as the usage text writes it. */
  readonly name: string;
  /** The line protocol's fields after the command word. */
  readonly fields: readonly Field[];
  /** Whether it can change the store (a durable store must log it). */
  readonly writes: boolean;
  /** What a client reads back: one line, or lines up to an empty one. */
  readonly answer: "line" | "list";
  /** One phrase for the REPL's help. */
  readonly summary: string;
  /** The handler. */
  readonly run: Handler;
}

/** The right form of a command, as `Error: usage:` quotes it: `PUT, key, value`. */
export function usage(command: Command): string {
  return [command.name, ...command.fields.map((field) => field.name)].join(", ");
}
