/**
 * The tests' helpers, in one place: a server on a free port, a raw socket
 * that reads lines the way `nc` would (sockets.ts), scripted stand-in
 * servers (scripted_server.ts, udp.ts), small servers as students write them
 * (student_servers.ts), a fake process for the command line (fake_io.ts)
 * and `kv client` and `kv check` run in it (cli.ts), stores that tests can
 * watch or whose walk never ends, and commands run without a server
 * (store_harness.ts), collectors of log lines and trace events
 * (log_collector.ts, trace.ts), UDP peers, a file system for the log
 * (fake_fs.ts), real kv processes (process.ts), RESP requests (resp.ts),
 * and bounds on every wait (wait.ts). Helpers for one suite or a few are
 * imported by path: what every store must do (store_contract.ts), seeded
 * random numbers (random.ts), a log store on a fake disk (log_store.ts), a
 * recording line splitter (line_splitter.ts), line requests
 * (line_requests.ts), what `kv check`'s tests read from a run
 * (check_runs.ts), a server with a thread per client
 * (threaded_textbook.ts), a test certificate (tls.ts), colliding keys
 * (flood.ts), the connection loop over a stand-in socket (stand_in.ts), a
 * model of the string commands for the full-store fuzz (string_model.ts),
 * and INCRBYFLOAT operands near its edges (float_inputs.ts).
 * (`deno test` runs `*_test.ts` files only, so this module is never run as
 * a test itself.)
 *
 * @module
 */

export { BOUND_MS, gate, pollUntil, stallUntil, within } from "./wait.ts";
export {
  ask,
  assertAlive,
  bytes,
  closedPort,
  exchange,
  RawConn,
  readAll,
  readLinesChecked,
  readRawLines,
  send,
  startTestServer,
} from "./sockets.ts";
export { scriptedServer } from "./scripted_server.ts";
export {
  EndlessWalk,
  gets,
  ObservedStore,
  respAt,
  RespHarness,
  testContext,
  textStore,
} from "./store_harness.ts";
export { LogCollector } from "./log_collector.ts";
export { resp, respBytes, talk } from "./resp.ts";
export { FakeIo } from "./fake_io.ts";
export { assertNoStackTrace, runClient, runKvCheck, UNKNOWN_FOO } from "./cli.ts";
export { TraceCollector } from "./trace.ts";
export {
  emulateMacosMaxdgram,
  emulateWindowsIcmp,
  scriptedUdpServer,
  startUdpFlood,
  UdpPeer,
} from "./udp.ts";
export { FakeFs, sampleLog } from "./fake_fs.ts";
export { e2eDir, type KvProcess, runKv, startKv } from "./process.ts";
export { heldServer, type Mistake, studentServer, textbookServer } from "./student_servers.ts";
