/**
 * A {@linkcode LogStore} on a {@linkcode FakeFs}, for the log store's tests
 * (store/log_test.ts, log_failure_test.ts, log_compaction_test.ts): opening
 * one at {@linkcode LOG_PATH}, reading back the pairs a fresh open of the
 * file system loads (after a kill -9 or a power cut), and waiting for a
 * commit or for the event loop's turn that writes.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { LogStore } from "../store/log.ts";
import type { CompactionHook } from "../store/log/compact.ts";
import { type OpenLogOptions, openLogWith } from "../store/log/open.ts";
import { LINE_TEXT } from "../store/store.ts";
import type { FakeFs } from "./fake_fs.ts";

/** Where the tests' log lives on its {@linkcode FakeFs}. */
export const LOG_PATH = "/data/kv.log";

/** Opens the log at {@linkcode LOG_PATH} on `fs`, calling `compactionHook` at each compaction step. */
export function openTestLog(
  fs: FakeFs,
  options: OpenLogOptions = {},
  compactionHook?: CompactionHook,
): Promise<LogStore> {
  return openLogWith(LOG_PATH, options, { fs, compactionHook });
}

/**
 * Every pair a fresh open of `fs` loads, as sorted `key=value` strings (`*`
 * marks line text); `options` for the open (a store with a cap, say).
 */
export async function logContents(fs: FakeFs, options?: OpenLogOptions): Promise<string[]> {
  const store = await openTestLog(fs, options);
  const pairs: string[] = [];
  const decoder = new TextDecoder();
  let cursor = 0;
  do {
    cursor = store.scan(cursor, 1024, (bytes, ks, ke, vs, ve, flags) => {
      const mark = flags & LINE_TEXT ? "*" : "";
      pairs.push(
        `${decoder.decode(bytes.subarray(ks, ke))}=${
          decoder.decode(bytes.subarray(vs, ve))
        }${mark}`,
      );
    });
  } while (cursor !== 0);
  await store.close();
  return pairs.sort();
}

/** Whether the changes so far are durable: `commit()`'s answer, `undefined` meaning nothing to wait for. */
export async function committed(store: LogStore): Promise<boolean> {
  return (await store.commit()) ?? true;
}

/** `commit()`'s promise, which must be there: `what` is still being made durable. */
export function mustWait(commit: Promise<boolean> | undefined, what: string): Promise<boolean> {
  if (commit === undefined) throw new Error(`commit() found nothing to wait for, but ${what}`);
  return commit;
}

/** Lets the event loop finish its turn: the log writes what was appended in it. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
