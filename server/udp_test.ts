/**
 * Tests of `serve({ udp: true })` (`kv serve --udp`) against PROTOCOL.md's
 * "Datagrams (`--udp`)", over real UDP sockets on port 0: one datagram in,
 * one datagram back, the same store as TCP.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import { MemoryStore } from "../store/memory.ts";
import { TextStore } from "../store/text.ts";
import {
  ask,
  bytes,
  emulateMacosMaxdgram,
  emulateWindowsIcmp,
  EndlessWalk,
  LogCollector,
  ObservedStore,
  RawConn,
  startTestServer,
  startUdpFlood,
  TraceCollector,
  UdpPeer,
  within,
} from "../testing/mod.ts";
import { serve } from "./serve.ts";
import { MAX_DATAGRAM_BYTES, whyNotAnswer } from "./udp.ts";

const UNKNOWN_FOO = 'Error: unknown command "FOO" (expected PUT, GET, DELETE, LIST, PING or QUIT)';

Deno.test("serve() with udp answers each kind of request in a datagram of its own", async (t) => {
  await using server = startTestServer({ udp: true });
  assertEquals(server.udpAddr, { transport: "udp", hostname: "127.0.0.1", port: server.port });
  using peer = new UdpPeer();
  const cases: [string, string][] = [
    ["LIST\n", "Not exist!\n\n"],
    ["PUT, myname, yyjun\n", "Success!\n"],
    ["PUT, greeting, hello, world", "Success!\n"], // The last \n may be left out.
    ["GET, myname\n", "yyjun\n"],
    ["GET, greeting", "hello, world\n"],
    ["GET, nobody\n", "Not exist!\n"],
    ["DELETE, myname\n", "Success!\n"],
    ["DELETE, myname\n", "Not exist!\n"],
    ["LIST\n", "greeting, hello, world\n\n"],
    ["PING\n", "PONG\n"],
    ["QUIT\n", "Bye!\n"],
    ["PING\r\n", "PONG\n"], // Nothing happened after QUIT: no connection to close.
  ];
  for (const [request, answer] of cases) {
    await t.step(JSON.stringify(request), async () => {
      assertEquals(await peer.exchange(server.port, request), answer);
    });
  }
});

Deno.test("serve() with udp answers every request of one datagram in one datagram, in order", async () => {
  await using server = startTestServer({ udp: true });
  using peer = new UdpPeer();
  assertEquals(
    await peer.exchange(server.port, "PUT, a, 1\n\nput , a , 2\nGET, a\nQUIT\nLIST\nGET, a"),
    // The blank line has no answer; QUIT's Bye! ends nothing.
    "Success!\nSuccess!\n2\nBye!\na, 2\n\n2\n",
  );
});

Deno.test("serve() with udp replaces an answer too large for a datagram with one error line", async () => {
  const text = new TextStore(new MemoryStore());
  // 70 pairs of 1,000-byte values: a LIST of 70,000 bytes and more.
  for (let i = 0; i < 70; i++) text.set(`key${i}`, "v".repeat(1000));
  await using server = startTestServer({ udp: true, store: text.store });
  using peer = new UdpPeer();
  const listBytes = 70 * (", ".length + 1000 + 1) + 1 +
    Array.from({ length: 70 }, (_, i) => `key${i}`.length).reduce((a, b) => a + b);
  assert(listBytes > MAX_DATAGRAM_BYTES);
  // Counted up to where it outgrew the datagram: the rest is not walked.
  const [, counted] = (await peer.exchange(server.port, "LIST\n")).match(
    /^Error: answer too large for a datagram \((\d+) bytes; use TCP\)\n$/,
  ) ?? [];
  assert(Number(counted) > MAX_DATAGRAM_BYTES && Number(counted) <= listBytes, counted);
  // Answers that fit alone but not together: the datagram is what is too large.
  text.set("big", "b".repeat(40_000));
  assertEquals(
    await peer.exchange(server.port, "GET, big\nGET, big\n"),
    "Error: answer too large for a datagram (80002 bytes; use TCP)\n",
  );
  // Requests after the answer outgrew the datagram are not run at all.
  assertEquals(
    await peer.exchange(server.port, "GET, big\nGET, big\nPUT, after, 1\n"),
    "Error: answer too large for a datagram (80002 bytes; use TCP)\n",
  );
  assertEquals(text.get("after"), undefined);
  // Exactly the limit still fits.
  text.set("edge", "e".repeat(MAX_DATAGRAM_BYTES - 1));
  assertEquals((await peer.exchange(server.port, "GET, edge\n")).length, MAX_DATAGRAM_BYTES);
  // Over TCP the same LIST is fine.
  assertEquals(await ask(server.port, "GET, key0"), "v".repeat(1000));
});

Deno.test("serve() with udp answers bad input with the contract's error lines", async () => {
  await using server = startTestServer({ udp: true, maxLineBytes: 16 });
  using peer = new UdpPeer();
  assertEquals(await peer.exchange(server.port, "FOO, bar\n"), `${UNKNOWN_FOO}\n`);
  assertEquals(
    await peer.exchange(server.port, bytes("PUT, k, ", [0xff, 0xfe], "\nPING\n")),
    "Error: request is not valid UTF-8\nPONG\n",
  );
  assertEquals(await peer.exchange(server.port, "GET\n"), "Error: usage: GET, key\n");
  assertEquals(await peer.exchange(server.port, "PUT, , x\n"), "Error: key must not be empty\n");
  assertEquals(
    await peer.exchange(server.port, `PUT, k, ${"x".repeat(20)}\nPING`),
    "Error: line too long (limit 16 bytes)\nPONG\n",
  );
});

Deno.test("serve() with udp sends nothing for a datagram of blank lines, and frames each datagram alone", async () => {
  await using server = startTestServer({ udp: true });
  using peer = new UdpPeer();
  await peer.send(server.port, "\n  \n");
  await peer.send(server.port, "");
  // A partial line in one datagram is not joined to the next one.
  await peer.send(server.port, "PUT, a");
  await peer.send(server.port, ", 1\n");
  // The first answer to come back is to the partial line: the blank ones had none.
  assertEquals((await peer.receive()).text, "Error: usage: PUT, key, value\n");
  assertEquals(
    (await peer.receive()).text,
    `Error: unknown command "" (expected PUT, GET, DELETE, LIST, PING or QUIT)\n`,
  );
});

Deno.test("serve() with udp serves the same store as TCP", async () => {
  await using server = startTestServer({ udp: true });
  using peer = new UdpPeer();
  assertEquals(await peer.exchange(server.port, "PUT, fruit, 사과\n"), "Success!\n");
  assertEquals(await ask(server.port, "GET, fruit"), "사과");
  assertEquals(await ask(server.port, "PUT, fruit, 배"), "Success!");
  assertEquals(await peer.exchange(server.port, "GET, fruit\n"), "배\n");
});

Deno.test("serve() with udp: the connection limit, idle timeout and unframed pause do not apply to datagrams", async () => {
  // One TCP connection at most, cut after 50 ms of silence, and a line without \n never taken.
  await using server = startTestServer({
    udp: true,
    maxConnections: 1,
    idleTimeoutMs: 50,
    unframedPauseMs: 0,
  });
  using peer = new UdpPeer();
  await using held = await RawConn.connect(server.port);
  await held.send("PING\n");
  assertEquals(await held.readLine(), "PONG");
  // The one TCP slot is taken: a second TCP client is refused, a datagram is answered,
  // its last line without \n at once.
  await using refused = await RawConn.connect(server.port);
  assert((await refused.readToEnd()).startsWith("Error: "));
  assertEquals(await peer.exchange(server.port, "PUT, a, 1\nGET, a"), "Success!\n1\n");
  // Once the idle timeout has cut the TCP client, the same peer is still answered.
  assert(await held.closedByServer());
  assertEquals(await peer.exchange(server.port, "GET, a"), "1\n");
});

Deno.test("serve() with udp traces each datagram: recvfrom, requests, answers, sendto; no accept, no close", async () => {
  const traced = new TraceCollector();
  await using server = startTestServer({ udp: true, trace: traced.trace });
  using peer = new UdpPeer();
  assertEquals(await peer.exchange(server.port, "PUT, a, 1\nGET, a"), "Success!\n1\n");
  await within("sendto", traced.waitFor("d1", "sendto"));
  assertEquals(traced.of("d1"), ["recvfrom", "request", "answer", "request", "answer", "sendto"]);
  assertEquals(traced.details("d1", "recvfrom"), [
    `bytes=16 peer=127.0.0.1:${peer.port} "PUT, a, 1\\nGET, a"`,
  ]);
  assertEquals(traced.details("d1", "sendto"), [`bytes=11 peer=127.0.0.1:${peer.port}`]);
  assertEquals(traced.of("server"), ["listen", "bind"]);
  assertEquals(traced.details("server", "bind"), [
    `udp=127.0.0.1:${server.port} (socket, bind: no listen, no accept)`,
  ]);

  // Nothing is sent back, so the trace says so with no sendto: a learner
  // reads sendto as the call, and a datagram of 0 bytes is a real one.
  await peer.send(server.port, "\n");
  await within("the blank datagram", traced.waitFor("d2", "drop"));
  assertEquals(traced.of("d2"), ["recvfrom", "drop"]);
  assertEquals(traced.details("d2", "drop"), [
    "(not answered: only blank lines, nothing to answer)",
  ]);
  await peer.send(server.port, "");
  await within("the empty datagram", traced.waitFor("d3", "drop"));
  assertEquals(traced.details("d3", "drop"), [
    "(not answered: an empty datagram, nothing to answer)",
  ]);

  const big = "x".repeat(MAX_DATAGRAM_BYTES);
  assertEquals(await ask(server.port, `PUT, big, ${big}`), "Success!"); // Over TCP.
  assertEquals(
    await peer.exchange(server.port, "GET, big\n"),
    `Error: answer too large for a datagram (${big.length + 1} bytes; use TCP)\n`,
  );
  await within("sendto", traced.waitFor("d4", "sendto"));
  assertEquals(traced.of("d4"), ["recvfrom", "request", "answer", "too-large", "sendto"]);
});

Deno.test("serve() with udp stops receiving at shutdown", async () => {
  const server = startTestServer({ udp: true });
  const port = server.port;
  using peer = new UdpPeer();
  assertEquals(await peer.exchange(port, "PING\n"), "PONG\n");
  assertEquals(await within("finished", server.shutdown()), { connectionsCut: 0 });
  // The port is free again, for UDP too.
  const again = Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" });
  assertEquals((again.addr as Deno.NetAddr).port, port);
  again.close();
});

Deno.test("serve() refuses udp with a password or TLS: datagrams have no connection to guard", () => {
  assertThrows(
    () => serve({ port: 0, udp: true, password: "secret" }),
    RangeError,
    "Cannot use udp with a password",
  );
  assertThrows(
    () => serve({ port: 0, udp: true, tls: { cert: "", key: "" } }),
    RangeError,
    "Cannot use udp with tls",
  );
});

Deno.test("serve() with udp leaves an error answer unanswered, so two servers cannot answer each other for ever", async () => {
  const traced = new TraceCollector();
  await using server = startTestServer({ udp: true, trace: traced.trace });
  using peer = new UdpPeer();
  // What another kv would send back for a datagram forged to come from this one.
  await peer.send(
    server.port,
    `Error: unknown command "x" (expected PUT, GET, DELETE, LIST, PING or QUIT)\n`,
  );
  await peer.send(server.port, "PING\n");
  // The first datagram back answers PING: the error got none.
  assertEquals((await peer.receive()).text, "PONG\n");
  assert(
    traced.events.some((event) =>
      event.detail === "(not answered: it is an error answer, not a request)"
    ),
  );
});

Deno.test({
  name:
    "whyNotAnswer() refuses a datagram from the server's own address or that is an error answer, and only those",
  permissions: "none",
  fn() {
    const at = (hostname: string, port: number): Deno.NetAddr => ({
      transport: "udp",
      hostname,
      port,
    });
    const ping = bytes("PING\n");
    assertEquals(whyNotAnswer(ping, at("127.0.0.1", 5000), at("127.0.0.1", 12000)), undefined);
    assertEquals(whyNotAnswer(ping, at("127.0.0.2", 12000), at("127.0.0.1", 12000)), undefined);
    assertEquals(
      whyNotAnswer(bytes("Error:x\n"), at("127.0.0.1", 5000), at("127.0.0.1", 12000)),
      undefined,
    );
    for (
      const [from, local] of [["127.0.0.1", "127.0.0.1"], ["127.0.0.1", "0.0.0.0"], ["::1", "::"]]
    ) {
      assertEquals(
        whyNotAnswer(ping, at(from!, 12000), at(local!, 12000)),
        "it claims to come from this server's own address",
      );
    }
    assertEquals(
      whyNotAnswer(
        bytes("Error: usage: GET, key\n"),
        at("127.0.0.1", 5000),
        at("127.0.0.1", 12000),
      ),
      "it is an error answer, not a request",
    );
  },
});

Deno.test("serve() with udp answers TCP clients while a datagram's LIST walks pairs it cannot show", async () => {
  const memory = new MemoryStore();
  const key = new TextEncoder().encode("key:000000");
  const pairs = 100_000;
  for (let i = 0; i < pairs; i++) {
    key.set(new TextEncoder().encode(String(i).padStart(6, "0")), 4);
    memory.set(key, 0, key.length, new Uint8Array([0xff]), 0, 1); // Not UTF-8: LIST leaves it out.
  }
  const store = new ObservedStore(memory);
  await using server = startTestServer({ udp: true, store });
  await using tcp = await RawConn.connect(server.port);
  using peer = new UdpPeer();
  let sent = false;
  store.onScan = () => {
    if (sent) return;
    sent = true;
    void tcp.send("GET, key:000001\n"); // Sent as the datagram's LIST begins its walk.
  };
  let scannedAtGet = -1;
  store.onGet = () => scannedAtGet = store.pairsScanned;
  await peer.send(server.port, "LIST\n");
  assert((await tcp.readLine())?.startsWith("Error: value is not one line of UTF-8 text"));
  assert(scannedAtGet >= 0 && scannedAtGet < pairs / 2, `GET ran after ${scannedAtGet} pairs`);
  assertEquals((await peer.receive()).text, "Not exist!\n\n");
});

Deno.test("serve() with udp stops a datagram's LIST walk at shutdown: its answer could reach nobody", async () => {
  // As a TCP connection cut mid-LIST: a walk that finds nothing to show (millions of pairs
  // the line protocol cannot show, in life; one that does not end by itself, here) held
  // the shutdown until it ended, though the socket it would answer on was closed.
  const store = new EndlessWalk();
  const server = startTestServer({ udp: true, store, shutdownGraceMs: 50 });
  using peer = new UdpPeer();
  try {
    await peer.send(server.port, "LIST\n");
    await within("the walk", store.walking);
    assertEquals(await within("the shutdown", server.shutdown()), { connectionsCut: 0 });
  } finally {
    store.end(); // Lets a walk that did not stop end, and the test with it.
    await server.shutdown();
  }
});

Deno.test("serve() with udp goes on answering TCP clients while datagrams flood in", async () => {
  const text = new TextStore(new MemoryStore());
  text.set("big", "v".repeat(1_000_000));
  await using server = startTestServer({ udp: true, store: text.store });
  // From another thread, faster than they are answered (each copies the 1 MB value, to answer
  // that it does not fit): the socket always has the next datagram waiting, so each receive
  // finishes at once, and so does each send.
  await using flood = startUdpFlood(server.port, "GET, big\n");
  await within("the flood's first answer", flood.answered);
  // A TCP client is answered while the flood goes on, not once it stops (after 20 s).
  const answer = ask(server.port, "PING");
  try {
    assertEquals(await within("a PING over TCP during a UDP flood", answer, 2_000), "PONG");
  } finally {
    await flood.stop();
    await answer.catch(() => {});
  }
});

Deno.test("serve() with udp walks the store for one LIST per datagram, and refuses the others", async () => {
  // A datagram of LISTs over 200,000 pairs the line protocol cannot show (each answered
  // "Not exist!", so the answer outgrows the datagram only after thousands) held the UDP
  // socket, and a core, for a quarter of an hour: a walk of the whole store for each.
  class CountedWalks extends MemoryStore {
    walks = 0;
    override scan(...args: Parameters<MemoryStore["scan"]>): number {
      if (args[0] === 0) this.walks++;
      return super.scan(...args);
    }
  }
  const store = new CountedWalks();
  new TextStore(store).set("a", "1");
  await using server = startTestServer({ udp: true, store });
  using peer = new UdpPeer();
  const refused = "Error: one LIST per datagram (send it alone, or use TCP)\n";
  assertEquals(
    await peer.exchange(server.port, "LIST\nLIST\nPING\nlist\nLIST, x\n"),
    `a, 1\n\n${refused}PONG\n${refused}Error: usage: LIST\n`,
  );
  assertEquals(store.walks, 1);
  // The next datagram has its own LIST.
  assertEquals(await peer.exchange(server.port, "LIST"), "a, 1\n\n");
  assertEquals(store.walks, 2);
});

Deno.test("serve() with udp reads on, logging no error, when Windows fails a receive with an answer's ICMP port unreachable", async () => {
  // Windows: an answer sent to a client that had closed its socket (one that gave up, or a
  // resend's second answer) brings back an ICMP port unreachable, and the server's next
  // recvfrom() fails with WSAECONNRESET (10054). The socket is fine: a log line at error
  // level for it would blame the server for UDP's everyday loss, every time kv check --udp runs.
  const closed = new Set<number>();
  using _windows = emulateWindowsIcmp(closed);
  const logs = new LogCollector();
  const traced = new TraceCollector();
  await using server = startTestServer({
    udp: true,
    log: logs.log,
    verbose: true,
    trace: traced.trace,
  });
  using gone = new UdpPeer();
  closed.add(gone.port); // Its answer finds the port closed, as Windows would report.
  await gone.send(server.port, "PING\n");
  using peer = new UdpPeer();
  assertEquals(await peer.exchange(server.port, "PING\n"), "PONG\n");
  assertEquals(logs.errors(), []);
  assert(
    logs.lines.some((line) => line.level === "debug" && /ICMP port unreachable/.test(line.message)),
    JSON.stringify(logs.lines),
  );
  assertEquals(traced.of("d1"), ["recvfrom", "request", "answer", "sendto", "unreachable"]);
});

Deno.test("serve() with udp answers the too-large line, and reads on, when the system refuses to send an answer (macOS: EMSGSIZE past 9,216 bytes)", async () => {
  // macOS's sendto() refuses a datagram longer than net.inet.udp.maxdgram (9,216 bytes by
  // default), even on loopback. The answer is lost there, not on the way: without a word back,
  // its client would wait out every try and blame the network.
  using _macos = emulateMacosMaxdgram();
  const logs = new LogCollector();
  const traced = new TraceCollector();
  const text = new TextStore(new MemoryStore());
  text.set("big", "b".repeat(10_000));
  await using server = startTestServer({
    udp: true,
    store: text.store,
    log: logs.log,
    trace: traced.trace,
  });
  using peer = new UdpPeer();
  const tooLarge = "Error: answer too large for a datagram (10001 bytes; use TCP)\n";
  assertEquals(await peer.exchange(server.port, "GET, big\n"), tooLarge);
  assertEquals(await peer.exchange(server.port, "GET, big\n"), tooLarge);
  assertEquals(await peer.exchange(server.port, "PING\n"), "PONG\n");
  assertEquals(logs.errors(), []);
  // One line says why, and how to raise the limit; not one per datagram.
  const said = logs.lines.filter((line) => /net\.inet\.udp\.maxdgram/.test(line.message));
  assertEquals(said.map((line) => line.level), ["info"], JSON.stringify(logs.lines));
  assertEquals(traced.of("d1"), ["recvfrom", "request", "answer", "too-large", "sendto"]);
  // Over TCP the same answer is fine.
  assertEquals(await ask(server.port, "GET, big"), "b".repeat(10_000));
});
