/**
 * Redis's AUTH, as Redis 7 answers it for its one user, `default`: with a
 * password (PROTOCOL.md, Authentication), and without one, when the default
 * user takes any password.
 *
 * @module
 */

import { AUTH_FAILURES, authenticate, failAuth } from "../auth.ts";
import type { RedisCommand } from "../command.ts";
import { argEquals, ERR } from "./args.ts";

/** `AUTH [username] password`. */
export const AUTH: RedisCommand = {
  name: "AUTH",
  arity: -2,
  flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
  keys: [0, 0, 0],
  noAuth: true,
  secret: true,
  writes: false,
  summary: "Authenticate to the server",
  run(request, context, reply) {
    if (request.count > 2) return reply.error(ERR.syntax);
    const withUser = request.count === 2;
    if (context.guard.password === undefined) {
      // The default user takes any password then; there is no other user.
      if (!withUser) return reply.error(AUTH_FAILURES.none);
      return argEquals(request, 0, "default") ? reply.ok() : reply.error(AUTH_FAILURES.wrong);
    }
    if (withUser && !argEquals(request, 0, "default")) {
      failAuth(context);
      return reply.error(AUTH_FAILURES.wrong);
    }
    const result = authenticate(context, request, withUser ? 1 : 0);
    if (result === "ok") reply.ok();
    else reply.error(AUTH_FAILURES.wrong);
  },
};
