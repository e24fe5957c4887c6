/**
 * The logs this process has open: {@linkcode openLog} of a file whose lock a
 * `LogStore` of this same process holds (a test that opened it and has not
 * closed it yet, say) says so, instead of blaming another kv server.
 *
 * @module
 */

import type { LogStore } from "../log.ts";
import type { LogFs } from "./file.ts";

// Weak: a store let go of without close() is not kept alive for this.
const opened = new Set<{ store: WeakRef<LogStore>; fs: LogFs }>();

/** `store`, just opened on `fs`, holds its file's lock until it is closed. */
export function rememberOpened(store: LogStore, fs: LogFs): void {
  heldHere("", fs); // Forgets those closed since.
  opened.add({ store: new WeakRef(store), fs });
}

/** Whether a `LogStore` of this process, not yet closed, has the log at `path` (on `fs`) open. */
export function heldHere(path: string, fs: LogFs): boolean {
  let held = false;
  for (const entry of opened) {
    const store = entry.store.deref();
    if (store === undefined || store.closed) opened.delete(entry);
    else if (entry.fs === fs && store.path === path) held = true;
  }
  return held;
}
