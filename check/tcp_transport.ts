/**
 * {@linkcode TCP}: the checker's {@linkcode Transport} over TCP (with TLS
 * and a password when the run has them): a rule's exchanges are
 * connections (`probe.ts`), a stream of bytes each, that the server can
 * close and a client can hold open.
 *
 * @module
 */

import { describeConnectError } from "../client/errors.ts";
import { formatAddr } from "../net/addr.ts";
import type { PlayConfig } from "./context.ts";
import { REASON } from "./messages.ts";
import { AuthRefusedError, Probe } from "./probe.ts";
import { type AnswerSource, CheckUnreachableError, type Transport } from "./transport.ts";

/** Over TCP connections. */
export const TCP: Transport = {
  name: "tcp",
  connections: true,

  /** Connects once and closes, sending nothing (with a password, once AUTH is answered). */
  async reach(config: PlayConfig): Promise<void> {
    const address = formatAddr({ hostname: config.hostname, port: config.port });
    try {
      await (await Probe.open(config.hostname, config.port, config)).close();
    } catch (error) {
      if (error instanceof AuthRefusedError) {
        const { en, ko } = error.text;
        const text = error.endless
          ? {
            en: `cannot connect to ${address}: ${en}`,
            ko: `서버(${address})에 연결할 수 없습니다: ${ko}`,
          }
          : {
            en: `cannot connect to ${address}: ${en} (is --password-file the server's password?)`,
            ko:
              `서버(${address})에 연결할 수 없습니다: ${ko}(--password-file의 비밀번호가 서버의 ` +
              "것과 같나요?)",
          };
        throw new CheckUnreachableError(text.en, { cause: error, text });
      }
      const why = error instanceof Deno.errors.ConnectionRefused
        ? "connection refused (is the server running, on that port?)"
        : describeConnectError(error);
      throw new CheckUnreachableError(`cannot connect to ${address}: ${why}`, { cause: error });
    }
  },

  open(config: PlayConfig): Promise<AnswerSource> {
    return Probe.open(config.hostname, config.port, config);
  },

  headerNote: () => undefined,
  cannotPlay: () => undefined,
  noAnswer: (config) => REASON.timeout(config.timeoutMs),
  nothing: () => REASON.closedSilently(),
  ended: () => REASON.closed(),
  splitAnswer: () => Promise.resolve(undefined),
  sendFailed: (_source, result, timeoutMs) =>
    result === "timeout" ? REASON.writeTimeout(timeoutMs) : REASON.writeClosed(),
  mostTries: () => 1,
};
