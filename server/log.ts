/**
 * The server's log: a function it calls with a level and a line. `kv serve`
 * passes one that writes to stderr; embedders pass their own.
 *
 * @module
 */

/** How important a log line is. `debug` lines are made only with `verbose`. */
export type LogLevel = "error" | "info" | "debug";

/** Where the server's log lines go (stderr in `kv serve`). */
export type Logger = (level: LogLevel, message: string) => void;

/** The default logger: errors to stderr, nothing else. */
export function logErrors(level: LogLevel, message: string): void {
  // deno-lint-ignore no-console
  if (level === "error") console.error(message);
}

const LOG_SAMPLE_CHARS = 80;

/** `text` quoted for a log line, cut to 80 characters (with its length if it was cut). */
export function logSample(text: string): string {
  const quoted = JSON.stringify(
    text.length > LOG_SAMPLE_CHARS ? text.slice(0, LOG_SAMPLE_CHARS) : text,
  );
  return text.length > LOG_SAMPLE_CHARS ? `${quoted}... (${text.length} chars)` : quoted;
}
