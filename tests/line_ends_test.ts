/**
 * Tests of the rules in PROTOCOL.md's "Ends of lines and of connections",
 * over real sockets on port 0: a client that sends no `\n` (its line is
 * taken after a pause, until it sends one) and a client that half-closes
 * (its last line is answered). The limits are in limits_test.ts. The pause
 * is a server option set small here; where a test must see that nothing
 * happened for a while, the server's own timer is the clock and the test
 * awaits what it does.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { RawConn, stallUntil, startTestServer, within } from "../testing/mod.ts";

Deno.test("serve() takes an unframed client's line after a pause, until the client sends a newline", async (t) => {
  await t.step("a line with no newline is answered once it sits unchanged", async () => {
    await using server = startTestServer({ unframedPauseMs: 30 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PUT, myname, yyjun");
    assertEquals(await within("PUT answer", conn.readLine()), "Success!");
    await conn.send("GET, myname");
    assertEquals(await within("GET answer", conn.readLine()), "yyjun");
  });

  await t.step("a line that arrives in two writes is one request", async () => {
    await using server = startTestServer({ unframedPauseMs: 250 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PUT, my");
    await conn.send("name, yyjun");
    assertEquals(await within("PUT answer", conn.readLine()), "Success!");
    await conn.send("GET, myname");
    assertEquals(await within("GET answer", conn.readLine()), "yyjun");
  });

  await t.step("a stall of the server's own process is not the client's pause", async () => {
    // The rest of the line arrives while the process (server and test alike)
    // is stalled longer than the pause: its timer is due when it runs again.
    const read = Promise.withResolvers<void>();
    await using server = startTestServer({
      unframedPauseMs: 100,
      trace: (event) => {
        if (event.event === "recv") read.resolve();
      },
    });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PUT, myname, ");
    await read.promise; // The server has the start and waits for the pause.
    await conn.send("yyjun");
    stallUntil(Date.now() + 300);
    assertEquals(await within("PUT answer", conn.readLine()), "Success!");
    await conn.send("GET, myname");
    assertEquals(await within("GET answer", conn.readLine()), "yyjun");
  });

  await t.step("the pause ends an over-long line too: the next request is answered", async () => {
    // Without it, the skip to the next \n never ended for a client that
    // sends no \n, and every later request of it went unanswered.
    const paused = Promise.withResolvers<void>();
    await using server = startTestServer({
      maxLineBytes: 16,
      unframedPauseMs: 30,
      trace: (event) => {
        if (event.event === "pause") paused.resolve();
      },
    });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PUT, k, " + "v".repeat(20));
    assertEquals(
      await within("the error", conn.readLine()),
      "Error: line too long (limit 16 bytes)",
    );
    await within("the pause ends the skipped line", paused.promise);
    await conn.send("PUT, k, v");
    assertEquals(await within("PUT answer", conn.readLine()), "Success!");
    await conn.send("GET, k");
    assertEquals(await within("GET answer", conn.readLine()), "v");
  });

  await t.step("after a newline, a partial line waits for its own newline", async () => {
    // The idle timeout is the clock: by the time it closes the connection,
    // the partial line has sat unchanged far longer than the pause.
    await using server = startTestServer({ unframedPauseMs: 10, idleTimeoutMs: 200 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING\n");
    assertEquals(await within("PONG", conn.readLine()), "PONG");
    await conn.send("GET, myname");
    assertEquals(await within("close by idle timeout", conn.readToEnd()), "");
  });

  await t.step("a pause of 0 turns it off", async () => {
    await using server = startTestServer({ unframedPauseMs: 0, idleTimeoutMs: 150 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING");
    assertEquals(await within("close by idle timeout", conn.readToEnd()), "");
  });
});

Deno.test("serve() answers a last line without a newline when the client half-closes", async (t) => {
  await t.step("after framed lines", async () => {
    await using server = startTestServer();
    await using conn = await RawConn.connect(server.port);
    await conn.send("PUT, a, 1\nGET, a");
    await conn.closeWrite();
    assertEquals(await within("answers, then close", conn.readToEnd()), "Success!\n1\n");
  });

  await t.step("as a client's only line, without waiting for the pause", async () => {
    await using server = startTestServer({ unframedPauseMs: 60_000 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING\r");
    await conn.closeWrite();
    assertEquals(await within("PONG, then close", conn.readToEnd()), "PONG\n");
  });

  await t.step("a blank last line gets no answer", async () => {
    await using server = startTestServer();
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING\n \t");
    await conn.closeWrite();
    assertEquals(await within("PONG, then close", conn.readToEnd()), "PONG\n");
  });
});
