/**
 * End-to-end: a real `kv serve` out of file descriptors. Each test starts
 * kv, lets it settle, then lowers its soft `RLIMIT_NOFILE` with
 * `prlimit --pid` to leave it an exact number of free descriptors, and
 * fills them with clients. Then a client more must wait in the backlog
 * (not be dropped), be served once another leaves, the log must say so in
 * a line or two (not one per failed accept), and every socket must be
 * closed once the clients are gone: counted in /proc/PID/fd. kv's clients
 * out of them: fd_limit_clients_e2e.ts.
 *
 * Needs `--allow-run=DENO,prlimit,ls --allow-net=127.0.0.1 --allow-read=.e2e-tmp
 * --allow-write=.e2e-tmp` (the TLS test writes its certificate there; `ls`
 * lists /proc/PID/fd, which Deno reads only with --allow-all), from
 * `.ci/run`; `deno test --allow-net` does not pick up `*_e2e.ts` files.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import { closeQuietly, writeAll } from "../net/conn.ts";
import { e2eDir, type KvProcess, pollUntil, RawConn, startKv, within } from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";
import { leaveFree, openFds } from "../testing/fds.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * How many sockets `pid` has open: what a leak would leave. (Deno's own
 * cache files come and go for a moment after it starts: not counted.)
 */
async function sockets(pid: number): Promise<number> {
  return (await openFds(pid)).filter(({ target }) => target.startsWith("socket:")).length;
}

/** Waits (bounded) until the server's sockets are back to `baseline`. */
async function backTo(server: KvProcess, baseline: number): Promise<void> {
  let now = 0;
  await pollUntil(
    `the server's sockets back to ${baseline}`,
    async () => (now = await sockets(server.child.pid)) === baseline,
  ).catch((error) => {
    throw new Error(`${error.message} (${now} open)`);
  });
}

/** A settled server's count of sockets, after one client (`visit`) came and went. */
async function settled(server: KvProcess, visit: () => Promise<void>): Promise<number> {
  const before = await sockets(server.child.pid);
  await visit();
  await backTo(server, before);
  return before;
}

async function visitPlain(port: number): Promise<void> {
  await using conn = await RawConn.connect(port);
  await conn.send("GET, warm\n");
  assertEquals(await conn.readLine(), "Not exist!");
}

/** Lines of `text` that tell a failed accept. */
function acceptLines(text: string): string[] {
  return text.split("\n").filter((line) =>
    /accept failed|out of file descriptors|accepting clients again/.test(line)
  );
}

Deno.test("out of descriptors, a plain client waits in the backlog, is served once one leaves, and the log says so once", async () => {
  await using server = await startKv([]);
  const pid = server.child.pid;
  const baseline = await settled(server, () => visitPlain(server.port));
  await leaveFree(pid, 3);
  const held: RawConn[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const conn = await RawConn.connect(server.port);
      held.push(conn);
      await conn.send(`GET, held${i}\n`);
      assertEquals(await conn.readLine(), "Not exist!");
    }
    // The fourth connects (the kernel's backlog takes it) but cannot be accepted.
    const waiting = await RawConn.connect(server.port);
    held.push(waiting);
    await waiting.send("PUT, waited, yes\n");
    await server.waitForStderr(/out of file descriptors|accept failed/);
    assertEquals(await sockets(pid), baseline + 3);
    // Those connected are still served meanwhile.
    await held[0]!.send("GET, waited\n");
    assertEquals(await held[0]!.readLine(), "Not exist!");
    // One leaves: the one waiting is served, not dropped.
    held.shift()!.close();
    assertEquals(await waiting.readLine(), "Success!");
    // Clients come and go at the limit: each new one waits for the one
    // that left, and every other accept fails: one line, not one each.
    for (let i = 0; i < 20; i++) {
      held.shift()!.close();
      const next = await RawConn.connect(server.port);
      held.push(next);
      await next.send("GET, waited\n");
      assertEquals(await next.readLine(), "yes");
    }
    // A Redis client waits and is served the same way.
    const resp = await RawConn.connect(server.port);
    held.push(resp);
    await resp.send("*1\r\n$4\r\nPING\r\n");
    held.shift()!.close();
    assertEquals(await resp.readLine(), "+PONG\r");
    // All those failed accepts: one line, saying what to do.
    const failures = acceptLines(server.stderr);
    assertEquals(failures.length, 1, failures.join("\n"));
    assert(failures[0]!.includes("Raise ulimit -n"), failures[0]);
  } finally {
    for (const conn of held) conn.close();
  }
  await backTo(server, baseline);
  // Two clients in a row: accepts work again, and the log says so.
  for (let i = 0; i < 2; i++) {
    await using conn = await RawConn.connect(server.port);
    await conn.send("GET, waited\n");
    assertEquals(await conn.readLine(), "yes");
  }
  await server.waitForStderr(/accepting clients again/);
  const lines = acceptLines(server.stderr);
  assertEquals(lines.length, 2, lines.join("\n"));
  assert(/accepting clients again/.test(lines[1]!), lines[1]);
});

/** A TLS connection to the server, its handshake done. */
async function connectTls(port: number): Promise<Deno.TlsConn> {
  const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [TEST_CA] });
  try {
    await within("a TLS handshake", conn.handshake());
  } catch (error) {
    closeQuietly(conn);
    throw error;
  }
  return conn;
}

/** Sends `request` and reads one answer line. */
async function askTls(conn: Deno.TlsConn, request: string): Promise<string> {
  await writeAll(conn, encoder.encode(request));
  const buffer = new Uint8Array(256);
  let text = "";
  while (!text.includes("\n")) {
    const n = await within("an answer over TLS", conn.read(buffer));
    if (n === null) {
      throw new Error(`the server closed the connection after ${JSON.stringify(text)}`);
    }
    text += decoder.decode(buffer.subarray(0, n));
  }
  return text.slice(0, text.indexOf("\n"));
}

// Over TLS a connection takes three descriptors: the client's socket, and
// both ends of its pipe into the inner TLS listener. With one free, the
// outer accept takes it and the pipe's connect fails; with two, the inner
// accept fails. Either way the client must wait, as a plain one does.
for (const free of [1, 2]) {
  Deno.test(`out of descriptors over TLS with ${free} free, a client waits, is served once one leaves, and nothing leaks`, async () => {
    await using dir = await e2eDir();
    await Deno.writeTextFile(`${dir.path}/cert.pem`, TEST_CERT);
    await Deno.writeTextFile(`${dir.path}/key.pem`, TEST_KEY, { mode: 0o600 });
    await using server = await startKv(
      ["--tls-cert", `${dir.path}/cert.pem`, "--tls-key", `${dir.path}/key.pem`],
      { dir: dir.path },
    );
    const pid = server.child.pid;
    const baseline = await settled(server, async () => {
      const warm = await connectTls(server.port);
      try {
        assertEquals(await askTls(warm, "GET, warm\n"), "Not exist!");
      } finally {
        warm.close();
      }
    });
    const first = await connectTls(server.port);
    let waiting: Deno.TlsConn | undefined;
    try {
      assertEquals(await askTls(first, "PUT, k, v\n"), "Success!");
      // Three: its socket, and both ends of its pipe.
      assertEquals(await sockets(pid), baseline + 3);
      await leaveFree(pid, free);
      const served = connectTls(server.port).then(async (conn) => {
        waiting = conn;
        return await askTls(conn, "GET, k\n");
      });
      served.catch(() => {}); // Awaited below, after the first client leaves.
      await server.waitForStderr(/out of file descriptors|accept failed/);
      first.close();
      assertEquals(await within("the waiting TLS client's answer", served), "v");
    } finally {
      closeQuietly(first);
      if (waiting !== undefined) closeQuietly(waiting);
    }
    await backTo(server, baseline);
    assert(!/did not arrive/.test(server.stderr), server.stderr);
  });
}

Deno.test("out of descriptors with --data, a compaction that cannot open its file fails alone: every write is saved, and the log loads whole", async () => {
  await using dir = await e2eDir();
  const file = `${dir.path}/kv.log`;
  const value = "v".repeat(200);
  {
    await using server = await startKv(["--data", file, "--compact-min-bytes", "4096"], {
      dir: dir.path,
    });
    const baseline = await settled(server, () => visitPlain(server.port));
    await using conn = await RawConn.connect(server.port);
    await conn.send("GET, k\n");
    assertEquals(await conn.readLine(), "Not exist!");
    await leaveFree(server.child.pid, 0);
    // 100 writes of one key: the log passes 4096 bytes and twice its live
    // data, so a compaction starts, and cannot open kv.log.compact.
    for (let i = 0; i < 100; i++) {
      await conn.send(`PUT, k, ${i}${value}\n`);
      assertEquals(await conn.readLine(), "Success!", `PUT number ${i}`);
    }
    await server.waitForStderr(
      /compaction of data file .* failed \(the log is unchanged\): Too many open files/,
    );
    // Nothing of the compaction left open: its socket count, and no file but the log.
    assertEquals(await sockets(server.child.pid), baseline + 1);
    const files = (await openFds(server.child.pid)).filter(({ target }) =>
      target.includes(dir.path)
    );
    assertEquals(files.map(({ target }) => target.slice(target.lastIndexOf("/") + 1)), ["kv.log"]);
    conn.close();
    const { code, stderr } = await server.stop();
    assertEquals(code, 0, stderr);
    assertMatch(stderr, /synced and closed/);
  }
  await using again = await startKv(["--data", file], { dir: dir.path });
  await using conn = await RawConn.connect(again.port);
  await conn.send("GET, k\n");
  assertEquals(await conn.readLine(), `99${value}`);
});
