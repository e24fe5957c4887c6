/**
 * Commands without a server, and stores for tests: {@linkcode testContext},
 * what a command handler gets; {@linkcode RespHarness} (and
 * {@linkcode respAt}, one on a manual clock), Redis's protocol run
 * in-process; {@linkcode textStore}, a memory store to fill through strings;
 * {@linkcode ObservedStore}, a store a test watches and acts inside of; and
 * {@linkcode EndlessWalk}, a store whose LIST walk never ends by itself, for
 * shutdown tests. Re-exported by `testing/mod.ts`.
 *
 * @module
 */

import { type Context, newSession } from "../command/command.ts";
import { Request } from "../command/request.ts";
import { executeAtOneTime } from "../command/execute.ts";
import { Watches } from "../command/watch.ts";
import { AnswerBuffer } from "../wire/answer_buffer.ts";
import { RespFramer } from "../wire/resp/framer.ts";
import { RespReply } from "../wire/resp/reply.ts";
import { assertEquals } from "@std/assert";
import { type Clock, ManualClock, SYSTEM_CLOCK } from "../store/clock.ts";
import { MemoryStore, type MemoryStoreOptions } from "../store/memory.ts";
import type { PairVisitor, Store, StoreInfo, ValueSink, WriteOptions } from "../store/store.ts";
import { TextStore } from "../store/text.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** A new memory store seen through strings (to fill before a test), with the store itself beside it. */
export function textStore(options?: MemoryStoreOptions): TextStore & { memory: MemoryStore } {
  const memory = new MemoryStore(options);
  return Object.assign(new TextStore(memory), { memory });
}

/** Requests `GET, key` `count` times in one write, as a pipelining client would. */
export function gets(key: string, count: number): Uint8Array {
  return new TextEncoder().encode(`GET, ${key}\n`.repeat(count));
}

/** What a command handler gets, outside a server: for running commands in pure tests. */
export function testContext(store: Store, clock: Clock = SYSTEM_CLOCK): Context {
  return {
    store,
    clock,
    session: newSession({
      id: 1,
      peer: "127.0.0.1:1",
      local: "127.0.0.1:12000",
      createdAt: clock.now(),
      protocol: "resp",
      authenticated: true,
    }),
    guard: { password: undefined, failed: () => {} },
    watches: new Watches(store),
    stats: {
      startedAt: clock.now(),
      port: 12000,
      connectionsReceived: 1,
      connectionsRejected: 0,
      authFailures: 0,
      commandsProcessed: 0,
      keyspaceHits: 0,
      keyspaceMisses: 0,
      queuedBytes: 0,
      connectedClients: () => 1,
      maxClients: 10_000,
      maxRequestBytes: 1024 * 1024,
      persistent: false,
    },
  };
}

/**
 * Runs requests given as text through Redis's protocol, in-process: RESP
 * framer, command table, RESP reply, on `store` at `clock`'s time. Each call
 * returns the reply bytes as text (one character per byte), so a test can
 * compare them with what Redis sends, byte for byte.
 */
export class RespHarness {
  readonly context: Context;
  readonly #framer: RespFramer;
  readonly #request = new Request();
  readonly #out = new AnswerBuffer();
  readonly #reply: RespReply;

  /** Speaks to `store`, with expiry by `clock`. */
  constructor(store: Store, clock: Clock = SYSTEM_CLOCK) {
    this.context = testContext(store, clock);
    this.#framer = new RespFramer(1024 * 1024, this.context.session);
    this.#reply = new RespReply(this.#out, this.context.session);
  }

  /** Sends raw bytes (text as Latin-1, one byte per character) and returns every reply. */
  send(raw: string): string {
    this.#framer.feed(Uint8Array.from(raw, (char) => char.charCodeAt(0)));
    while (this.#framer.next(this.#request)) {
      const more = executeAtOneTime(this.#request, this.context, this.#reply);
      // A continuation (none in RESP today) is stepped to its end.
      while (more !== undefined && !more.step(this.#reply));
    }
    const text = chars(this.#out.bytes());
    this.#out.clear();
    return text;
  }

  /** Runs `[words, expected reply]` cases in order, each a step of `t`. */
  async conversation(t: Deno.TestContext, cases: [string[], string][]): Promise<void> {
    for (const [words, expected] of cases) {
      await t.step(words.join(" "), () => assertEquals(this.command(...words), expected));
    }
  }

  /** Sends one command, its words as a RESP array of bulk strings, and returns the reply. */
  command(...words: (string | Uint8Array)[]): string {
    let raw = `*${words.length}\r\n`;
    for (const word of words) {
      const bytes = typeof word === "string" ? encoder.encode(word) : word;
      raw += `$${bytes.length}\r\n${chars(bytes)}\r\n`;
    }
    return this.send(raw);
  }
}

/** A {@linkcode RespHarness} on a new {@linkcode MemoryStore} whose clock starts at `nowMs` and moves when the test says. */
export function respAt(nowMs: number): { kv: RespHarness; clock: ManualClock } {
  const clock = new ManualClock(nowMs);
  return { kv: new RespHarness(new MemoryStore({ clock }), clock), clock };
}

/** One character per byte; in slices, since a spread of a megabyte overflows the stack. */
function chars(bytes: Uint8Array): string {
  let text = "";
  for (let at = 0; at < bytes.length; at += 8192) {
    text += String.fromCharCode(...bytes.subarray(at, at + 8192));
  }
  return text;
}

/**
 * A store a test watches through the {@linkcode Store} interface: it counts
 * GETs and lets the test act inside a GET or a write, then hands each call
 * to the store it wraps.
 */
export class ObservedStore implements Store {
  /** GETs seen so far. */
  gets = 0;
  /** Pairs visited by scans so far (LIST streams through scan). */
  pairsScanned = 0;
  /** Called with each GET's key, before it runs. */
  onGet: (key: string) => void = () => {};
  /** Called at each step of a scan (a LIST walks the store in steps), before it runs. */
  onScan: () => void = () => {};
  /** Called with each set's key, before it runs. */
  onSet: (key: string) => void = () => {};
  /** Called after each sweep of the active expiry cycle, with how many keys it removed and the time it was given. */
  onSweep: (removed: number, budgetMs: number) => void = () => {};
  readonly #inner: Store;

  /** Watches `inner`. */
  constructor(inner: Store) {
    this.#inner = inner;
  }

  get size(): number {
    return this.#inner.size;
  }

  get clock(): Clock | undefined {
    return this.#inner.clock;
  }

  get(key: Uint8Array, start: number, end: number, out: ValueSink): boolean {
    this.gets++;
    this.onGet(decoder.decode(key.subarray(start, end)));
    return this.#inner.get(key, start, end, out);
  }

  set(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    options?: WriteOptions,
  ): void {
    this.onSet(decoder.decode(key.subarray(keyStart, keyEnd)));
    this.#inner.set(key, keyStart, keyEnd, value, valueStart, valueEnd, options);
  }

  delete(key: Uint8Array, start: number, end: number): boolean {
    return this.#inner.delete(key, start, end);
  }

  expiry(key: Uint8Array, start: number, end: number): number {
    return this.#inner.expiry(key, start, end);
  }

  expire(key: Uint8Array, start: number, end: number, expireAtMs: number): boolean {
    return this.#inner.expire(key, start, end, expireAtMs);
  }

  clear(): void {
    this.#inner.clear();
  }

  scan(cursor: number, count: number, visit: PairVisitor): number {
    this.onScan();
    return this.#inner.scan(
      cursor,
      count,
      (bytes, keyStart, keyEnd, valueStart, valueEnd, flags) => {
        this.pairsScanned++;
        visit(bytes, keyStart, keyEnd, valueStart, valueEnd, flags);
      },
    );
  }

  sweep(budgetMs: number): number {
    const removed = this.#inner.sweep?.(budgetMs) ?? 0;
    this.onSweep(removed, budgetMs);
    return removed;
  }

  info(): StoreInfo {
    return this.#inner.info?.() ?? { expiringKeys: 0, expiredKeys: 0, datasetBytes: 0 };
  }

  commit(): Promise<boolean> | undefined {
    return this.#inner.commit?.();
  }

  together(change: () => void): void {
    if (this.#inner.together !== undefined) this.#inner.together(change);
    else change();
  }
}

/**
 * A store whose walk (LIST's scan) never ends by itself, as a LIST over
 * millions of pairs the line protocol cannot show seems to: `walking`
 * settles at its first step; `end()` lets it finish, so a test that found
 * the walk not stopped still ends.
 */
export class EndlessWalk extends MemoryStore {
  readonly #walking = Promise.withResolvers<void>();
  #endless = true;

  /** Settles once the walk has begun. */
  get walking(): Promise<void> {
    return this.#walking.promise;
  }

  /** The next step is the walk's last. */
  end(): void {
    this.#endless = false;
  }

  override scan(): number {
    this.#walking.resolve();
    return this.#endless ? 1 : 0;
  }
}
