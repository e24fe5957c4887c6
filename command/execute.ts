/**
 * {@linkcode execute}: runs one framed request against the store, for every
 * protocol: AUTH's gate, MULTI's queue (Redis transactions: queued copies
 * until EXEC, command/redis/transaction.ts), then the command's handler,
 * which states its answer through the {@linkcode Reply} it is given. It
 * knows no table: the framer found the command already.
 *
 * @module
 */

import type { Context, Continuation, Handler, Session } from "./command.ts";
import { AUTH_FAILURES } from "./auth.ts";
import { subcommandFailure } from "./redis/subcommands.ts";
import type { Failure, Reply } from "./reply.ts";
import type { Request } from "./request.ts";
import { holdCommandTime, releaseCommandTime } from "../store/clock.ts";

/**
 * Whether a failed request is answered as it is before AUTH: a broken RESP
 * frame (the connection closes), a line too long (the limit is smaller
 * before AUTH, and says so), and, as Redis orders them, an unknown command
 * or subcommand or a wrong number of arguments (they reveal nothing). The
 * line protocol answers every other request but QUIT and AUTH
 * `authentication required`.
 */
function beforeAuth(
  request: Request,
  wrongSubcommand: Failure | undefined,
  protocol: Session["protocol"],
): boolean {
  const kind = request.failure?.kind;
  if (kind === "protocol" || kind === "lineTooLong" || kind === "pendingFull") return true;
  return protocol === "resp" &&
    (kind === "unknownCommand" || kind === "usage" || wrongSubcommand !== undefined);
}

/**
 * {@linkcode execute} for a request a client sent (not one a transaction
 * queued: EXEC runs those in its own time): the real clock
 * (`SYSTEM_CLOCK`) reads one time for all of it, as Redis takes one snapshot
 * of the time per command. A batch of requests is not one time: a command
 * after a slow one (a KEYS over a big store) counts its `PX` from its own
 * start.
 */
export function executeAtOneTime(
  request: Request,
  context: Context,
  reply: Reply,
): Continuation | undefined {
  holdCommandTime();
  try {
    return execute(request, context, reply);
  } finally {
    releaseCommandTime();
  }
}

/**
 * Runs one framed request: its command's handler, or the error that the
 * framer found. Returns the continuation of an answer not complete yet.
 */
export function execute(
  request: Request,
  context: Context,
  reply: Reply,
): Continuation | undefined {
  const command = request.command;
  const session = context.session;
  context.stats.commandsProcessed++;
  // A container's subcommand (CLIENT ID) is a command of its own to Redis:
  // one it has not, or its wrong arity, is refused as an unknown command or
  // a wrong arity is, before AUTH and instead of being queued.
  const wrongSubcommand = command?.subcommands === undefined
    ? undefined
    : subcommandFailure(request, command);
  if (
    !session.authenticated && !command?.noAuth &&
    !beforeAuth(request, wrongSubcommand, session.protocol)
  ) {
    // As Redis's rejectCommand(): an EXEC refused aborts, in its words.
    if (command?.name === "EXEC") {
      return abortExec(context, reply, "NOAUTH Authentication required.");
    }
    // PROTOCOL.md, Authentication: nothing is read or changed before AUTH.
    reply.error(AUTH_FAILURES.required);
    return undefined;
  }
  // EXEC with arguments ends the transaction, as Redis's execCommandAbort().
  if (command === undefined && isExecMisused(request)) {
    return abortExec(context, reply, "wrong number of arguments for 'exec' command");
  }
  // Inside MULTI, a command is queued for EXEC instead of run.
  if (session.transaction !== undefined && command?.controlsTransaction !== true) {
    return queue(request, context, reply, wrongSubcommand);
  }
  if (command === undefined) {
    // A broken frame ends a Redis connection, after its error (PROTOCOL.md).
    if (request.failure!.kind === "protocol") context.session.closing = "error";
    reply.error(request.failure!);
    return undefined;
  }
  if (wrongSubcommand !== undefined) {
    reply.error(wrongSubcommand);
    return undefined;
  }
  // A framer and its protocol's reply are made together (`openWire()` in server/wire.ts),
  // so a RESP command always gets the RedisReply its handler states.
  return (command.run as Handler<Reply>)(request, context, reply) ?? undefined;
}

/**
 * Inside MULTI: queues `request` (a copy: the framer reuses it and its
 * bytes) and answers QUEUED, or answers the error that keeps it from
 * running, which dooms the transaction, as Redis's `flagTransaction()` does:
 * the framer's (unknown command, wrong arity, broken frame), or
 * `wrongSubcommand`, a container's subcommand it has not or its wrong arity.
 */
export function queue(
  request: Request,
  context: Context,
  reply: Reply,
  wrongSubcommand?: Failure,
): undefined {
  const transaction = context.session.transaction!;
  const failure = request.failure ?? wrongSubcommand;
  if (failure !== undefined) {
    // A broken frame ends the connection (PROTOCOL.md), transaction and all.
    if (failure.kind === "protocol") context.session.closing = "error";
    else transaction.failed = true;
    reply.error(failure);
    return undefined;
  }
  // Once doomed, a transaction keeps nothing more: EXEC will discard it.
  if (!transaction.failed) {
    const copy = request.copy();
    // Its bytes, its argument positions (two 4-byte arrays), and the rest.
    const cost = copy.bytes.length + 8 * copy.starts.length + QUEUED_OVERHEAD_BYTES;
    const stats = context.stats;
    const tooMuch = transaction.bytes + cost > MAX_QUEUED_BYTES
      ? TOO_MUCH
      : stats.queuedBytes + cost > MAX_SERVER_QUEUED_BYTES
      ? TOO_MUCH_IN_ALL
      : undefined;
    if (tooMuch !== undefined) {
      transaction.failed = true;
      releaseQueued(context);
      reply.error(tooMuch);
      return undefined;
    }
    transaction.bytes += cost;
    stats.queuedBytes += cost;
    transaction.queued.push(copy);
  }
  queued(reply);
  return undefined;
}

/**
 * Lets go of what the session's transaction queued, in its count and the
 * server's: at EXEC, DISCARD, an abort, or the connection's end.
 */
export function releaseQueued({ session, stats }: Context): void {
  const transaction = session.transaction;
  if (transaction === undefined) return;
  stats.queuedBytes -= transaction.bytes;
  transaction.bytes = 0;
  transaction.queued.length = 0;
}

/** The most a transaction may queue: its commands' bytes, and about a KiB more for each. */
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** The most every open transaction together may queue. */
export const MAX_SERVER_QUEUED_BYTES = 512 * 1024 * 1024;
// What a queued command costs beyond its bytes: the copy's object and
// arrays, measured at about 740 bytes of heap (and more of the process's memory).
const QUEUED_OVERHEAD_BYTES = 1024;
const TOO_MUCH = {
  kind: "redis",
  text: `ERR kv: a transaction may queue at most ${MAX_QUEUED_BYTES / 1024 / 1024} MiB of commands`,
} as const;
const TOO_MUCH_IN_ALL = {
  kind: "redis",
  text: `ERR kv: open transactions hold ${
    MAX_SERVER_QUEUED_BYTES / 1024 / 1024
  } MiB of commands already; try again later`,
} as const;

/** Whether `request` is EXEC with arguments (a usage error). */
export function isExecMisused(request: Request): boolean {
  const failure = request.failure;
  return failure?.kind === "usage" && failure.command.name === "EXEC";
}

/**
 * An EXEC refused (with arguments, or before AUTH), in MULTI or not:
 * Redis's execCommandAbort() answers EXECABORT and ends the transaction
 * (and the watching).
 */
export function abortExec(context: Context, reply: Reply, because: string): undefined {
  const { session, watches } = context;
  releaseQueued(context);
  session.transaction = undefined;
  watches.unwatchAll(session);
  reply.error({ kind: "redis", text: `EXECABORT Transaction discarded because of: ${because}` });
  return undefined;
}

/** `+QUEUED`: a RESP reply always has `simple()` (only Redis's protocol has MULTI). */
function queued(reply: Reply): void {
  (reply as Reply & { simple(text: string): void }).simple("QUEUED");
}
