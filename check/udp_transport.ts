/**
 * {@linkcode UdpTransport}: the checker's {@linkcode Transport} over UDP
 * (`kv check --udp`): each request is a datagram of its own and its answer
 * the datagram that comes back (`datagram_probe.ts`), sent again after each
 * timeout, as `kv client --udp` does. With no connections, the rules about
 * them are left out (`over: "tcp"`), and a missing, cut or scattered answer
 * is said in datagrams' words (`udp_messages.ts`).
 *
 * @module
 */

import { formatAddr } from "../net/addr.ts";
import { errorMessage } from "../net/conn.ts";
import type { PlayConfig } from "./context.ts";
import { DatagramProbe } from "./datagram_probe.ts";
import { encodeData } from "./play.ts";
import type { Level, Step, Text } from "./rule.ts";
import { playsOver, rulesOf } from "./rules.ts";
import { CheckUnreachableError, type Transport } from "./transport.ts";
import { leftOutLine, UDP_REASON } from "./udp_messages.ts";

/** Over UDP datagrams, each request sent again up to `retries` times when no answer comes in time. */
export class UdpTransport implements Transport {
  readonly name = "udp";
  readonly connections = false;
  readonly #retries: number;

  constructor(retries: number) {
    this.#retries = retries;
  }

  /**
   * The run's first request (read-only, in one datagram, sent again as the
   * tries allow): no answer at all throws {@linkcode CheckUnreachableError}
   * in `kv client --udp`'s words, as a refused connection does over TCP.
   */
  async reach(config: PlayConfig): Promise<void> {
    const probe = this.#open(config);
    try {
      const sent = await probe.write(encodeData("GET, {k}nobody", config.prefix));
      if (sent === "ok" && await probe.readEnd(config.timeoutMs) !== "timeout") return;
    } finally {
      await probe.close();
    }
    const text = this.noAnswer(config, probe);
    throw new CheckUnreachableError(text.en, { cause: probe.sendError, text });
  }

  /** A UDP client of the server: each of its writes is an exchange of its own. */
  open(config: PlayConfig): Promise<DatagramProbe> {
    return Promise.resolve(this.#open(config));
  }

  /** How requests go, and the rules of the level left out (none when `only` names them). */
  headerNote(level: Level, only: readonly string[]): Text | undefined {
    if (only.length > 0) return undefined;
    const ids = rulesOf(level).filter((rule) => !playsOver(rule, "udp")).map((rule) => rule.id);
    return ids.length === 0
      ? undefined
      : { en: leftOutLine("en", ids), ko: leftOutLine("ko", ids) };
  }

  /** A step about connections (a rule left out over UDP, `rules.ts`, so never played here). */
  cannotPlay(step: Step): Text | undefined {
    return "send" in step || "expect" in step ? undefined : UDP_REASON.noConnection();
  }

  /**
   * No answer after every try, in `kv client --udp`'s words; or, where the
   * host said so (Windows), that nothing listens on the port (any more).
   */
  noAnswer(config: PlayConfig, source?: DatagramProbe): Text {
    const address = formatAddr({ hostname: config.hostname, port: config.port });
    return source?.unreachable
      ? UDP_REASON.unreachable(address)
      : UDP_REASON.noAnswer(address, 1 + this.#retries, config.timeoutMs);
  }

  /** The answer was a datagram of 0 bytes. */
  nothing(): Text {
    return UDP_REASON.empty();
  }

  /** The datagram ended with a line that has no `\n`, or before a line that was due. */
  ended(got: Uint8Array): Text {
    return got.length > 0 ? UDP_REASON.noNewline() : UDP_REASON.ended();
  }

  /** Another datagram after the answer: the answer came in pieces. */
  async splitAnswer(source: DatagramProbe, pauseMs: number): Promise<Text | undefined> {
    return await source.another(pauseMs) > 0 ? UDP_REASON.split() : undefined;
  }

  /** The send itself failed (too long for a datagram, say), in the OS's words. */
  sendFailed(source: DatagramProbe): Text {
    return UDP_REASON.sendFailed(errorMessage(source.sendError));
  }

  mostTries(source: DatagramProbe): number {
    return source.mostTries;
  }

  #open(config: PlayConfig): DatagramProbe {
    return new DatagramProbe({
      hostname: config.hostname,
      port: config.port,
      timeoutMs: config.timeoutMs,
      retries: this.#retries,
    });
  }
}
