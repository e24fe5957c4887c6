/**
 * The loads of the `full` level (`check/rules/full.ts` says which and how
 * big): many clients at once, a line past the limit, a client that does
 * not read, many abrupt disconnects. Each plays over raw TCP (never over
 * UDP: its rules are `over: "tcp"`), and fails with what it sent, expected
 * and got.
 *
 * @module
 */

import { EXPECTED, REASON } from "./messages.ts";
import { openProbe, type PlayConfig, StepFailure } from "./context.ts";
import { ERROR_LINE_BYTES, LINE_SLACK_BYTES, type LineRead, MAX_ANSWER_BYTES } from "./probe.ts";
import type { AnswerSource } from "./transport.ts";
import type { Load, Text } from "./rule.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// Connections are opened this many at a time, so that a burst does not
// overflow the server's accept backlog.
const BATCH = 20;

/** Runs one load; throws {@linkcode StepFailure} if the server fails it. */
export async function runLoad(load: Load, config: PlayConfig): Promise<void> {
  switch (load.load) {
    case "clients":
      return await manyClients(config, load.clients, load.keysEach);
    case "longLine":
      return await longLine(config);
    case "slowReader":
      return await slowReader(config, load.gets, load.valueBytes);
    case "disconnects":
      return await disconnects(config, load.connections);
  }
}

/**
 * Reads one line whose right answer has at most `longest` bytes (its `\n`
 * included): a little past that with no `\n`, the read stops, as the
 * rules' reads do (a server that floods bytes without end is not read to
 * 64 MiB). `tooLong` says why, for a read that stopped so.
 */
async function readAnswer(
  probe: AnswerSource,
  config: PlayConfig,
  longest: number,
): Promise<{ read: LineRead; tooLong: Text }> {
  const limit = Math.min(MAX_ANSWER_BYTES, longest + LINE_SLACK_BYTES);
  const read = await probe.readLine(config.timeoutMs, config.pauseMs, limit);
  const tooLong = limit === MAX_ANSWER_BYTES
    ? REASON.tooMuch(MAX_ANSWER_BYTES)
    : REASON.lineTooLong(limit, longest);
  return { read, tooLong };
}

/** The longest line `text` can come as: its UTF-8 bytes, and `\r\n`. */
function lineBytes(text: string): number {
  return encoder.encode(text).length + 2;
}

/** Sends `request` and fails unless the next line is `answer` (`Error: ` for any error). */
async function ask(
  probe: AnswerSource,
  config: PlayConfig,
  request: string,
  answer: string,
  label: (reason: Text) => Text = (reason) => reason,
): Promise<void> {
  const sent = encoder.encode(request);
  const expected = answer === "Error: " ? EXPECTED.error() : EXPECTED.literal(`${answer}\n`);
  const fail = (got: Uint8Array | undefined, reason: Text): never => {
    throw new StepFailure({ sent, expected, got, reason: label(reason) });
  };
  const written = await probe.write(sent, config.timeoutMs);
  if (written !== "ok") {
    fail(
      undefined,
      written === "timeout" ? REASON.writeTimeout(config.timeoutMs) : REASON.writeClosed(),
    );
  }
  // An error may quote the request (as the rules allow it).
  const longest = answer === "Error: " ? sent.length + ERROR_LINE_BYTES : lineBytes(answer);
  const { read, tooLong } = await readAnswer(probe, config, longest);
  if (read.kind !== "line") {
    fail(
      read.got,
      read.kind === "quiet"
        ? REASON.quiet(config.pauseMs)
        : read.kind === "flowing"
        ? REASON.neverEnds(MAX_ANSWER_BYTES, config.timeoutMs)
        : read.kind === "eof"
        ? REASON.closed()
        : read.kind === "too-much"
        ? tooLong
        : REASON.timeout(config.timeoutMs),
    );
    return;
  }
  const text = decoder.decode(read.raw).replace(/\r?\n$/, "");
  const right = answer === "Error: " ? text.startsWith(answer) : text === answer;
  if (!right) fail(read.raw, answer === "Error: " ? REASON.notError() : REASON.differs());
}

/** `clients` connections at once, each writing, reading and deleting keys of its own. */
async function manyClients(config: PlayConfig, clients: number, keysEach: number): Promise<void> {
  const { prefix } = config;
  const probes: AnswerSource[] = [];
  try {
    for (let i = 0; i < clients; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, clients - i) }, () => openProbe(config));
      const opened = await Promise.allSettled(batch);
      // Those that did open are closed with the rest, even if one did not.
      for (const result of opened) if (result.status === "fulfilled") probes.push(result.value);
      const failed = opened.find((result): result is PromiseRejectedResult =>
        result.status === "rejected"
      );
      if (failed !== undefined) throw failed.reason;
    }
    const failures = await Promise.allSettled(probes.map(async (probe, c) => {
      const label = (reason: Text) => REASON.client(c + 1, clients, reason);
      const key = (k: number) => `${prefix}client${c}.${k}`;
      for (let k = 0; k < keysEach; k++) {
        config.written.add(key(k));
        await ask(probe, config, `PUT, ${key(k)}, value ${c}.${k}\n`, "Success!", label);
      }
      for (let k = 0; k < keysEach; k++) {
        await ask(probe, config, `GET, ${key(k)}\n`, `value ${c}.${k}`, label);
      }
      for (let k = 0; k < keysEach; k++) {
        await ask(probe, config, `DELETE, ${key(k)}\n`, "Success!", label);
        config.written.delete(key(k));
      }
    }));
    const failed = failures.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  } finally {
    await Promise.all(probes.map((probe) => probe.close()));
  }
}

/** One line of `maxLineBytes + 1` bytes: an error before its end, then the server goes on. */
async function longLine(config: PlayConfig): Promise<void> {
  const probe = await openProbe(config);
  try {
    await ask(probe, config, "PING\n", "PONG");
    const head = encoder.encode(`PUT, ${config.prefix}long, `);
    // A server without the limit stores it: the cleanup deletes it too.
    config.written.add(`${config.prefix}long`);
    const line = new Uint8Array(Math.max(config.maxLineBytes + 1, head.length + 1)).fill(0x78);
    line.set(head);
    // No \n yet: the protocol sends the error as soon as the limit is passed.
    const written = await probe.write(line, config.timeoutMs);
    // The error may quote the line (as the rules allow an error to quote its request).
    const answered = written === "ok"
      ? await readAnswer(probe, config, line.length + ERROR_LINE_BYTES)
      : undefined;
    const read = answered?.read;
    const text = read?.kind === "line" ? decoder.decode(read.raw) : "";
    if (!text.startsWith("Error: ")) {
      throw new StepFailure({
        sent: line,
        expected: EXPECTED.error(),
        got: read === undefined ? undefined : read.kind === "line" ? read.raw : read.got,
        reason: longLineReason(config, written, read?.kind, answered?.tooLong),
      });
    }
    await ask(probe, config, "xxxx\nPING\n", "PONG");
    await ask(probe, config, `GET, ${config.prefix}long\n`, "Not exist!");
  } finally {
    await probe.close();
  }
}

function longLineReason(
  config: PlayConfig,
  written: string,
  kind: string | undefined,
  tooLong: Text | undefined,
): Text {
  if (written === "timeout") return REASON.writeTimeout(config.timeoutMs);
  if (written === "closed") return REASON.writeClosed();
  if (kind === "eof") return REASON.closed();
  if (kind === "too-much" && tooLong !== undefined) return tooLong;
  if (kind !== "timeout") return REASON.notError();
  const bytes = config.maxLineBytes;
  return {
    en: `no answer within ${config.timeoutMs / 1000} s to a line of ${bytes + 1} bytes ` +
      `(is the server's limit larger? give it with --assume-max-line-bytes)`,
    ko: `${bytes + 1}바이트 줄에 ${config.timeoutMs / 1000}초 안에 답이 없음 ` +
      `(서버의 한도가 더 큰가요? --assume-max-line-bytes로 알려 주세요)`,
  };
}

/**
 * A client pipelines `gets` GETs of a big value and does not read; another
 * client must still be answered at once, and the first then gets every
 * answer, right and in order.
 */
async function slowReader(config: PlayConfig, gets: number, valueBytes: number): Promise<void> {
  const key = `${config.prefix}big`;
  const value = "0123456789abcdef".repeat(Math.ceil(valueBytes / 16)).slice(0, valueBytes);
  const slow = await openProbe(config);
  let other: AnswerSource | undefined;
  try {
    config.written.add(key);
    await ask(slow, config, `PUT, ${key}, ${value}\n`, "Success!");
    const requests = encoder.encode(`GET, ${key}\n`.repeat(gets));
    const written = await slow.write(requests, config.timeoutMs);
    if (written !== "ok") {
      throw new StepFailure({
        sent: requests,
        expected: EXPECTED.any(),
        reason: written === "timeout"
          ? REASON.writeTimeout(config.timeoutMs)
          : REASON.writeClosed(),
      });
    }
    other = await openProbe(config);
    const waiting = (reason: Text): Text => ({
      en: `while another client had ${gets} answers unread: ${reason.en}`,
      ko: `다른 클라이언트가 답 ${gets}개를 읽지 않은 동안: ${reason.ko}`,
    });
    await ask(other, config, "PING\n", "PONG", waiting);
    for (let i = 0; i < gets; i++) {
      const { read, tooLong } = await readAnswer(slow, config, lineBytes(value));
      const got = read.kind === "line" ? read.raw : read.got;
      if (read.kind === "line" && decoder.decode(got).replace(/\r?\n$/, "") === value) continue;
      const why = read.kind === "line"
        ? REASON.differs()
        : read.kind === "too-much"
        ? tooLong
        : REASON.timeout(config.timeoutMs);
      throw new StepFailure({
        sent: encoder.encode(`GET, ${key}\n`),
        expected: EXPECTED.literal(`${value}\n`),
        got,
        reason: {
          en: `answer ${i + 1} of ${gets}: ${why.en}`,
          ko: `답 ${i + 1}/${gets}: ${why.ko}`,
        },
      });
    }
  } finally {
    await slow.close();
    await other?.close();
  }
}

/** `connections` clients that leave abruptly, in four ways; a steady client must not notice. */
async function disconnects(config: PlayConfig, connections: number): Promise<void> {
  const key = `${config.prefix}steady`;
  const steady = await openProbe(config);
  try {
    config.written.add(key);
    await ask(steady, config, `PUT, ${key}, 1\n`, "Success!");
    const ways = [
      "",
      `GET, ${key}`,
      `GET, ${key}\n`.repeat(50),
      `LIST\nLIST\nGET, ${key}\nPI`,
    ].map((text) => encoder.encode(text));
    for (let i = 0; i < connections; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, connections - i) }, async (_, j) => {
        const probe = await openProbe(config);
        await probe.write(ways[(i + j) % ways.length]!, config.timeoutMs);
        await probe.close();
      });
      await Promise.all(batch);
    }
    await ask(steady, config, `GET, ${key}\n`, "1");
    const fresh = await openProbe(config);
    try {
      await ask(fresh, config, "PING\n", "PONG");
    } finally {
      await fresh.close();
    }
  } finally {
    await steady.close();
  }
}
