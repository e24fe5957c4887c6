/**
 * The commands on keys and values: PUT, GET, DELETE and LIST.
 *
 * @module
 */

import type { WriteOptions } from "../store/store.ts";
import { type Continuation, countLookup, KEY, type LineCommand, VALUE } from "./command.ts";
import { refuseWhenFull, type Reply } from "./reply.ts";
import type { Store } from "../store/store.ts";

// How many home slots of the table one LIST step covers: a bounded piece.
const LIST_STEP_SLOTS = 64;

// A PUT's value is a line's text: the line protocol may always show it back.
const LINE_WRITE: WriteOptions = { lineText: true };

/** `PUT, key, value`: stores the value, replacing any other. */
export const PUT: LineCommand = {
  name: "PUT",
  fields: [KEY, VALUE],
  writes: true,
  answer: "line",
  summary: "store a value (it may hold commas)",
  run(request, { store }, reply) {
    const { bytes, starts, ends } = request;
    try {
      store.set(bytes, starts[0]!, ends[0]!, bytes, starts[1]!, ends[1]!, LINE_WRITE);
    } catch (error) {
      return refuseWhenFull(reply, error);
    }
    reply.ok();
  },
};

/** `GET, key`: the value, or not found. */
export const GET: LineCommand = {
  name: "GET",
  fields: [KEY],
  writes: false,
  answer: "line",
  summary: "read a value",
  run(request, { store, stats }, reply) {
    // The reply takes the value straight from the store's bytes.
    if (
      !countLookup(stats, store.get(request.bytes, request.starts[0]!, request.ends[0]!, reply))
    ) {
      reply.notFound();
    }
  },
};

/** `DELETE, key`: removes the key, or says it was not there. */
export const DELETE: LineCommand = {
  name: "DELETE",
  fields: [KEY],
  writes: true,
  answer: "line",
  summary: "remove a key",
  run(request, { store }, reply) {
    if (store.delete(request.bytes, request.starts[0]!, request.ends[0]!)) reply.ok();
    else reply.notFound();
  },
};

/** `LIST`: every pair, streamed in bounded steps (see {@linkcode Continuation}). */
export const LIST: LineCommand = {
  name: "LIST",
  fields: [],
  writes: false,
  answer: "list",
  summary: "every key and value",
  run: (_request, { store }) => new Listing(store),
};

/**
 * A LIST in progress: a scan cursor over the store. Each step visits a few
 * table slots; a pair present for the whole LIST is listed exactly once,
 * and one changed meanwhile with its old or new value, or not at all
 * (the store's scan promise).
 */
class Listing implements Continuation {
  readonly #store: Store;
  #cursor = 0;
  #shown = 0;
  #reply: Reply | undefined;
  readonly #visit = (
    bytes: Uint8Array,
    keyStart: number,
    keyEnd: number,
    valueStart: number,
    valueEnd: number,
    flags: number,
  ) => {
    if (this.#reply!.pair(bytes, keyStart, keyEnd, valueStart, valueEnd, flags)) this.#shown++;
  };

  constructor(store: Store) {
    this.#store = store;
  }

  step(reply: Reply): boolean {
    this.#reply = reply;
    this.#cursor = this.#store.scan(this.#cursor, LIST_STEP_SLOTS, this.#visit);
    if (this.#cursor !== 0) return false;
    reply.endList(this.#shown);
    return true;
  }
}
