/**
 * Tests of `kv client < FILE`, batch mode: requests from a stdin that is
 * not a terminal, run in-process through `main(args, io)` over real sockets
 * on port 0: pipelining, blank lines and CRLF, QUIT, errors, raw bytes, a
 * server that closes mid-batch or while stdin stays open. Servers that do
 * not frame answers as kv does: client_batch_textbook_test.ts.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { KvClient } from "../client/client.ts";
import { main } from "../main.ts";
import { runBatch } from "./client_batch.ts";
import {
  FakeIo,
  readAll,
  readRawLines,
  runClient,
  scriptedServer,
  send,
  stallUntil,
  startTestServer,
  UNKNOWN_FOO,
  within,
} from "../testing/mod.ts";

const encoder = new TextEncoder();

// ---------------------------------------------------------------------------
// kv client < FILE

Deno.test("main() client in batch mode answers 5,000 PUTs then 5,000 GETs in order", async () => {
  await using server = startTestServer();
  const count = 5_000;
  let input = "";
  for (let i = 0; i < count; i++) input += `PUT, key${i}, value ${i}, 값${i}\n`;
  for (let i = 0; i < count; i++) input += `GET, key${i}\n`;
  const { code, stdout, stderr } = await runClient(server.port, [], { stdin: input });
  assertEquals([code, stderr], [0, ""]);
  const lines = stdout.split("\n");
  assertEquals(lines.pop(), "");
  assertEquals(lines.length, 2 * count);
  assertEquals(lines.slice(0, count), Array(count).fill("Success!"));
  assertEquals(
    lines.slice(count),
    Array.from({ length: count }, (_, i) => `value ${i}, 값${i}`),
  );
});

Deno.test("main() client in batch mode sends every request before reading the answers", async () => {
  const count = 1_000;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // A server that answers nothing until every request has arrived: a client
  // waiting for each answer before sending the next request would never finish.
  const fakeServer = (async () => {
    using conn = await listener.accept();
    const buffer = new Uint8Array(64 * 1024);
    let received = "";
    const decoder = new TextDecoder();
    while (received.split("\n").length - 1 < count) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`EOF after ${received.length} chars`);
      received += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
    const answers = encoder.encode(
      Array.from({ length: count }, (_, i) => `answer ${i}\n`).join(""),
    );
    for (let written = 0; written < answers.length;) {
      written += await conn.write(answers.subarray(written));
    }
    return received;
  })();
  try {
    const input = Array.from({ length: count }, (_, i) => `GET, k${i}\n`).join("");
    const { code, stdout } = await runClient(listener.addr.port, [], { stdin: input });
    assertEquals(code, 0);
    assertEquals(
      stdout,
      Array.from({ length: count }, (_, i) => `answer ${i}\n`).join(""),
    );
    assertEquals(await fakeServer, input);
  } finally {
    listener.close();
  }
});

Deno.test("main() client in batch mode skips blank lines and accepts CRLF", async () => {
  await using server = startTestServer();
  const input = "\nPUT, a, 1\r\n\r\n   \n\t\r\nGET, a\r\nLIST\r\nPING";
  assertEquals(await runClient(server.port, [], { stdin: input }), {
    code: 0,
    stdout: "Success!\n1\na, 1\nPONG\n",
    stderr: "",
  });
});

Deno.test("main() client in batch mode prints LIST answers without their empty line", async () => {
  await using server = startTestServer();
  const input = "LIST\nPUT, a, 1\nPUT, b, 2\nLIST\nDELETE, a\nDELETE, b\nLIST\nPING\n";
  const { code, stdout, stderr } = await runClient(server.port, [], { stdin: input });
  assertEquals([code, stderr], [0, ""]);
  const lines = stdout.split("\n");
  // LIST's pairs come in any order.
  lines.splice(3, 2, ...lines.slice(3, 5).toSorted());
  assertEquals(lines, [
    "Not exist!",
    "Success!",
    "Success!",
    "a, 1",
    "b, 2",
    "Success!",
    "Success!",
    "Not exist!",
    "PONG",
    "",
  ]);
});

Deno.test("main() client in batch mode prints a LIST's first lines before the server has sent the rest", async () => {
  // The server sends PING's answer and two pairs, then the rest only once
  // the client has printed them: a batch that gathers the whole LIST first
  // times out (and the server hears it close). Stdin stays open till then,
  // so that the batch's end (our FIN) is no reason to answer.
  const stdin = Promise.withResolvers<ReadableStreamDefaultController<Uint8Array>>();
  const fake = new FakeIo({ stdin: new ReadableStream({ start: (c) => stdin.resolve(c) }) });
  const input = await stdin.promise;
  const printed = fake.waitForStdout(/^PONG\na, 1\nb, 2\n/);
  await using server = scriptedServer(async (conn) => {
    assertEquals(await readRawLines(conn, 3), ["PING", "LIST", "PING"]);
    await send(conn, "PONG\na, 1\nb, 2\n");
    const closed = conn.read(new Uint8Array(1));
    if (await Promise.race([printed.then(() => "printed"), closed]) !== "printed") return;
    await send(conn, "c, 3\n\nPONG\n");
    await closed;
  });
  input.enqueue(encoder.encode("PING\nLIST\nPING\n"));
  printed.then(() => input.close());
  const code = await main(["client", "--port", String(server.port), "--timeout", "2"], fake.io);
  assertEquals({ code, stdout: fake.stdout, stderr: fake.stderr }, {
    code: 0,
    stdout: "PONG\na, 1\nb, 2\nc, 3\nPONG\n",
    stderr: "",
  });
});

Deno.test("main() client in batch mode prints none of a LIST after an answer that ended the batch", async () => {
  // The LIST's lines come in the same read as the answer before it, which is
  // not UTF-8: they wait for it to be printed, and it ends the batch (and
  // closes the client, which waits for them: they must not wait for that).
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 2);
    await send(conn, new Uint8Array([0xe9, 0x0a, ...encoder.encode("a, 1\nb, 2\n")]));
    await within("the client's close", readAll(conn));
  });
  const { code, stdout, stderr } = await within(
    "the batch ends at that answer",
    runClient(server.port, [], { stdin: openStdin("PING\nLIST\n") }),
  );
  assertEquals([code, stdout], [2, ""]);
  assertStringIncludes(stderr, 'sent an answer line that is not UTF-8: "\\xe9"');
  await server.done;
});

Deno.test("main() client in batch mode stops at QUIT", async () => {
  await using server = startTestServer();
  // The server trims spaces and tabs, however many: so does the client's QUIT.
  const input = "PUT, a, 1\n quit            \t \nPUT, b, 2\nGET, a\n";
  assertEquals(await runClient(server.port, [], { stdin: input }), {
    code: 0,
    stdout: "Success!\nBye!\n",
    stderr: "",
  });
  await using kv = await KvClient.connect({ port: server.port });
  assertEquals(await kv.get("a"), "1");
  assertEquals(await kv.get("b"), undefined, "nothing after QUIT was sent");
});

Deno.test("main() client in batch mode prints every answer and exits 1 after an Error: line", async () => {
  await using server = startTestServer();
  const input = "PUT, a, 1\nFOO\nGET, a\n";
  assertEquals(await runClient(server.port, [], { stdin: input }), {
    code: 1,
    stdout: `Success!\n${UNKNOWN_FOO}\n1\n`,
    stderr: "",
  });
});

Deno.test("main() client in batch mode sends stdin bytes as they are", async () => {
  await using server = startTestServer();
  const korean = encoder.encode("PUT, 이름, 윤영준\nGET, 이름\n");
  // One byte per chunk: lines and characters are split across chunks.
  const chunks = [...korean].map((byte) => new Uint8Array([byte]));
  chunks.push(new Uint8Array([0x47, 0xff, 0x0a])); // Not UTF-8.
  assertEquals(await runClient(server.port, [], { stdin: chunks }), {
    code: 1,
    stdout: "Success!\n윤영준\nError: request is not valid UTF-8\n",
    stderr: "",
  });
});

Deno.test("main() client in batch mode with empty stdin prints nothing and exits 0", async () => {
  await using server = startTestServer();
  assertEquals(await runClient(server.port, [], { stdin: "" }), {
    code: 0,
    stdout: "",
    stderr: "",
  });
});

Deno.test("main() client in batch mode exits 2 when the server closes mid-batch", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 3);
    await send(conn, "PONG\n"); // One answer, then the close.
  });
  const { code, stdout, stderr } = await runClient(server.port, [], {
    stdin: "PING\nPING\nPING\n",
  });
  await server.done;
  assertEquals(code, 2);
  assertEquals(stdout, "PONG\n", "answers before the close are printed");
  assertEquals(
    stderr,
    `kv: connection closed by 127.0.0.1:${server.port} with requests still unanswered (a server that closes after each answer takes one request per connection: run kv client once per request)\n`,
  );
});

Deno.test("main() client in batch mode: a request that fails while stdin is still open is no uncaught error", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "PONG\n"); // One answer, then the close (an idle timeout's way).
  });
  // stdin goes on after the close: the failed request waited unhandled
  // while the loop read on, and Deno ended the process (half of the runs).
  const stdin = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode("PING\n"));
      await server.done;
      controller.enqueue(encoder.encode("PING\n"));
      // Turns of the event loop in which an unhandled rejection would surface.
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
      controller.enqueue(encoder.encode("PING\n"));
      controller.close();
    },
  });
  const { code, stdout, stderr } = await runClient(server.port, [], { stdin });
  assertEquals([code, stdout], [2, "PONG\n"]);
  assertStringIncludes(stderr, `kv: connection closed by 127.0.0.1:${server.port}`);
});

/** A stdin that gives `first` and then nothing more, never ending (a pipe whose writer sleeps). */
function openStdin(first: string): ReadableStream<Uint8Array> {
  let given = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!given) controller.enqueue(encoder.encode(first));
      given = true;
      return new Promise(() => {}); // No more, and no end.
    },
  });
}

Deno.test("main() client in batch mode: an answer that is not UTF-8 ends the batch, though stdin stays open, exit 2", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 2);
    await send(conn, new Uint8Array([0x50, 0x4f, 0x4e, 0x47, 0x0a, 0xe9, 0x0a])); // "PONG", then Latin-1's "é"
    await within("the client's close", readAll(conn));
  });
  const { code, stdout, stderr } = await within(
    "the batch ends at that answer",
    runClient(server.port, [], { stdin: openStdin("PING\nGET, a\n") }),
  );
  assertEquals([code, stdout], [2, "PONG\n"]);
  assertStringIncludes(stderr, 'sent an answer line that is not UTF-8: "\\xe9"');
  await server.done;
});

Deno.test("main() client in batch mode: a server that closes while stdin stays open is told at once, exit 2", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "PONG\n");
  });
  const { code, stdout, stderr } = await runClient(server.port, [], { stdin: openStdin("PING\n") });
  assertEquals([code, stdout], [2, "PONG\n"]);
  assertStringIncludes(stderr, "kv: connection closed by");
});

Deno.test("main() client in batch mode stops once nobody reads its answers (| head), though stdin never ends", async () => {
  await using server = startTestServer();
  let sent = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent++;
      controller.enqueue(encoder.encode("PING\n".repeat(100)));
    },
  });
  const { code, stdout } = await runClient(server.port, [], {
    stdin: endless,
    stdoutBreaksAfter: 50,
  });
  assertEquals(code, 0);
  assertEquals(stdout.startsWith("PONG\nPONG\n"), true);
  assert(sent < 1_000, `it stopped reading stdin (${sent} reads)`);
});

Deno.test("main() client in batch mode: yes PING against a server that closes ends at once, exit 2", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "PONG\n");
  });
  let reads = 0;
  // Never runs dry; ends only so that the test ends even if the batch does not stop.
  const endless = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (++reads > 2_000) return controller.close();
      await new Promise((resolve) => setTimeout(resolve, 0));
      controller.enqueue(encoder.encode("PING\n".repeat(100)));
    },
  });
  // (The server closes with requests unread, so its PONG may be lost to the reset.)
  const { code } = await runClient(server.port, [], { stdin: endless });
  assertEquals(code, 2);
  assert(reads < 100, `it stopped reading stdin after the close (${reads} reads)`);
});

Deno.test("runBatch() listens for the connection's end once, not once per stdin line", async () => {
  // Each line raced with the connection's end: each race left a reaction on
  // it, which kept the race and its line until the connection ended
  // (`yes PING | kv client` grew without bound: 390 MB for 400,000 lines).
  await using server = startTestServer();
  await using client = await KvClient.connect({ port: server.port });
  const ended = client.ended;
  // Counts the reactions added to the end and to every promise made from it.
  let reactions = 0;
  const counted = <T>(promise: Promise<T>): Promise<T> => {
    const then = promise.then.bind(promise);
    Object.defineProperty(promise, "then", {
      value: (...args: Parameters<typeof then>) => {
        reactions++;
        return counted(then(...args));
      },
    });
    return promise;
  };
  Object.defineProperty(client, "ended", { value: counted(ended) });
  const fake = new FakeIo({ stdin: "PING\n".repeat(1_000) });
  assertEquals(await runBatch(client, fake.io), 0);
  assertEquals(fake.stdout, "PONG\n".repeat(1_000));
  assert(reactions <= 2, `${reactions} reactions on the connection's end for 1,000 lines`);
});

Deno.test("runBatch() does not take a stall of its own for a stdin with no line after the server's close", async () => {
  // The server says why it closes, then closes; a line stdin has once the
  // close is read is still sent, and answered by those words. The 100 ms
  // wait for it counts only while this process runs: its timer, late after
  // a stall, starts over from the resume, and the line comes 10 ms after.
  await using server = scriptedServer(async (conn) => {
    await send(conn, "Error: too many connections\n");
  });
  await using client = await KvClient.connect({ port: server.port });
  let give: ((line: string) => void) | undefined;
  const stdin = new ReadableStream<Uint8Array>({
    start(controller) {
      give = (line) => controller.enqueue(encoder.encode(line));
    },
  });
  const fake = new FakeIo({ stdin });
  // Its end, or the error it ends with (caught now: it may come during the stall).
  const batch = runBatch(client, fake.io).catch((error: Error) => error.message);
  await client.ended;
  // A turn: the batch has heard of the close and waits for a line.
  await new Promise((resolve) => setTimeout(resolve, 0));
  stallUntil(Date.now() + 400);
  await new Promise((resolve) => setTimeout(resolve, 10));
  give!("PING\n");
  assertEquals(await within("the batch", batch), 1);
  assertEquals(fake.stdout, "Error: too many connections\n");
  await server.done;
});
