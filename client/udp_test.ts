/**
 * Tests of udpRequest() over real UDP sockets on port 0: against kv's own
 * server, against a stand-in that drops datagrams (a retry), and against
 * one that never answers (giving up).
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  closedPort,
  emulateWindowsIcmp,
  scriptedUdpServer,
  stallUntil,
  startTestServer,
  TraceCollector,
} from "../testing/mod.ts";
import { KvNoAnswerError } from "./errors.ts";
import { udpRequest } from "./udp.ts";

const decoder = new TextDecoder();

Deno.test("udpRequest() sends one datagram and returns the answer datagram", async () => {
  await using server = startTestServer({ udp: true });
  const port = server.port;
  const put = await udpRequest("PUT, a, 1\nGET, a\n", { port });
  assertEquals({ text: decoder.decode(put.bytes), tries: put.tries }, {
    text: "Success!\n1\n",
    tries: 1,
  });
  const list = await udpRequest(new TextEncoder().encode("LIST"), { port });
  assertEquals(decoder.decode(list.bytes), "a, 1\n\n");
});

Deno.test("udpRequest() sends again when no answer comes, and says which try was answered", async () => {
  // A lossy network: the first datagram is dropped.
  await using server = scriptedUdpServer((data, n) =>
    n === 1 ? undefined : `${decoder.decode(data) === "PING\n" ? "PONG" : "?"}\n`
  );
  const traced = new TraceCollector();
  const answer = await udpRequest("PING\n", {
    port: server.port,
    timeoutMs: 50,
    trace: traced.trace,
  });
  assertEquals({ text: decoder.decode(answer.bytes), tries: answer.tries }, {
    text: "PONG\n",
    tries: 2,
  });
  assertEquals(server.received(), 2);
  assertEquals(traced.of("client"), [
    ...["bind", "sendto", "timeout", "retry", "sendto", "recvfrom", "close"],
  ]);
  assertEquals(traced.details("client", "retry"), ["try=2/3"]);
  // The course's UDP client closes its socket too: the trace shows it, and
  // that nothing goes out (no FIN: there is no connection to end).
  assertEquals(traced.details("client", "close"), [
    "(nothing is sent: UDP has no connection to end)",
  ]);
});

Deno.test("udpRequest() gives up after its retries when nothing answers", async () => {
  await using silent = scriptedUdpServer(() => undefined);
  const traced = new TraceCollector();
  const error = await assertRejects(
    () =>
      udpRequest("PING\n", { port: silent.port, timeoutMs: 20, retries: 3, trace: traced.trace }),
    KvNoAnswerError,
    `no answer from 127.0.0.1:${silent.port} over UDP after 4 tries of 20 ms each`,
  );
  assertEquals(error.tries, 4);
  assertEquals(silent.received(), 4);
  assertEquals(traced.of("client"), [
    ...["bind", "sendto", "timeout"],
    ...["retry", "sendto", "timeout"],
    ...["retry", "sendto", "timeout"],
    ...["retry", "sendto", "timeout", "give-up", "close"],
  ]);
});

Deno.test("udpRequest() on Windows, to a port nothing listens on, throws KvNoAnswerError with portUnreachable at once", async () => {
  const port = closedPort();
  using _windows = emulateWindowsIcmp(new Set([port]));
  const started = performance.now();
  const error = await assertRejects(
    () => udpRequest("PING\n", { port, timeoutMs: 10_000 }),
    KvNoAnswerError,
    `no UDP server listens on 127.0.0.1:${port}: its host answered "port unreachable"`,
  );
  assertEquals({ tries: error.tries, portUnreachable: error.portUnreachable }, {
    tries: 1,
    portUnreachable: true,
  });
  assert(performance.now() - started < 5_000, "not after the timeout");
});

Deno.test("udpRequest() takes its answer only from the server's port", async () => {
  const server = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const stranger = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const encoder = new TextEncoder();
  const serving = (async () => {
    const [, from] = await server.receive();
    // Another socket writes to the client first: not an answer.
    await stranger.send(encoder.encode("WRONG\n"), from);
    await server.send(encoder.encode("PONG\n"), from);
  })();
  try {
    const traced = new TraceCollector();
    const port = (server.addr as Deno.NetAddr).port;
    const answer = await udpRequest("PING\n", { port, trace: traced.trace });
    assertEquals({ text: decoder.decode(answer.bytes), tries: answer.tries }, {
      text: "PONG\n",
      tries: 1,
    });
    assertEquals(traced.details("client", "recvfrom"), [
      `bytes=6 peer=127.0.0.1:${(stranger.addr as Deno.NetAddr).port} (not the server: ignored)`,
      `bytes=5 peer=127.0.0.1:${port} "PONG\\n"`,
    ]);
  } finally {
    await serving;
    server.close();
    stranger.close();
  }
});

Deno.test("udpRequest() refuses a timeoutMs or retries that is no whole number, naming it, before sending", async () => {
  // retries -1 sent nothing and said "after 0 tries"; timeoutMs -1 waited 1 ms per try.
  await using server = startTestServer({ udp: true });
  for (
    const [name, value] of [["timeoutMs", -1], ["timeoutMs", 0], ["retries", -1], [
      "retries",
      1.5,
    ]] as const
  ) {
    await assertRejects(
      () => udpRequest("PING\n", { port: server.port, [name]: value }),
      RangeError,
      `Cannot use ${name} ${value}: expected an integer from`,
    );
  }
  const answer = await udpRequest("PING\n", { port: server.port, retries: 0 });
  assertEquals(new TextDecoder().decode(answer.bytes), "PONG\n");
});

Deno.test("udpRequest() to localhost sends to 127.0.0.1 and traces that address", async () => {
  await using server = startTestServer({ udp: true });
  const traced = new TraceCollector();
  const answer = await udpRequest("PING\n", {
    hostname: "LocalHost",
    port: server.port,
    trace: traced.trace,
  });
  assertEquals(decoder.decode(answer.bytes), "PONG\n");
  const sendto = traced.events.find((event) => event.event === "sendto");
  assert(sendto?.detail.includes(`peer=127.0.0.1:${server.port}`), JSON.stringify(sendto));
});

Deno.test("udpRequest() does not take a stall of its own process for a lost answer", async () => {
  // The wait's timer fires late, before the answer that came meanwhile is
  // read: it starts over from the resume (its 100 ms given again), and the
  // answer, 10 ms after the resume, is taken, not given up on.
  const server = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (server.addr as Deno.NetAddr).port;
  try {
    const answer = udpRequest("PING\n", { port, timeoutMs: 100, retries: 0 });
    answer.catch(() => {}); // Awaited below; it may fail during the stall.
    const [, from] = await server.receive();
    // A turn: the client waits for the answer.
    await new Promise((resolve) => setTimeout(resolve, 0));
    stallUntil(Date.now() + 400);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await server.send(new TextEncoder().encode("PONG\n"), from);
    const got = await answer;
    assertEquals({ text: decoder.decode(got.bytes), tries: got.tries }, {
      text: "PONG\n",
      tries: 1,
    });
  } finally {
    server.close();
  }
});
