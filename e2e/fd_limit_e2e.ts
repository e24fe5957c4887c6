/**
 * End-to-end: a real `kv serve` out of file descriptors. Each test starts
 * kv, lets it settle, then lowers its soft `RLIMIT_NOFILE` with
 * `prlimit --pid` to leave it an exact number of free descriptors, and
 * fills them with clients. Then a client more must wait in the backlog
 * (not be dropped), be served once another leaves, the log must say so in
 * a line or two (not one per failed accept), and every socket must be
 * closed once the clients are gone: counted in /proc/PID/fd.
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
import {
  assertNoStackTrace,
  e2eDir,
  type KvProcess,
  LogCollector,
  pollUntil,
  RawConn,
  startKv,
  startTestServer,
  within,
} from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The descriptors `pid` has open, number and target, as `ls -l /proc/PID/fd`
 * lists them (Deno reads /proc only with --allow-all).
 */
async function openFds(pid: number): Promise<{ fd: number; target: string }[]> {
  const { code, stdout, stderr } = await new Deno.Command("ls", {
    args: ["-l", `/proc/${pid}/fd`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  // A descriptor closed between ls's listing and its readlink is "No such file": not there.
  const gone = /^(.*No such file or directory\n)*$/.test(decoder.decode(stderr));
  assert(code === 0 || gone, `ls: ${decoder.decode(stderr)}`);
  return [...decoder.decode(stdout).matchAll(/ (\d+) -> (.*)$/gm)].map((match) => ({
    fd: Number(match[1]),
    target: match[2]!,
  }));
}

/**
 * How many sockets `pid` has open: what a leak would leave. (Deno's own
 * cache files come and go for a moment after it starts: not counted.)
 */
async function sockets(pid: number): Promise<number> {
  return (await openFds(pid)).filter(({ target }) => target.startsWith("socket:")).length;
}

/**
 * Lowers `pid`'s soft limit on open files so that exactly `free` more
 * descriptors can be opened (a new one takes the lowest free number, and
 * fails with EMFILE at the limit or past it). The hard limit stays, so it
 * could be raised again.
 */
async function leaveFree(pid: number, free: number): Promise<void> {
  const open = new Set((await openFds(pid)).map(({ fd }) => fd));
  let limit = 0;
  for (let spare = 0;; limit++) {
    if (open.has(limit)) continue;
    if (spare === free) break;
    spare++;
  }
  const { code, stderr } = await new Deno.Command("prlimit", {
    args: ["--pid", String(pid), `--nofile=${limit}:`],
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, `prlimit: ${decoder.decode(stderr)}`);
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

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test("kv bench with more connections than its descriptors allow: one line that says it is this process's limit, exit 2", async () => {
  await using server = startTestServer();
  const { code, stdout, stderr } = await within(
    "kv bench",
    new Deno.Command("prlimit", {
      args: [
        "--nofile=64:64",
        Deno.execPath(),
        "run",
        "--no-prompt",
        "--allow-net=127.0.0.1",
        MAIN,
        "bench",
        "-p",
        String(server.port),
        "-c",
        "100",
        "-n",
        "100",
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output(),
  );
  const err = decoder.decode(stderr);
  assertEquals(code, 2, err);
  assertEquals(decoder.decode(stdout), "");
  assertMatch(
    err,
    /^kv: cannot connect to 127\.0\.0\.1:\d+: Too many open files \(os error 24\): this process is out of file descriptors, not the server \(raise ulimit -n, or open fewer connections\)\n$/,
  );
  assertNoStackTrace(err);
});

Deno.test("kv check out of descriptors mid-run stops in one line, exit 2, its keys deleted, and no rule blamed on the server", async () => {
  const logs = new LogCollector();
  await using server = startTestServer({ log: logs.log, verbose: true });
  // kv check reaches the server through this proxy. Its second connection
  // is its first request (a GET): while it waits for the answer, its limit
  // is lowered to leave no descriptor free, so once that connection
  // closes, the rule's first connection (a PUT) opens, and its second cannot.
  const proxy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      MAIN,
      "check",
      "-p",
      String(proxy.addr.port),
      "--only",
      "conn.disconnect",
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const conns: Deno.Conn[] = [];
  const pipes: Promise<unknown>[] = [];
  const proxying = (async () => {
    for (let n = 1;; n++) {
      let conn: Deno.Conn;
      try {
        conn = await proxy.accept();
      } catch {
        return; // The proxy is closed.
      }
      conns.push(conn);
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      conns.push(upstream);
      if (n === 2) await leaveFree(child.pid, 0);
      pipes.push(conn.readable.pipeTo(upstream.writable).catch(() => {}));
      pipes.push(upstream.readable.pipeTo(conn.writable).catch(() => {}));
    }
  })();
  let out;
  try {
    out = await within("kv check", child.output());
  } finally {
    proxy.close();
    await proxying;
    for (const conn of conns) closeQuietly(conn);
    await Promise.all(pipes);
  }
  const stderr = decoder.decode(out.stderr);
  const stdout = decoder.decode(out.stdout);
  assertEquals(out.code, 2, `${stdout}\n${stderr}`);
  assertEquals(
    stderr,
    "kv: stopped at conn.disconnect: this kv check process is out of file descriptors " +
      "(Too many open files (os error 24)), which says nothing of the server; raise ulimit -n " +
      "and run it again\n",
  );
  assert(!/FAIL|broken/.test(stdout), stdout);
  // The rule's PUT came before the connection that failed: deleted by the cleanup.
  await using conn = await RawConn.connect(server.port);
  await conn.send("LIST\n");
  const left = await conn.readList();
  assert(!left.some((line) => line.includes("kvcheck:")), left.join("\n"));
  const requests = logs.lines.map(({ message }) => message).join("\n");
  assertMatch(requests, /PUT, kvcheck:[0-9a-f]{4}:survivor/);
  assertMatch(requests, /DELETE, kvcheck:[0-9a-f]{4}:survivor/);
});

Deno.test("kv check --udp out of descriptors mid-run stops in one line, exit 2, not a crash", async () => {
  // Over UDP a rule's exchange opens its socket when it sends: the line
  // must be the same as over TCP. This stand-in server lowers the
  // checker's limit while it holds the first request, so that the socket
  // that request came from is the last one it can have: the first rule's
  // socket cannot be made.
  const server = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (server.addr as Deno.NetAddr).port;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      MAIN,
      "check",
      "--udp",
      "-p",
      String(port),
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out;
  try {
    const [request, from] = await within("kv check's first request", server.receive());
    assertMatch(decoder.decode(request), /^GET, kvcheck:[0-9a-f]{4}:nobody$/);
    const fds = await openFds(child.pid);
    const open = new Set(fds.map(({ fd }) => fd));
    // The request's socket: the last one it opened, the highest-numbered.
    const last = Math.max(
      ...fds.filter(({ target }) => target.startsWith("socket:")).map(({ fd }) => fd),
    );
    let limit = 0;
    while (open.has(limit) && limit !== last) limit++;
    const { code, stderr } = await new Deno.Command("prlimit", {
      args: ["--pid", String(child.pid), `--nofile=${limit}:`],
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(code, 0, `prlimit: ${decoder.decode(stderr)}`);
    await server.send(encoder.encode("Not exist!\n"), from);
    out = await within("kv check", child.output());
  } finally {
    server.close();
  }
  const stderr = decoder.decode(out.stderr);
  const stdout = decoder.decode(out.stdout);
  assertEquals(out.code, 2, `${stdout}\n${stderr}`);
  assertMatch(
    stderr,
    /^kv: stopped at [a-z.-]+: this kv check process is out of file descriptors \(Too many open files \(os error 24\)\), which says nothing of the server; raise ulimit -n and run it again\n$/,
  );
  assert(!/FAIL|broken/.test(stdout), stdout);
});
