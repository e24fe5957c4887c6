/**
 * How long a server waits, once it has said all it will, for a client that
 * may still be sending (PROTOCOL.md, Shutdown): closing a socket with the
 * client's bytes unread makes the kernel reset the connection, and the
 * reset throws away the answers not yet delivered. So the server half-closes
 * and reads on, throwing the bytes away, until the client has been quiet a
 * moment or closes; one that goes on sending is cut past the limits.
 * Shared by a connection's linger (server/connection_state.ts) and the TLS
 * front's connections (server/tls_conn.ts).
 *
 * @module
 */

/** A client that sends nothing this long is done ("about 250 ms"). */
export const LINGER_QUIET_MS = 250;
/** A client still sending after this long is cut all the same (a reset). */
export const LINGER_MAX_MS = 10_000;
/** Or after sending this much. */
export const LINGER_MAX_BYTES = 64 * 1024 * 1024;
