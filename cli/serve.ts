/**
 * `kv serve`: starts a server with the options given, prints the listening
 * line, and turns shutdown signals into a graceful stop and an exit status.
 *
 * @module
 */

import { formatAddr } from "../net/addr.ts";
import type { Logger } from "../server/log.ts";
import { serve, SERVE_DEFAULTS } from "../server/serve.ts";
import { EXIT } from "./exit.ts";
import { type MainIo, traceTo } from "./io.ts";
import {
  command,
  decimal,
  flag,
  helpText,
  integer,
  parseOptions,
  text,
  UsageError,
} from "./options.ts";

/** `kv serve`'s options, declared once: help, parsing and checks. */
export const SERVE_SPEC = command({
  name: "serve",
  summary: "keep key-value pairs in memory and answer requests over TCP (and UDP with --udp)",
  usage: ["[OPTIONS]"],
  options: {
    host: text({
      value: "HOST",
      help: "address to listen on (0.0.0.0 exposes the server to the network)",
      fallback: SERVE_DEFAULTS.hostname,
    }),
    port: integer({
      short: "p",
      value: "PORT",
      help: "port to listen on; 0 picks a free one",
      fallback: SERVE_DEFAULTS.port,
      min: 0,
      max: 65_535,
    }),
    maxConnections: integer({
      value: "N",
      help: "clients served at once",
      fallback: SERVE_DEFAULTS.maxConnections,
      min: 1,
    }),
    maxLineBytes: integer({
      value: "N",
      help: "longest request line, in bytes",
      fallback: SERVE_DEFAULTS.maxLineBytes,
      min: 1,
    }),
    idleTimeout: decimal({
      value: "SECONDS",
      help: "close a client silent this long; 0 = never",
      fallback: 0,
      min: 0,
      example: "seconds, like 30 or 0.5",
    }),
    unframedPauseMs: integer({
      value: "MS",
      help: "take a line with no \\n after this pause, until the client first sends \\n; 0 = never",
      fallback: SERVE_DEFAULTS.unframedPauseMs,
      min: 0,
    }),
    shutdownGraceMs: integer({
      value: "MS",
      help: "on SIGINT/SIGTERM/SIGHUP, wait this long for clients",
      fallback: SERVE_DEFAULTS.shutdownGraceMs,
      min: 0,
    }),
    udp: flag("also answer requests in UDP datagrams, on the same port"),
    trace: flag("print every socket event to stderr: accept, recv, send, close, ..."),
    verbose: flag("log every connection and request to stderr", "v"),
    quiet: flag("log only errors", "q"),
  },
  footer: `Prints "listening on HOST:PORT" on stdout once bound; logs go to stderr, each
line stamped with the UTC time in ISO 8601; --trace's lines go there too.
Exit status: 0 after a clean shutdown, 1 if it could not listen or had to cut
connections, 2 for a usage error.`,
});

// Signals closer together than this count as one (see onSignal below).
const REPEAT_SIGNAL_MS = 250;

/** Runs `kv serve` with `args`; returns the exit status. */
export async function runServe(args: string[], io: MainIo): Promise<number> {
  const { values: options, help } = parseOptions(SERVE_SPEC, args);
  if (help) {
    await io.stdout(helpText(SERVE_SPEC));
    return EXIT.ok;
  }
  if (options.verbose && options.quiet) throw new UsageError("cannot use --verbose with --quiet");
  // TODO(#12): when --password-file and --tls-cert exist, refuse them with
  // --udp here, as a UsageError (exit 2, one line; PROTOCOL.md, Datagrams):
  // "cannot use --udp with --password-file: datagrams have no connection to
  // authenticate". serve() should throw a RangeError for the same pair.
  const log: Logger = (level, message) => {
    if (level === "debug" && !options.verbose) return;
    if (level === "info" && options.quiet) return;
    io.stderr(`${new Date().toISOString()} ${message}\n`);
  };
  const stop = new AbortController();
  let server;
  try {
    server = serve({
      hostname: options.host,
      port: options.port,
      maxConnections: options.maxConnections,
      maxLineBytes: options.maxLineBytes,
      idleTimeoutMs: Math.round(options.idleTimeout * 1000),
      unframedPauseMs: options.unframedPauseMs,
      shutdownGraceMs: options.shutdownGraceMs,
      signal: io.signal ?? stop.signal,
      log,
      verbose: options.verbose,
      trace: options.trace ? traceTo(io) : undefined,
      udp: options.udp,
    });
  } catch (error) {
    const address = formatAddr({ hostname: options.host, port: options.port });
    await io.stderr(
      `kv: cannot listen on ${address}: ${describeListenError(error, options.port)}\n`,
    );
    return EXIT.failed;
  }
  await io.stdout(`listening on ${formatAddr(server.addr)}\n`);
  if (server.udpAddr !== undefined) {
    log("info", `answering UDP datagrams on ${formatAddr(server.udpAddr)} too`);
  }

  // First signal: shut down gracefully. A second: leave now, like redis's
  // "You insist... exiting now".
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  let firstSignalAt = 0;
  const onSignal = () => {
    if (stop.signal.aborted) {
      // Ctrl-C under `deno task` arrives twice at once: from the terminal to
      // the process group, and forwarded by the task runner. Only a signal
      // sent later is the user insisting.
      if (Date.now() - firstSignalAt < REPEAT_SIGNAL_MS) return;
      io.stderr("second signal: exiting now\n");
      Deno.exit(EXIT.failed);
    }
    firstSignalAt = Date.now();
    log(
      "info",
      `shutting down: finishing answers (up to ${options.shutdownGraceMs} ms; signal again to exit now)`,
    );
    stop.abort();
  };
  if (io.signal === undefined) {
    for (const name of signals) Deno.addSignalListener(name, onSignal);
  }
  try {
    const { connectionsCut } = await server.finished;
    if (connectionsCut > 0) {
      log("error", `shutdown grace ran out: cut ${connectionsCut} connection(s)`);
      return EXIT.failed;
    }
    log("info", "stopped");
    return EXIT.ok;
  } finally {
    if (io.signal === undefined) {
      for (const name of signals) Deno.removeSignalListener(name, onSignal);
    }
  }
}

function describeListenError(error: unknown, port: number): string {
  if (error instanceof Deno.errors.AddrInUse) {
    return "address already in use (is another server running? try --port 0)";
  }
  if (error instanceof Deno.errors.NotCapable) return "permission denied (run with --allow-net)";
  if (error instanceof Deno.errors.PermissionDenied) {
    return port > 0 && port < 1024
      ? "permission denied (ports below 1024 need privileges)"
      : "permission denied";
  }
  if (error instanceof Deno.errors.AddrNotAvailable) return "address not available on this machine";
  return error instanceof Error ? error.message : String(error);
}
