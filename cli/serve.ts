/**
 * `kv serve`: starts a server with the options given, prints the listening
 * line, and turns shutdown signals into a graceful stop and an exit status.
 *
 * @module
 */

import { formatAddr } from "../net/addr.ts";
import type { Logger } from "../net/log.ts";
import { ExposureError, isLoopback } from "../server/listen.ts";
import { MAX_LINE_BYTES_LIMIT, passwordTooLong } from "../server/options.ts";
import { serve, SERVE_DEFAULTS } from "../server/serve.ts";
import { DatagramBindError } from "../server/listen.ts";
import { permissionDenied } from "../net/permission.ts";
import { readPassword, readTlsFiles } from "./secrets.ts";
import type { LogStore } from "../store/log.ts";
import { COMPACT_MIN_BYTES } from "../store/log/open.ts";
import { FSYNC_MODES } from "../store/log/options.ts";
import { openDataFile } from "./data.ts";
import { EXIT } from "./exit.ts";
import { type MainIo, REPEAT_SIGNAL_MS, traceTo } from "./io.ts";
import {
  choice,
  command,
  decimal,
  FileAccessError,
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
      help: "longest request line, in bytes (at most 1 GiB)",
      fallback: SERVE_DEFAULTS.maxLineBytes,
      min: 1,
      max: MAX_LINE_BYTES_LIMIT,
    }),
    maxPendingBytes: integer({
      value: "N",
      help: "most bytes all clients' unfinished requests may hold together",
      fallback: SERVE_DEFAULTS.maxPendingBytes,
      min: 1,
    }),
    maxAnswerBytes: integer({
      value: "N",
      help: "most bytes answers built whole (MGET, EXEC, KEYS) may hold together",
      fallback: SERVE_DEFAULTS.maxAnswerBytes,
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
    passwordFile: text({
      value: "FILE",
      help: "require AUTH with the password in FILE's first line (needs --allow-read=FILE)",
      fallback: undefined,
    }),
    noAuth: flag("listen beyond loopback with no password, on purpose"),
    tlsCert: text({
      value: "FILE",
      help: "speak TLS only, with this certificate (PEM; needs --allow-read=FILE)",
      fallback: undefined,
    }),
    tlsKey: text({
      value: "FILE",
      help: "the certificate's private key (PEM)",
      fallback: undefined,
    }),
    udp: flag("also answer requests in UDP datagrams, on the same port"),
    trace: flag("print every socket event to stderr: accept, recv, send, close, ..."),
    data: text({
      value: "FILE",
      help:
        "keep the data in this append-only log, loaded at start (needs --allow-read=DIR --allow-write=DIR)",
      fallback: undefined,
    }),
    fsync: choice({
      value: "MODE",
      help:
        "with --data: sync the log before each answer (always), once a second, or when the OS likes (no)",
      choices: FSYNC_MODES,
      fallback: "everysec",
    }),
    compactMinBytes: integer({
      value: "N",
      help: "with --data: compact the log once it is this large and twice its live data",
      fallback: COMPACT_MIN_BYTES,
      min: 0,
    }),
    verbose: flag("log every connection and request to stderr", "v"),
    quiet: flag("log only errors", "q"),
  },
  footer: `Prints "listening on HOST:PORT" on stdout once bound (with --data, once the
log is loaded); logs go to stderr, each line stamped with the UTC time in ISO 8601;
--trace's lines go there too.
Exit status: 0 after a clean shutdown, 1 if it could not listen or load its
data file or had to cut connections, 2 for a usage error or a file it lacks
the permission for.`,
});

/** Runs `kv serve` with `args`; returns the exit status. */
export async function runServe(args: string[], io: MainIo): Promise<number> {
  const parsed = parseOptions(SERVE_SPEC, args);
  const { values: options, help } = parsed;
  if (help) {
    await io.stdout(helpText(SERVE_SPEC));
    return EXIT.ok;
  }
  if (options.verbose && options.quiet) throw new UsageError("cannot use --verbose with --quiet");
  const { given } = parsed;
  if (options.data === undefined && (given.has("fsync") || given.has("compactMinBytes"))) {
    throw new UsageError(
      `--${given.has("fsync") ? "fsync" : "compact-min-bytes"} needs --data FILE`,
    );
  }
  const log: Logger = (level, message) => {
    if (level === "debug" && !options.verbose) return;
    if (level === "info" && options.quiet) return;
    io.stderr(`${new Date().toISOString()} ${message}\n`);
  };
  // PROTOCOL.md, Datagrams: a datagram has no connection to authenticate or encrypt.
  if (options.udp && options.passwordFile !== undefined) {
    throw new UsageError(
      "cannot use --udp with --password-file: datagrams have no connection to authenticate",
    );
  }
  if (options.udp && options.tlsCert !== undefined) {
    throw new UsageError(
      "cannot use --udp with --tls-cert: datagrams have no connection to encrypt",
    );
  }
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together: give both");
  }
  const password = options.passwordFile === undefined
    ? undefined
    : readPassword(options.passwordFile, (line) => log("error", line));
  const tooLong = password === undefined
    ? undefined
    : passwordTooLong(password, options.maxLineBytes);
  if (tooLong !== undefined) {
    throw new FileAccessError(
      `cannot use --password-file ${
        JSON.stringify(options.passwordFile)
      }: its password is ${tooLong}`,
    );
  }
  const tls = options.tlsCert === undefined
    ? undefined
    : readTlsFiles(options.tlsCert, options.tlsKey!, (line) => log("error", line));
  // Loaded before listening (PROTOCOL.md, Durability): no client sees a
  // store that is still filling up.
  let store: LogStore | undefined;
  if (options.data !== undefined) {
    store = await openDataFile(options.data, {
      fsync: options.fsync,
      compactMinBytes: options.compactMinBytes,
      log,
      io,
    });
    if (store === undefined) return EXIT.failed;
  }
  const stop = new AbortController();
  let server;
  try {
    server = serve({
      hostname: options.host,
      port: options.port,
      maxConnections: options.maxConnections,
      maxLineBytes: options.maxLineBytes,
      maxPendingBytes: options.maxPendingBytes,
      maxAnswerBytes: options.maxAnswerBytes,
      idleTimeoutMs: Math.round(options.idleTimeout * 1000),
      unframedPauseMs: options.unframedPauseMs,
      shutdownGraceMs: options.shutdownGraceMs,
      signal: io.signal ?? stop.signal,
      log,
      verbose: options.verbose,
      password,
      noAuth: options.noAuth,
      tls,
      trace: options.trace ? traceTo(io) : undefined,
      udp: options.udp,
      store,
    });
  } catch (error) {
    await store?.close();
    if (error instanceof ExposureError) {
      const how = "set one with --password-file FILE, or pass --no-auth if the exposure is meant";
      throw new UsageError(new ExposureError(error.hostname, how).message);
    }
    const address = formatAddr({ hostname: options.host, port: options.port });
    // The TCP port was free and the UDP one was not: say which.
    const udp = error instanceof DatagramBindError;
    const why = describeListenError(udp ? error.cause : error, options.port);
    await io.stderr(
      udp
        ? `kv: cannot listen for UDP datagrams on ${address}: ${why}\n`
        : `kv: cannot listen on ${address}: ${why}\n`,
    );
    return EXIT.failed;
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
    // Only now: a supervisor may signal as soon as it reads this line.
    await io.stdout(`listening on ${formatAddr(server.addr)}\n`);
    if (server.udpAddr !== undefined) {
      log("info", `answering UDP datagrams on ${formatAddr(server.udpAddr)} too`);
      if (!isLoopback(server.udpAddr.hostname)) {
        log(
          "info",
          "warning: UDP beyond loopback: anyone who can reach the port can read and change every key, " +
            "and a forged sender address turns a few bytes of LIST into up to 64 KiB sent to someone else",
        );
      }
    }
    const { connectionsCut } = await server.finished;
    if (store !== undefined) {
      // Every answer is out: write and sync what is left, then let go of the lock.
      await store.close();
      log("info", `data file ${store.path} synced and closed`);
    }
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
  if (error instanceof Deno.errors.NotCapable) {
    return permissionDenied(["--allow-net"], Deno.build.standalone);
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return port > 0 && port < 1024
      ? "permission denied (ports below 1024 need privileges)"
      : "permission denied";
  }
  if (error instanceof Deno.errors.AddrNotAvailable) return "address not available on this machine";
  if (
    error instanceof Deno.errors.InvalidData || /certificate|private key|pem/i.test(String(error))
  ) {
    return `the TLS certificate or key cannot be used (${
      error instanceof Error ? error.message : error
    })`;
  }
  return error instanceof Error ? error.message : String(error);
}
