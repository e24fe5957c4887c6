/**
 * Tests of `kv client`'s prompt at a terminal: the line editor
 * (`line_editor.ts`: arrow keys, history, Ctrl-C, a password read unseen
 * and forgotten) over stand-in streams, and the prompt run in-process
 * through `main()` over real sockets on port 0 with a paste (every line
 * answered in order; none run after Ctrl-C).
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { PassThrough } from "node:stream";
import { main } from "../main.ts";
import { FakeIo, scriptedServer, send, startTestServer, within } from "../testing/mod.ts";
import { type LineEditor, openLineEditor } from "./line_editor.ts";

/** A line editor over stand-in streams: `input` is the keyboard, `shown()` what it wrote. */
function standInTerminal(): Disposable & {
  input: PassThrough;
  editor: LineEditor;
  shown(): string;
} {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = "";
  output.on("data", (chunk: Uint8Array) => shown += new TextDecoder().decode(chunk));
  const editor = openLineEditor({ input, output });
  return { input, editor, shown: () => shown, [Symbol.dispose]: () => editor.close() };
}

/**
 * Gives `kv client` in `fake` the stand-in `editor`; settles once the prompt
 * asks for its first line (a paste comes then, as at a terminal).
 */
function promptingWith(fake: FakeIo, editor: LineEditor): Promise<void> {
  const asked = Promise.withResolvers<void>();
  fake.io.openLineEditor = () =>
    Promise.resolve({
      ...editor,
      readLine: (prompt: string) => (asked.resolve(), editor.readLine(prompt)),
    });
  return asked.promise;
}

Deno.test("openLineEditor() edits with the arrow keys and recalls history with up", async () => {
  using terminal = standInTerminal();
  const { input, editor } = terminal;
  const first = editor.readLine("> ");
  input.write("PNG\x1b[D\x1b[DI\r"); // Left twice, then insert "I".
  assertEquals(await first, "PING");
  const second = editor.readLine("> ");
  input.write("\x1b[A\r"); // Up: the request before.
  assertEquals(await second, "PING");
  const third = editor.readLine("> ");
  input.write("\x04"); // Ctrl-D on an empty line: the end.
  assertEquals(await third, null);
});

Deno.test("openLineEditor() says when Ctrl-C is pressed, and the next line is the end", async () => {
  using terminal = standInTerminal();
  const { input, editor } = terminal;
  const first = editor.readLine("> ");
  input.write("GET, a\r");
  assertEquals(await first, "GET, a");
  // No line is asked for (the prompt waits for an answer): Ctrl-C still comes through.
  const aborted = new Promise((resolve) => editor.interrupted!.addEventListener("abort", resolve));
  input.write("\x03");
  await aborted;
  assertEquals(await editor.readLine("> "), null);
});

Deno.test("openLineEditor() reads a password without showing it, and does not remember it", async () => {
  using terminal = standInTerminal();
  const { input, editor, shown } = terminal;
  const first = editor.readLine("> ");
  input.write("AUTH\r");
  assertEquals(await first, "AUTH");
  const secret = editor.readSecret("Password: ");
  input.write("hunter2\r");
  assertEquals(await secret, "hunter2");
  assert(shown().includes("Password: "), shown());
  assert(!shown().includes("hunter2"), `the password was shown: ${JSON.stringify(shown())}`);
  const recalled = editor.readLine("> ");
  input.write("\x1b[A\r"); // Up: the request before, not the password.
  assertEquals(await recalled, "AUTH");
});

Deno.test("kv client's prompt answers every line of a paste, in order, and Ctrl-D after it ends the prompt", async () => {
  await using server = startTestServer();
  using terminal = standInTerminal();
  const { input, editor } = terminal;
  // The paste comes once the prompt asks for its first line, as at a terminal.
  const fake = new FakeIo({ terminal: true });
  const asked = promptingWith(fake, editor);
  const running = main(["client", "-p", String(server.port)], fake.io);
  await asked;
  input.write("PUT, a, 1\rPUT, b, 2\rGET, a\rGET, b\r\x04");
  assertEquals(await within("the prompt to end", running), 0);
  assertEquals(fake.stdout.split("\n").slice(1), ["Success!", "Success!", "1", "2", "", ""]);
  assertEquals(fake.stderr, "");
});

Deno.test("kv client's prompt runs no more lines of a paste once Ctrl-C is pressed", async () => {
  // Ctrl-C while an answer is being printed (not awaited): the paste's next
  // lines were still handed out, and the next one sent, after it.
  const received: string[] = [];
  await using server = scriptedServer(async (conn) => {
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(1024);
    let carry = "";
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      const lines = (carry + decoder.decode(buffer.subarray(0, n), { stream: true })).split("\n");
      carry = lines.pop()!;
      for (const line of lines) {
        received.push(line);
        await send(conn, "Success!\n");
      }
    }
  });
  using terminal = standInTerminal();
  const { input, editor } = terminal;
  const fake = new FakeIo({ terminal: true });
  const asked = promptingWith(fake, editor);
  const print = fake.io.stdout;
  const interrupted = new Promise((resolve) =>
    editor.interrupted!.addEventListener("abort", resolve)
  );
  fake.io.stdout = async (text) => {
    await print(text);
    if (text !== "Success!\n") return;
    input.write("\x03");
    await interrupted;
  };
  const running = main(["client", "-p", String(server.port)], fake.io);
  await asked;
  input.write("PUT, a, 1\rPUT, b, 2\rPUT, c, 3\r");
  const code = await within("the prompt to end", running);
  await server.done;
  assertEquals({ code, stderr: fake.stderr, received }, {
    code: 0,
    stderr: "",
    received: ["PUT, a, 1"],
  });
});

Deno.test("openLineEditor() forgets the line with a password, not a later line of the same paste", async () => {
  using terminal = standInTerminal();
  const { input, editor } = terminal;
  const first = editor.readLine("> ");
  input.write("AUTH, hunter2\rPING\r");
  assertEquals(await first, "AUTH, hunter2");
  editor.forgetLast();
  assertEquals(await within("the paste's second line", editor.readLine("> ")), "PING");
  const recalled = editor.readLine("> ");
  input.write("\x1b[A\r"); // Up: the request before, PING.
  assertEquals(await recalled, "PING");
  const older = editor.readLine("> ");
  input.write("\x1b[A\x1b[A\r"); // Up twice: nothing is older than PING, the password is gone.
  assertEquals(await older, "");
});
