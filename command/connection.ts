/**
 * The commands about the connection itself: PING, QUIT and AUTH (whose
 * password check is auth.ts's, shared with Redis's protocol).
 *
 * @module
 */

import { AUTH_FAILURES, authenticate } from "./auth.ts";
import type { LineCommand } from "./command.ts";

/** `PING`: checks that the server answers. */
export const PING: LineCommand = {
  name: "PING",
  fields: [],
  writes: false,
  answer: "line",
  summary: "check the server answers",
  run: (_request, _context, reply) => reply.pong(),
};

/** `QUIT`: says goodbye; the server then closes the connection. */
export const QUIT: LineCommand = {
  name: "QUIT",
  noAuth: true,
  fields: [],
  writes: false,
  answer: "line",
  summary: "say goodbye and leave",
  run(_request, { session }, reply) {
    reply.bye();
    session.closing = "quit";
  },
};

/** `AUTH, password`: proves the client may use a server started with a password. */
export const AUTH: LineCommand = {
  name: "AUTH",
  fields: [{ name: "password", nonEmpty: true, rest: true }],
  noAuth: true,
  secret: true,
  writes: false,
  answer: "line",
  summary: "give the password (a server with --password-file)",
  run(request, context, reply) {
    const result = authenticate(context, request, 0);
    if (result === "ok") reply.ok();
    else reply.error(result === "wrong" ? AUTH_FAILURES.wrong : AUTH_FAILURES.none);
  },
};
