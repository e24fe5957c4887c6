/**
 * {@linkcode newGuard}: a server's password and what it does with a wrong
 * one: count it (INFO's `acl_access_denied_auth`) and log it, with the
 * client's address and never the password tried, at most
 * {@linkcode AUTH_LOG_LIMIT} lines a minute.
 *
 * @module
 */

import { MAX_AUTH_FAILURES } from "../command/auth.ts";
import type { Guard, ServerStats } from "../command/command.ts";
import type { Clock } from "../store/clock.ts";
import { LogBudget, type Logger } from "../net/log.ts";

/** The most failed AUTHs logged in a minute; the rest are counted. */
export const AUTH_LOG_LIMIT = 20;
const AUTH_LOG_WINDOW_MS = 60_000;

/** The guard of a server whose password is `password` (none: `undefined`). */
export function newGuard(
  password: string | Uint8Array | undefined,
  stats: ServerStats,
  clock: Clock,
  log: Logger,
): Guard {
  const budget = new LogBudget(AUTH_LOG_LIMIT, AUTH_LOG_WINDOW_MS);
  return {
    password: typeof password === "string" ? new TextEncoder().encode(password) : password,
    failed(session) {
      stats.authFailures++;
      const logged = budget.take(clock.now());
      if (logged === undefined) return;
      const closing = session.authFailures >= MAX_AUTH_FAILURES ? ": closing the connection" : "";
      let line = `#${session.id} AUTH failed from ${session.peer} ` +
        `(${session.authFailures} of ${MAX_AUTH_FAILURES}${closing})`;
      if (logged.skipped > 0) line += `; ${logged.skipped} more failed before it, not logged`;
      if (logged.last) {
        line += `; that is ${AUTH_LOG_LIMIT} this minute: the rest of this minute's are counted ` +
          "(INFO acl_access_denied_auth), not logged";
      }
      log("info", line);
    },
  };
}
