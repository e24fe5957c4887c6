/**
 * What playing a rule shares with the loads and the runner: the run's
 * settings ({@linkcode PlayConfig}), how a rule ends ({@linkcode Outcome}),
 * and the failure a step throws.
 *
 * @module
 */

import type { ClientTls } from "../net/connect.ts";
import { isOutOfDescriptors } from "../net/conn.ts";
import { describeConnectError } from "../client/errors.ts";
import { EXPECTED, REASON } from "./messages.ts";
import type { AnswerSource, Transport } from "./transport.ts";
import { keepEnds, SHOWN_END_BYTES } from "../net/show.ts";
import type { Text } from "./rule.ts";

/** How a rule ended. */
export type Status = "pass" | "fail" | "skip";

/** What went wrong in a rule: the step, what was sent, expected and got, and why. */
export interface Failure {
  /** The step that failed, counted from 1. */
  readonly step: number;
  /** The bytes sent on that connection since its last answer; of a long request only its ends. */
  readonly sent?: Uint8Array;
  /** How many bytes were sent, when `sent` keeps only their ends. */
  readonly sentBytes?: number;
  /** What the step expected. */
  readonly expected: Text;
  /** What came back (nothing if nothing did); of a long answer only its ends ({@linkcode keepEnds}). */
  readonly got?: Uint8Array;
  /** How many bytes came back, when `got` keeps only their ends. */
  readonly gotBytes?: number;
  /** Why it failed. */
  readonly reason: Text;
}

/** How a rule went. */
export interface Outcome {
  readonly status: Status;
  readonly failure?: Failure;
  /** Why it was skipped. */
  readonly skipped?: Text;
  /**
   * Of a failed rule: whether anything came back on its own connections,
   * at any step (the step that failed may have got nothing after answers).
   */
  readonly heard?: boolean;
  /** Over UDP: the most sends an answer of the rule took, when above 1 (a datagram lost or late). */
  readonly retried?: number;
}

/** What playing a rule needs to know about the run. */
export interface PlayConfig {
  readonly hostname: string;
  readonly port: number;
  /** How long any wait may take. */
  readonly timeoutMs: number;
  /** The quiet pause that ends a textbook answer, or shows a line will not get its `\n`. */
  readonly pauseMs: number;
  /** The server's line limit, for `load.long-line`. */
  readonly maxLineBytes: number;
  /** Every key written starts with it. */
  readonly prefix: string;
  /** Keys written so far, for the cleanup at the end; rules add to it. */
  readonly written: Set<string>;
  /** Speak TLS to the server. */
  readonly tls?: ClientTls;
  /** Send `AUTH` with it on every connection first. */
  readonly password?: string;
  /** Whether the server has sent the rules' connections anything yet. */
  readonly heard: Heard;
  /** How the server is reached (TCP, or UDP with `kv check --udp`), and what differs with it. */
  readonly transport: Transport;
}

/**
 * Whether the server has sent anything on a later connection (the run's
 * first request's, or a rule's) since the run's first connection, which
 * only connected and closed. A server that refuses connections before it
 * has answered anything may well have died of that first one (a Python
 * server that exits when `recv()` returns `b""`).
 */
export class Heard {
  #quiet: { readonly received: number }[] = []; // Opened while nothing was heard.
  #heard = false;

  /** Notes a connection opened after the first. */
  add(probe: { readonly received: number }): void {
    if (!this.#heard) this.#quiet.push(probe);
  }

  /** Whether any of them has received a byte. */
  get any(): boolean {
    if (!this.#heard && this.#quiet.some((probe) => probe.received > 0)) {
      this.#heard = true;
      this.#quiet = [];
    }
    return this.#heard;
  }
}

/** Thrown by a step that failed. */
export class StepFailure extends Error {
  readonly detail: Omit<Failure, "step">;

  constructor(detail: Omit<Failure, "step">) {
    super(detail.reason.en);
    // A report keeps what it shows of the request and the answer, not a
    // server's 64 MiB (or a 256 MiB line sent) per rule.
    const { got, sent } = detail;
    const long = (bytes: Uint8Array | undefined): bytes is Uint8Array =>
      bytes !== undefined && bytes.length > 2 * SHOWN_END_BYTES;
    this.detail = {
      ...detail,
      ...(long(got) ? { got: keepEnds(got), gotBytes: got.length } : {}),
      ...(long(sent) ? { sent: keepEnds(sent), sentBytes: sent.length } : {}),
    };
  }
}

/**
 * The checker itself ran out of file descriptors (EMFILE, `ulimit -n`): a
 * connection it could not open says nothing of the server, so no rule may
 * fail for it; the run stops (check/runner.ts).
 */
export class CheckerOutOfDescriptors extends Error {
  /** `cause`: the error of the connect. */
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "CheckerOutOfDescriptors";
  }
}

/**
 * The run stopped before its end for a cause on the checker's side (it ran
 * out of file descriptors): no rule is judged by it. `kv check` says it in
 * one line and exits 2.
 */
export class CheckHaltedError extends Error {
  /** The message in both languages. */
  readonly text: Text;

  /** `text`: what stopped the run and what to do, in both languages. */
  constructor(text: Text, options?: ErrorOptions) {
    super(text.en, options);
    this.name = "CheckHaltedError";
    this.text = text;
  }
}

/** What {@linkcode CheckHaltedError} says when the checker ran out of descriptors at `rule`. */
export function outOfDescriptorsText(rule: string, why: string, left: number): Text {
  const leftEn = left > 0 ? `; ${left} of its keys could not be deleted` : "";
  const leftKo = left > 0 ? ` 이번 실행이 쓴 key 중 ${left}개는 지우지 못했습니다.` : "";
  return {
    en: `stopped at ${rule}: this kv check process is out of file descriptors (${why}), which ` +
      `says nothing of the server; raise ulimit -n and run it again${leftEn}`,
    ko: `${rule}에서 멈췄습니다: 이 kv check 프로세스의 파일 디스크립터가 바닥났습니다(${why}). ` +
      `서버와는 상관없는 일이니 ulimit -n을 올리고 다시 실행하세요.${leftKo}`,
  };
}

/**
 * Opens a connection for a rule (over UDP, an exchange: `Transport.open`);
 * a refusal fails the step. Throws {@linkcode CheckerOutOfDescriptors} if
 * this process is out of descriptors. `afterReset`:
 * the rule's last step reset a connection (check/reset.ts), the likeliest
 * cause of a server that stopped.
 */
export async function openProbe(config: PlayConfig, afterReset = false): Promise<AnswerSource> {
  try {
    const probe = await config.transport.open(config);
    config.heard.add(probe);
    return probe;
  } catch (error) {
    if (isOutOfDescriptors(error)) throw new CheckerOutOfDescriptors(error);
    throw new StepFailure({
      expected: EXPECTED.any(),
      // The server took the check's first connection, so a refusal now
      // means it stopped: an earlier step crashed it, or, if it has
      // answered nothing since, maybe that first connection's quiet close.
      reason: !(error instanceof Deno.errors.ConnectionRefused)
        ? REASON.connect(describeConnectError(error))
        : afterReset
        ? REASON.stoppedAfterReset()
        : config.heard.any
        ? REASON.stopped()
        : REASON.stoppedAfterProbe(),
    });
  }
}
