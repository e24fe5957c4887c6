/**
 * A {@linkcode LineSplitter} fed bytes split every way, for lines.ts's
 * tests: what it hands out recorded as events (a decoded line, or a
 * problem), chunks fed as a connection feeds them (its read buffer
 * scribbled over after each), and every way to cut an input into two and
 * into three chunks, each of which must give the same events.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { type LineKind, LineSplitter } from "../wire/line/lines.ts";

/** What the splitter found: a decoded line, or a problem. */
export type Event = { line: string } | { bad: Exclude<LineKind, "line"> };

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Records what {@linkcode LineSplitter.next} hands out. */
export class Recorder {
  readonly events: Event[] = [];

  take(splitter: LineSplitter, kind: LineKind): void {
    if (kind !== "line") {
      this.events.push({ bad: kind });
      return;
    }
    const { bytes, start, end } = splitter;
    assert(0 <= start && start <= end && end <= bytes.length, `bad bounds ${start}..${end}`);
    // The splitter promises valid UTF-8: a strict decode must not throw.
    this.events.push({ line: strict.decode(bytes.subarray(start, end)) });
  }
}

/** Pulls every line the splitter has, into `sink`. */
export function drain(splitter: LineSplitter, sink: Recorder): void {
  for (let kind = splitter.next(); kind !== null; kind = splitter.next()) sink.take(splitter, kind);
}

/**
 * Feeds a copy of `chunk` and pulls every line out; then scribbles over the
 * copy, as a connection reuses its read buffer, to prove the splitter kept
 * what it still needs.
 */
export function pushAll(splitter: LineSplitter, chunk: Uint8Array, sink: Recorder): void {
  const copy = chunk.slice();
  splitter.feed(copy);
  drain(splitter, sink);
  copy.fill(0x0a);
}

/** Ends the partial line (end of stream or the unframed pause) and pulls it. */
export function flush(splitter: LineSplitter, sink: Recorder): true {
  splitter.endLine();
  drain(splitter, sink);
  return true;
}

/**
 * Feeds `chunks` in order and returns the events. Checks after every chunk
 * that the splitter holds no more than its limit (PROTOCOL.md: "holding no
 * more than the limit in memory").
 */
export function feed(maxLineBytes: number, chunks: Uint8Array[]): Event[] {
  const splitter = new LineSplitter(maxLineBytes);
  const sink = new Recorder();
  for (const chunk of chunks) {
    pushAll(splitter, chunk, sink);
    assert(
      splitter.pendingBytes <= maxLineBytes,
      `holding ${splitter.pendingBytes} bytes, over the limit ${maxLineBytes}`,
    );
  }
  return sink.events;
}

/** The event of a line `text`. */
export const line = (text: string): Event => ({ line: text });
/** The event of a line that is not UTF-8. */
export const INVALID: Event = { bad: "invalid-utf8" };
/** The event of a line past the limit. */
export const TOO_LONG: Event = { bad: "too-long" };

/** Every way to cut `input` into two chunks, and into three. */
export function* splits(input: Uint8Array): Generator<[string, Uint8Array[]]> {
  for (let i = 0; i <= input.length; i++) {
    yield [`at ${i}`, [input.subarray(0, i), input.subarray(i)]];
  }
  for (let i = 1; i < input.length; i++) {
    for (let j = i; j < input.length; j++) {
      yield [`at ${i} and ${j}`, [input.subarray(0, i), input.subarray(i, j), input.subarray(j)]];
    }
  }
}

/** Feeds `input` whole, byte by byte and split every way; each must give `expected`. */
export function assertEverySplit(maxLineBytes: number, input: Uint8Array, expected: Event[]): void {
  assertEquals(feed(maxLineBytes, [input]), expected, "whole");
  const single = [...input].map((byte) => Uint8Array.of(byte));
  assertEquals(feed(maxLineBytes, single), expected, "byte by byte");
  for (const [name, chunks] of splits(input)) {
    assertEquals(feed(maxLineBytes, chunks), expected, `split ${name}`);
  }
}
