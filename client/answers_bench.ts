/**
 * Microbenchmark (`deno task bench`) of matching answers to the requests
 * waiting for them in `KvClient` (client/answers.ts): 100,000 pipelined
 * requests, answered in order. Its cost per request must not grow with the
 * number waiting: with an array's `shift()` (before net/fifo.ts) n waiting
 * requests cost O(n^2), 300,000 of them 36 s; now each is O(1).
 *
 * @module
 */

import { AnswerQueue } from "./answers.ts";

for (const n of [1_000, 100_000]) {
  Deno.bench({
    name: `AnswerQueue: ${n.toLocaleString("en")} waiting requests answered in order`,
    group: "answers",
    async fn(b) {
      const answers = new AnswerQueue();
      const waiting = Array.from({ length: n }, () => answers.add("line"));
      b.start();
      for (let i = 0; i < n; i++) answers.take("ok");
      b.end();
      await Promise.all(waiting);
    },
  });
}
