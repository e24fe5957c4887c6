/**
 * End-to-end: one client that pipelines without end and reads its answers
 * at once must not keep the others waiting until it stops. Its requests are
 * always there to read, so its reads never wait, and a socket that is read
 * at once takes every write at once, so the event loop would never turn
 * for anyone else; the server lets it turn once a connection has read 1
 * MiB, or written 1 MiB of a long answer, within one tick
 * (server/turn_share.ts). The flood comes from another process (Python), as
 * it must: a sender in the test's own event loop would wait for that loop
 * to turn.
 *
 * Runs Python, so it needs `--allow-net --allow-run=python3`, from
 * `.ci/run` (`deno test --allow-net` does not pick up `*_e2e.ts` files).
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { ObservedStore, RawConn, startTestServer, textStore, within } from "../testing/mod.ts";
import { BYTES_PER_TURN } from "../server/turn_share.ts";

const FLOOD_REQUESTS = 15_000_000;
// The other client sends its GET once the flood is this far on.
const SENT_AT = 1_000_000;

// Pipelines FLOOD_REQUESTS GETs of "f" (105 MB) while a thread reads every answer.
const FLOODING_CLIENT = `
import socket, sys, threading
n = ${FLOOD_REQUESTS}
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
got = [0]
def read():
    while got[0] < n:
        data = s.recv(1 << 20)
        if not data: break
        got[0] += data.count(b"\\n")
reader = threading.Thread(target=read)
reader.start()
s.sendall(b"GET, f\\n" * n)
reader.join()
print(got[0])
`;

Deno.test("serve() answers another client while one pipelines without end", async () => {
  const text = textStore();
  text.set("f", "flood");
  text.set("mine", "served");
  const store = new ObservedStore(text.store);
  let floodGets = 0;
  let floodGetsAtMine = -1;
  await using server = startTestServer({ store });
  await using other = await RawConn.connect(server.port);
  store.onGet = (key) => {
    if (key === "mine") floodGetsAtMine = floodGets;
    else if (++floodGets === SENT_AT) void other.send("GET, mine\n"); // The flood is under way.
  };
  const python = new Deno.Command("python3", {
    args: ["-c", FLOODING_CLIENT, String(server.port)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  assertEquals(await within("the other client's answer", other.readLine()), "served");
  const { code, stdout } = await within("the flood's end", python.output(), 120_000);
  assertEquals([code, new TextDecoder().decode(stdout).trim()], [0, String(FLOOD_REQUESTS)]);
  // Served soon after it was sent, while the flood went on (the server lets the
  // event loop turn after 1 MiB, about 150,000 of these requests), not when it was over.
  const later = floodGetsAtMine - SENT_AT;
  assert(later >= 0 && later < 400_000, `the other GET ran ${later} flood GETs after it was sent`);
});

// GETs of a value of BYTES_PER_TURN (1 GiB of answers), sent at once; every answer read as it comes.
const BIG_GETS = 1_000;
const BIG_READER = `
import socket, sys
n = ${BIG_GETS}
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET, big\\n" * n)
want, got = n * (${BYTES_PER_TURN} + 1), 0
while got < want:
    data = s.recv(1 << 22)
    if not data: sys.exit("closed early")
    got += len(data)
print(got)
`;

Deno.test("serve() answers another client while one reads the answers of GETs of a big value at once", async () => {
  const text = textStore();
  text.set("big", "x".repeat(BYTES_PER_TURN));
  text.set("mine", "served");
  const store = new ObservedStore(text.store);
  let bigGets = 0;
  await using server = startTestServer({ store });
  await using other = await RawConn.connect(server.port);
  store.onGet = (key) => {
    if (key !== "mine" && ++bigGets === 10) void other.send("GET, mine\n");
  };
  const python = new Deno.Command("python3", {
    args: ["-c", BIG_READER, String(server.port)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  assertEquals(await within("the other client's answer", other.readLine()), "served");
  // Its answer came back after a few more megabytes of the flood's (the
  // server lets the loop turn after each), not after a few hundred: every
  // write of the flood's was taken at once, so the loop turned for no one
  // (98 to 321 of them, in three runs before the fix).
  const later = bigGets - 10;
  const { code, stdout } = await within("the flood's end", python.output(), 120_000);
  assertEquals([code, new TextDecoder().decode(stdout).trim()], [
    0,
    String(BIG_GETS * (BYTES_PER_TURN + 1)),
  ]);
  assert(later < 32, `the other client's answer came ${later} big answers after it was sent`);
});
