/**
 * Checking a password (PROTOCOL.md, Authentication): in constant time, with
 * every failure counted and logged up to a budget (the peer's address,
 * never the password tried: server/guard.ts) and
 * the connection closed after 10 wrong tries. AUTH in both protocols and
 * Redis's HELLO ... AUTH use it.
 *
 * @module
 */

import type { Context } from "./command.ts";
import type { Failure } from "./reply.ts";
import type { Request } from "./request.ts";

/** Wrong passwords a connection may send before it is closed. */
export const MAX_AUTH_FAILURES = 10;

/** What an AUTH comes to. */
export type AuthResult = "ok" | "wrong" | "no password";

/**
 * Whether `attempt` is the password, comparing every byte whatever the
 * answer, in a time that depends on the attempt's length only.
 */
export function samePassword(attempt: Uint8Array, password: Uint8Array): boolean {
  let difference = attempt.length ^ password.length;
  for (let i = 0; i < attempt.length; i++) {
    difference |= attempt[i]! ^ password[i % password.length]!;
  }
  return difference === 0;
}

/** Checks argument `i` of `request` as the password, and settles the session. */
export function authenticate(context: Context, request: Request, i: number): AuthResult {
  const { guard, session } = context;
  if (guard.password === undefined) return "no password";
  const attempt = request.bytes.subarray(request.starts[i], request.ends[i]);
  if (samePassword(attempt, guard.password)) {
    session.authenticated = true;
    session.authFailures = 0;
    return "ok";
  }
  return failAuth(context);
}

/** Counts a wrong try (a wrong password or user), logs it, and closes the connection after the last one. */
export function failAuth({ guard, session }: Context): "wrong" {
  session.authFailures++;
  guard.failed(session);
  if (session.authFailures >= MAX_AUTH_FAILURES) session.closing = "error";
  return "wrong";
}

/** The failures authentication gives. */
export const AUTH_FAILURES = {
  required: { kind: "authRequired" },
  wrong: { kind: "wrongPassword" },
  none: { kind: "noPassword" },
} as const satisfies Record<string, Failure>;
