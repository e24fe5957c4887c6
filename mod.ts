/**
 * kv as a library: start a server in your own program or test
 * ({@linkcode serve}), move its time in a test ({@linkcode ManualClock}),
 * keep its data in a file as `kv serve --data` does ({@linkcode openLog}),
 * talk to one ({@linkcode KvClient}, or {@linkcode udpRequest} over UDP),
 * watch its sockets ({@linkcode Tracer}), or bring your own store
 * ({@linkcode Store}). It needs `--allow-net` only (and, for
 * {@linkcode openLog}, read and write on the log's folder).
 *
 * ```ts
 * import { KvClient, serve } from "kv";
 *
 * await using server = serve({ port: 0 }); // a free port on 127.0.0.1
 * await using client = await KvClient.connect({ port: server.addr.port });
 * await client.put("name", "yyjun");
 * console.log(await client.get("name")); // "yyjun"
 * ```
 *
 * @module
 */

export {
  type KvServer,
  MAX_LINE_BYTES_LIMIT,
  serve,
  SERVE_DEFAULTS,
  serveListener,
  type ServeOptions,
  type ServeResult,
} from "./server/serve.ts";
export type { Logger, LogLevel } from "./net/log.ts";
export { ExposureError, isLoopback, type TlsOptions } from "./server/listen.ts";
export type { Acceptor } from "./server/tls.ts";
export type { ClientTls } from "./net/connect.ts";
export {
  type AnswerEnd,
  CLIENT_DEFAULTS,
  type ClientOptions,
  type IrregularAnswer,
  isErrorAnswer,
  KvClient,
} from "./client/client.ts";
export {
  KvAnswerError,
  KvConnectionError,
  KvNoAnswerError,
  KvServerError,
  KvTimeoutError,
  type ServerClose,
} from "./client/errors.ts";
export {
  UDP_CLIENT_DEFAULTS,
  type UdpAnswer,
  udpRequest,
  type UdpRequestOptions,
} from "./client/udp.ts";
export {
  formatTrace,
  type TraceEvent,
  type Tracer,
  type TraceStyle,
  traceStyle,
} from "./net/trace.ts";
export {
  type ChangeListener,
  LINE_TEXT,
  NO_EXPIRY,
  NO_KEY,
  type PairVisitor,
  type Store,
  StoreFullError,
  type StoreInfo,
  type ValueSink,
  type WriteOptions,
} from "./store/store.ts";
export { type Clock, ManualClock, SYSTEM_CLOCK } from "./store/clock.ts";
export { MemoryStore, type MemoryStoreOptions } from "./store/memory.ts";
export { TextStore } from "./store/text.ts";
export { type FsyncMode, LogStore } from "./store/log.ts";
export {
  LogCorruptError,
  LogOpenError,
  LogPermissionError,
  openLog,
  type OpenLogOptions,
} from "./store/log/open.ts";
