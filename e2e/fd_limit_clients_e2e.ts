/**
 * End-to-end: kv's clients out of file descriptors. `kv bench` with more
 * connections than its limit allows says it is its own limit, not the
 * server's; `kv check` whose limit is lowered mid-run (with `prlimit
 * --pid`, while a proxy or a stand-in UDP server holds its first request)
 * stops in one line with exit 2 and blames no rule on the server. The
 * server's side: fd_limit_e2e.ts.
 *
 * Needs `--allow-run=DENO,prlimit,ls --allow-net=127.0.0.1`, from `.ci/run`;
 * `deno test --allow-net` does not pick up `*_e2e.ts` files.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import { closeQuietly } from "../net/conn.ts";
import {
  assertNoStackTrace,
  LogCollector,
  RawConn,
  startTestServer,
  within,
} from "../testing/mod.ts";
import { leaveFree, openFds } from "../testing/fds.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
