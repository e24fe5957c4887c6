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
