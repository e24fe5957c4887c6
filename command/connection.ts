/**
 * The commands about the connection itself: PING and QUIT.
 *
 * @module
 */

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
  fields: [],
  writes: false,
  answer: "line",
  summary: "say goodbye and leave",
  run(_request, { session }, reply) {
    reply.bye();
    session.closing = true;
  },
};
