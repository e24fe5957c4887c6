/**
 * What a connection speaks, set up on its first bytes: a first byte `*`
 * means Redis's protocol (RESP) for the connection's whole life, anything
 * else the line protocol (PROTOCOL.md, Redis clients). A {@linkcode Wire}
 * is the framer, the request it fills, the reply that writes answers into
 * the answer buffer, and the context the commands run in.
 *
 * @module
 */

import {
  type Context,
  type Continuation,
  type Guard,
  newSession,
  type ServerStats,
} from "../command/command.ts";
import { executeAtOneTime } from "../command/execute.ts";
import { AnswerTooLargeError, type Reply } from "../command/reply.ts";
import { Request } from "../command/request.ts";
import type { Watches } from "../command/watch.ts";
import { formatAddr } from "../net/addr.ts";
import type { Clock } from "../store/clock.ts";
import type { Store } from "../store/store.ts";
import { AnswerBuffer } from "../wire/answer_buffer.ts";
import { type BufferPool, POOLED_BYTES } from "../wire/buffer_pool.ts";
import type { PendingBudget } from "../wire/pending_budget.ts";
import type { Failure } from "../command/reply.ts";
import type { Framer } from "../wire/framer.ts";
import { LineFramer } from "../wire/line/framer.ts";
import { errorLine, LineReply } from "../wire/line/reply.ts";
import { RespFramer } from "../wire/resp/framer.ts";
import { redisErrorText, RespReply } from "../wire/resp/reply.ts";
import { WriteAnswers } from "./durable.ts";

// The first byte of a RESP request (an array).
const STAR = 0x2a;

/** Whether a connection whose first byte is `firstByte` speaks Redis's protocol (RESP). */
export function speaksResp(firstByte: number | undefined): boolean {
  return firstByte === STAR;
}

const TOO_MANY: Failure = { kind: "tooManyConnections" };
const TOO_MANY_LINE = new TextEncoder().encode(errorLine(TOO_MANY));
const TOO_MANY_RESP = new TextEncoder().encode(`-${redisErrorText(TOO_MANY)}\r\n`);

/**
 * The answer to a client turned away for too many connections, in the
 * protocol its first byte says it speaks (a Redis client cannot read the
 * line protocol's error, nor a line client RESP); `undefined`: it sent
 * nothing.
 */
export function tooManyConnections(firstByte: number | undefined): Uint8Array {
  return speaksResp(firstByte) ? TOO_MANY_RESP : TOO_MANY_LINE;
}

/** What a connection's requests run against: the server's side, shared by every connection. */
export interface ServerSide {
  readonly store: Store;
  readonly clock: Clock;
  readonly stats: ServerStats;
  readonly guard: Guard;
  readonly watches: Watches;
  /**
   * Counts up every few milliseconds, but only while the event loop turns:
   * a connection that sees it unchanged over many batches has kept the
   * loop to itself (its reads never had to wait), and lets it turn.
   */
  readonly turns: { count: number };
  /**
   * Lends the buffers of a burst (reads, answers, a request split across
   * reads past 4 KiB), given back once the connection waits for bytes again.
   */
  readonly pool: BufferPool;
  /**
   * What every connection's partial requests hold together, past each
   * one's small buffer (`--max-pending-bytes`): a request that would grow
   * past it is refused (wire/pending_budget.ts).
   */
  readonly pending: PendingBudget;
  /**
   * What every connection's answers hold together past each one's room for
   * any single answer (`--max-answer-bytes`): an answer built whole that
   * would grow past it is not made (wire/answer_buffer.ts).
   */
  readonly answers: PendingBudget;
  /**
   * Told of a failed TLS handshake (without --verbose, which logs them all):
   * logs what a client's user must fix, a few lines a minute (server/tls.ts).
   */
  readonly handshakeFailed?: (id: number, peer: string, failed: string) => void;
}

/** One connection's protocol and the state its requests run with. */
export interface Wire {
  readonly framer: Framer;
  readonly request: Request;
  readonly out: AnswerBuffer;
  readonly reply: Reply;
  readonly context: Context;
  /** With a durable store (Store.commit): the batch's write answers, held until it commits. */
  readonly writes: WriteAnswers | undefined;
}

/** Sets up the wire of connection `id` on `conn`, whose first byte read is `firstByte`. */
export function openWire(
  firstByte: number,
  conn: Deno.Conn,
  id: number,
  maxLineBytes: number,
  maxOutBytes: number,
  server: ServerSide,
): Wire {
  const resp = speaksResp(firstByte);
  const session = newSession({
    id,
    peer: formatAddr(conn.remoteAddr),
    local: formatAddr(conn.localAddr),
    createdAt: server.clock.now(),
    protocol: resp ? "resp" : "line",
    authenticated: server.guard.password === undefined,
  });
  // Room for the longest single answer (a key and a value as long as a
  // request, LIST's pair) and a pooled buffer of others before it: only
  // answers built whole of many values take from the shared budget.
  const out = new AnswerBuffer(maxOutBytes, server.pool, {
    budget: server.answers,
    freeBytes: 2 * maxLineBytes + POOLED_BYTES,
  });
  const reply = resp ? new RespReply(out, session) : new LineReply(out);
  return {
    framer: resp
      ? new RespFramer(maxLineBytes, session, server.pool, server.pending)
      : new LineFramer(maxLineBytes, session, server.pool, server.pending),
    request: new Request(),
    out,
    reply,
    context: {
      store: server.store,
      clock: server.clock,
      session,
      stats: server.stats,
      guard: server.guard,
      watches: server.watches,
    },
    writes: server.store.commit !== undefined
      ? new WriteAnswers(server.store, out, reply)
      : undefined,
  };
}

/**
 * The connection has run every request and waits for bytes: the answer
 * buffer and the framer give back what they borrowed from the pool, and
 * the request lets go of the bytes it was read from (a read buffer that may
 * go back to the pool too), unless a partial request is held.
 */
export function releaseWire(wire: Wire): void {
  wire.out.release();
  if (wire.framer.pendingBytes === 0) {
    wire.framer.release();
    wire.request.release();
  }
}

/**
 * Runs the wire's request (`executeAtOneTime()`). An answer that could not
 * be made, past what answers may hold together (`--max-answer-bytes`), is
 * taken back and the error is the answer: the command ran.
 */
export function runRequest(wire: Wire): Continuation | undefined {
  const { request, context, reply, out } = wire;
  const mark = out.length;
  try {
    return executeAtOneTime(request, context, reply);
  } catch (error) {
    if (!(error instanceof AnswerTooLargeError)) throw error;
    out.truncate(mark);
    reply.error({ kind: "answerTooLarge", limitBytes: error.limitBytes });
    return undefined;
  }
}
