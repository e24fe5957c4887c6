/**
 * Redis's transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH, with Redis
 * 7's replies.
 * Between MULTI and EXEC a connection's commands are queued, not run
 * (`queue()` in command/execute.ts), and EXEC runs them one after
 * another with nothing of another connection between them: the server runs
 * one command at a time, so that is all the isolation Redis gives too. A
 * command that cannot be queued (unknown, the wrong number of arguments)
 * makes EXEC discard the lot. A key WATCHed that another command changes
 * (or that expires) before EXEC makes EXEC run nothing and answer a null
 * array: optimistic locking (command/watch.ts tells what a change is).
 *
 * @module
 */

import type { Context, Continuation, RedisCommand } from "../command.ts";
import { AnswerTooLargeError, type RedisReply } from "../reply.ts";
import { byteString, type Request } from "../request.ts";
import { execute, releaseQueued } from "../execute.ts";

/** `MULTI`: starts queuing this connection's commands. */
export const MULTI: RedisCommand = {
  name: "MULTI",
  arity: 1,
  flags: ["noscript", "loading", "stale", "fast", "allow_busy"],
  keys: [0, 0, 0],
  writes: false,
  controlsTransaction: true,
  summary: "Mark the start of a transaction block",
  run(_request, { session }, reply) {
    if (session.transaction !== undefined) {
      // As Redis: an error, and the transaction goes on.
      return reply.error({ kind: "redis", text: "ERR MULTI calls can not be nested" });
    }
    session.transaction = { queued: [], failed: false, bytes: 0 };
    reply.ok();
  },
};

/** `EXEC`: runs the queued commands; an array of their replies. */
export const EXEC: RedisCommand = {
  name: "EXEC",
  arity: 1,
  flags: ["noscript", "loading", "stale", "skip_slowlog"],
  keys: [0, 0, 0],
  writes: true,
  controlsTransaction: true,
  summary: "Execute all commands issued after MULTI",
  run(_request, context, reply) {
    const { session, watches } = context;
    const transaction = session.transaction;
    if (transaction === undefined) {
      return reply.error({ kind: "redis", text: "ERR EXEC without MULTI" });
    }
    const queued = transaction.queued.slice();
    releaseQueued(context);
    session.transaction = undefined;
    // As Redis's execCommand(): the queueing errors first, then the watched
    // keys; either way nothing is watched after.
    const changed = watches.changed(session);
    watches.unwatchAll(session);
    if (transaction.failed) {
      return reply.error({
        kind: "redis",
        text: "EXECABORT Transaction discarded because of previous errors.",
      });
    }
    if (changed) return reply.nilArray();
    reply.array(queued.length);
    const runAll = () => {
      session.executing = queued.length;
      try {
        for (const request of queued) runWhole(request, context, reply);
      } finally {
        session.executing = 0;
      }
    };
    // The whole transaction is one change for the log: a crash keeps all or
    // none of it, as Redis drops a MULTI block its log holds only part of.
    const { store } = context;
    if (store.together !== undefined) store.together(runAll);
    else runAll();
  },
};

/** `DISCARD`: drops the queued commands. */
export const DISCARD: RedisCommand = {
  name: "DISCARD",
  arity: 1,
  flags: ["noscript", "loading", "stale", "fast", "allow_busy"],
  keys: [0, 0, 0],
  writes: false,
  controlsTransaction: true,
  summary: "Discard all commands issued after MULTI",
  run(_request, context, reply) {
    const { session, watches } = context;
    if (session.transaction === undefined) {
      return reply.error({ kind: "redis", text: "ERR DISCARD without MULTI" });
    }
    releaseQueued(context);
    session.transaction = undefined;
    watches.unwatchAll(session);
    reply.ok();
  },
};

/** `WATCH key [key ...]`: EXEC will run nothing if one of them changes first. */
export const WATCH: RedisCommand = {
  name: "WATCH",
  arity: -2,
  flags: ["noscript", "loading", "stale", "fast", "allow_busy"],
  keys: [1, -1, 1],
  writes: false,
  controlsTransaction: true,
  summary: "Watch the given keys to determine execution of the MULTI/EXEC block",
  run(request, { session, watches, store }, reply) {
    if (session.transaction !== undefined) {
      return reply.error({ kind: "redis", text: "ERR WATCH inside MULTI is not allowed" });
    }
    if (!watches.supported) {
      // A store of an embedder's that cannot tell its changes: say so, never watch blind.
      return reply.error({ kind: "redis", text: "ERR kv: this store cannot watch keys" });
    }
    const { bytes, starts, ends } = request;
    const keys: string[] = [];
    // With their expiries now: a key that expires before EXEC has changed.
    const expiries: number[] = [];
    for (let i = 0; i < request.count; i++) {
      keys.push(byteString(bytes, starts[i]!, ends[i]!));
      expiries.push(store.expiry(bytes, starts[i]!, ends[i]!));
    }
    const refused = watches.watch(session, keys, expiries);
    if (refused !== undefined) return reply.error(refused);
    reply.ok();
  },
};

/** `UNWATCH`: forgets the watched keys. */
export const UNWATCH: RedisCommand = {
  name: "UNWATCH",
  arity: 1,
  flags: ["noscript", "loading", "stale", "fast", "allow_busy"],
  keys: [0, 0, 0],
  writes: false,
  summary: "Forget about all watched keys",
  run(_request, { session, watches }, reply) {
    watches.unwatchAll(session);
    reply.ok();
  },
};

/** The transaction commands, in COMMAND's order. */
export const TRANSACTION_COMMANDS: readonly RedisCommand[] = [
  MULTI,
  EXEC,
  DISCARD,
  WATCH,
  UNWATCH,
];

/**
 * Runs one queued command to the end of its reply (a long one is built
 * whole, as Redis does). A reply that would pass what answers may hold
 * together (`--max-answer-bytes`: GETs of a big value queued by the
 * thousand) is taken back, and that command's place in EXEC's array is the
 * error: it ran, and so do the commands after it, as a transaction must.
 */
function runWhole(request: Request, context: Context, reply: RedisReply): void {
  const mark = reply.mark();
  try {
    const rest: Continuation | undefined = execute(request, context, reply);
    if (rest !== undefined) { while (!rest.step(reply)); }
  } catch (error) {
    if (!(error instanceof AnswerTooLargeError)) throw error;
    reply.rewind(mark);
    reply.error({ kind: "answerTooLarge", limitBytes: error.limitBytes });
  }
}
