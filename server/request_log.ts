/**
 * {@linkcode requestLogLine}: what `--verbose` logs of each request a
 * connection runs: its line and its answer, each cut to a sample. A
 * request that may hold a password shows only its command's name, and its
 * answer hides an echo of it.
 *
 * @module
 */

import { hideEcho, type Request, secretName } from "../command/request.ts";
import { logSample } from "../net/log.ts";

const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** The log line of `request`, whose answer is `answer`. */
export function requestLogLine(request: Request, answer: Uint8Array): string {
  const secret = secretName(request);
  const raw = secret !== undefined
    ? `${secret} (the rest hidden)`
    : decoder.decode(request.bytes.subarray(request.rawStart, request.rawEnd));
  const text = decoder.decode(answer).trimEnd();
  const shownAnswer = secret === undefined ? text : hideEcho(text);
  // A line past the limit is not kept, and one that is not UTF-8 is not
  // shown: say so rather than show "".
  const kind = request.failure?.kind;
  const shown = raw === "" && kind === "lineTooLong"
    ? "(a line past the limit, not kept)"
    : raw === "" && kind === "pendingFull"
    ? "(a line not kept: no room for all clients' unfinished requests)"
    : raw === "" && kind === "invalidUtf8"
    ? "(a line that is not valid UTF-8)"
    : logSample(raw);
  return `${shown} -> ${logSample(shownAnswer)}`;
}
