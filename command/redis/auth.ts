/**
 * Redis's AUTH, as Redis 7 answers it for its one user, `default`.
 *
 * @module
 */

import type { RedisCommand } from "../command.ts";
import { argIs } from "./args.ts";

/** `AUTH [username] password`. */
export const AUTH: RedisCommand = {
  name: "AUTH",
  arity: -2,
  flags: ["noscript", "loading", "stale", "fast", "no-auth"],
  keys: [0, 0, 0],
  writes: false,
  summary: "Authenticate to the server",
  run(request, _context, reply) {
    if (request.count > 2) return reply.error({ kind: "redis", text: "ERR syntax error" });
    if (request.count === 1) {
      return reply.error({
        kind: "redis",
        text: "ERR AUTH <password> called without any password configured for the default user. " +
          "Are you sure your configuration is correct?",
      });
    }
    // Without a password, the default user takes any password; there is no other user.
    if (argIs(request, 0, "default")) return reply.ok();
    reply.error({
      kind: "redis",
      text: "WRONGPASS invalid username-password pair or user is disabled.",
    });
  },
};
