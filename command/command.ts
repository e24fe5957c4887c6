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
import type { RedisReply, Reply } from "./reply.ts";
import type { Request } from "./request.ts";
import type { Watches, Watching } from "./watch.ts";

/** One field of a line-protocol request, after the command word. */
export interface Field {
  /** Its name in the usage text (`key` in `GET, key`). */
  readonly name: string;
  /** An empty field is an error, named by its `name` (`Error: key must not be empty`). */
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
  /**
   * Set by a command after which the connection closes: `"quit"` (QUIT), or
   * `"error"` (a broken frame, a request past the limit, the last wrong
   * password), after which the client may still be sending.
   */
  closing: false | "quit" | "error";
  /** The connection's number, from 1 (CLIENT ID). */
  readonly id: number;
  /** The peer's address as `host:port`. */
  readonly peer: string;
  /** Our side's address as `host:port`. */
  readonly local: string;
  /** When the connection was accepted, by the server's clock. */
  readonly createdAt: number;
  /** The Redis protocol version spoken (2 until `HELLO 3`). */
  resp: 2 | 3;
  /** The name a Redis client gave itself (CLIENT SETNAME), or "". */
  name: string;
  /** Which protocol the connection speaks (its first byte chose). */
  readonly protocol: "line" | "resp";
  /** Whether it may run commands: true at once when no password is set. */
  authenticated: boolean;
  /** Wrong passwords so far (PROTOCOL.md, Authentication: 10 close the connection). */
  authFailures: number;
  /** The commands queued since MULTI; `undefined` outside a transaction. */
  transaction: Transaction | undefined;
  /**
   * While EXEC runs its commands, how many there are (0 otherwise): CLIENT
   * INFO inside EXEC then shows `flags=x multi=N cmd=exec`, as Redis's does.
   */
  executing: number;
  /** The keys it WATCHes; `undefined` when none. */
  watching: Watching | undefined;
}

/** A session as a connection (or a datagram) starts it: RESP2, no name, nothing queued or watched. */
export function newSession(
  init: Pick<Session, "id" | "peer" | "local" | "createdAt" | "protocol" | "authenticated">,
): Session {
  return {
    ...init,
    closing: false,
    resp: 2,
    name: "",
    authFailures: 0,
    transaction: undefined,
    executing: 0,
    watching: undefined,
  };
}

/** A transaction being queued (Redis's MULTI ... EXEC). */
export interface Transaction {
  /** The commands to run at EXEC, each a copy that owns its bytes. */
  readonly queued: Request[];
  /** A command could not be queued (unknown, wrong arity): EXEC discards them all. */
  failed: boolean;
  /** Bytes of arguments queued: bounded, so one client cannot queue without end. */
  bytes: number;
}

/** What authentication needs: the password, and where failures are logged. */
export interface Guard {
  /** The password connections must send first; `undefined` when none is set. */
  readonly password: Uint8Array | undefined;
  /** Logs a failed AUTH (the peer, never the password tried). */
  failed(session: Session): void;
}

/** Figures the whole server keeps, for INFO. */
export interface ServerStats {
  /** When the server started, in ms since the epoch. */
  readonly startedAt: number;
  /** The port it listens on. */
  readonly port: number;
  /** Connections accepted, ever. */
  connectionsReceived: number;
  /** Connections refused over --max-connections, ever. */
  connectionsRejected: number;
  /** Requests run, ever (errors included). */
  commandsProcessed: number;
  /** Reads that found their key / did not. */
  keyspaceHits: number;
  /** Reads that did not find their key. */
  keyspaceMisses: number;
  /** Wrong passwords tried, ever (Redis's `acl_access_denied_auth`). */
  authFailures: number;
  /** Connections open now. */
  connectedClients(): number;
  /** The --max-connections limit. */
  readonly maxClients: number;
  /** The --max-line-bytes limit: the longest request, so the longest string in one (CONFIG GET proto-max-bulk-len). */
  readonly maxRequestBytes: number;
  /** Whether the store keeps a log on disk (INFO persistence, CONFIG GET appendonly). */
  readonly persistent: boolean;
  /** Bytes that open transactions have queued, over every connection (MULTI's cap). */
  queuedBytes: number;
}

/**
 * Counts a read's lookup of a key for INFO (`keyspace_hits` when `found`,
 * else `keyspace_misses`), as Redis counts the commands that read a key
 * (GET, MGET, EXISTS, TTL, GETRANGE, ...; not those that only write it).
 * Returns `found`.
 */
export function countLookup(stats: ServerStats, found: boolean): boolean {
  if (found) stats.keyspaceHits++;
  else stats.keyspaceMisses++;
  return found;
}

/** What a handler works with besides its request and reply. */
export interface Context {
  /** The store every connection shares. */
  readonly store: Store;
  /** The time expiry is measured by (the store's own). */
  readonly clock: Clock;
  /** This connection's state. */
  readonly session: Session;
  /** The server's figures. */
  readonly stats: ServerStats;
  /** Authentication's password and log. */
  readonly guard: Guard;
  /** The keys Redis clients WATCH, server-wide. */
  readonly watches: Watches;
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
export type Handler<R extends Reply = Reply> = (
  request: Request,
  context: Context,
  reply: R,
) => Continuation | undefined | void;

/** What every command entry has, whichever protocol it is spoken in. */
export interface Command {
  /** The command word, upper case. */
  readonly name: string;
  /** It may run before AUTH (AUTH itself, QUIT, HELLO). @default {false} */
  readonly noAuth?: boolean;
  /** Its arguments may hold a password (AUTH, HELLO): logs and traces show only its name. @default {false} */
  readonly secret?: boolean;
  /**
   * Inside MULTI it runs at once instead of being queued (MULTI, EXEC,
   * DISCARD, QUIT). @default {false}
   */
  readonly controlsTransaction?: boolean;
  /**
   * A container's subcommands (Redis's CLIENT ID, CONFIG GET), by name in
   * lower case, each with its arity as Redis 7 counts it: both words, and
   * negative for at least that many. As in Redis, one it has not, or with
   * the wrong arity, is refused before the handler runs, before AUTH's gate
   * and when MULTI would queue it (command/redis/subcommands.ts).
   * @default {undefined}
   */
  readonly subcommands?: Subcommands;
  /** Whether it can change the store (a durable store must log it). */
  readonly writes: boolean;
  /** One phrase for help texts. */
  readonly summary: string;
  /** The handler. */
  readonly run: Handler<never>;
}

/** A container command's subcommands and their arities ({@linkcode Command.subcommands}). */
export type Subcommands = Readonly<Record<string, number>>;

/** A command of the line protocol (PROTOCOL.md, Requests). */
export interface LineCommand extends Command {
  /** The fields after the command word. */
  readonly fields: readonly Field[];
  /** What a client reads back: one line, or lines up to an empty one. */
  readonly answer: "line" | "list";
  /** The handler: it states meanings every protocol has. */
  readonly run: Handler<Reply>;
}

/** A command of Redis's protocol (PROTOCOL.md, Redis clients), as Redis 7 defines it. */
export interface RedisCommand extends Command {
  /** Redis's arity: the number of words with the name; negative: at least that many. */
  readonly arity: number;
  /** Redis's command flags (COMMAND INFO), such as `write`, `readonly`, `fast`. */
  readonly flags: readonly string[];
  /** ACL categories beyond those its flags and group give (`@dangerous`). @default {[]} */
  readonly acl?: readonly string[];
  /** Which words are keys: first, last (-1: the last word), step; 0, 0, 0 for none. */
  readonly keys: readonly [first: number, last: number, step: number];
  /** The handler: it may state the richer meanings of a {@linkcode RedisReply}. */
  readonly run: Handler<RedisReply>;
}

/** The right form of a line command, as `Error: usage:` quotes it: `PUT, key, value`. */
export function usage(command: LineCommand): string {
  return [command.name, ...command.fields.map((field) => field.name)].join(", ");
}
