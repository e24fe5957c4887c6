import { assertEquals, assertRejects } from "@std/assert";
import { AnswerQueue, isErrorAnswer, type Refusal } from "./answers.ts";

Deno.test("AnswerQueue answers requests in order: one line each, a LIST up to its empty line", async () => {
  const answers = new AnswerQueue();
  const put = answers.add("line");
  const list = answers.add("list");
  const get = answers.add("line");
  for (const line of ["Success!", "a, 1", "b, 2", "", "1"]) answers.take(line);
  assertEquals(await put, ["Success!"]);
  assertEquals(await list, ["a, 1", "b, 2"]);
  assertEquals(await get, ["1"]);
  assertEquals(answers.answered, 3);
  assertEquals(answers.waiting, 0);
});

Deno.test("AnswerQueue: a lone error answers a LIST; an error with a comma is a pair", async () => {
  const answers = new AnswerQueue();
  const refused = answers.add("list");
  const odd = answers.add("list");
  answers.take("Error: too many connections");
  answers.take("Error: x, y");
  answers.take("");
  assertEquals(await refused, ["Error: too many connections"]);
  assertEquals(await odd, ["Error: x, y"]);
});

Deno.test("AnswerQueue: lines with no request waiting answer the next ones, even once the connection ended", async () => {
  const answers = new AnswerQueue();
  answers.take("Error: too many connections");
  assertEquals(answers.hasEarly, true);
  const ended = new Error("closed");
  assertEquals(await answers.add("line", ended), ["Error: too many connections"]);
  await assertRejects(() => answers.add("line", ended), Error, "closed");
  assertEquals(answers.waiting, 0);
});

Deno.test("AnswerQueue: endList() takes a LIST with the lines it has; rejectAll() fails the rest", async () => {
  const answers = new AnswerQueue();
  const list = answers.add("list");
  const after = answers.add("line");
  answers.take("a, 1");
  answers.endList();
  assertEquals(await list, ["a, 1"]);
  answers.rejectAll(new Error("lost"));
  await assertRejects(() => after, Error, "lost");
  answers.take("late");
  answers.dropEarly();
  assertEquals(answers.hasEarly, false);
});

Deno.test("AnswerQueue: the contract's authentication error answers a LIST, though it holds a comma", async () => {
  const answers = new AnswerQueue();
  const list = answers.add("list");
  const after = answers.add("line");
  answers.take("Error: authentication required (send AUTH, password first)");
  answers.take("Success!");
  assertEquals(await list, ["Error: authentication required (send AUTH, password first)"]);
  assertEquals(await after, ["Success!"]);
});

Deno.test("AnswerQueue: isErrorAnswer() tells a lone error from a LIST whose first key starts with Error:", async () => {
  const answers = new AnswerQueue();
  const refused = answers.add("list");
  const pairs = answers.add("list");
  const get = answers.add("line");
  const value = answers.add("line");
  for (const line of ["Error: too many connections", "Error: x, y", "", "Error: no", "v"]) {
    answers.take(line);
  }
  assertEquals(isErrorAnswer(await refused), true);
  assertEquals([await pairs, isErrorAnswer(await pairs)], [["Error: x, y"], false]);
  assertEquals(isErrorAnswer(await get), true);
  assertEquals(isErrorAnswer(await value), false);
});

Deno.test("AnswerQueue: once an answer showed no AUTH is needed, the authentication error's text in a LIST is a pair", async () => {
  const answers = new AnswerQueue();
  const ping = answers.add("line");
  const list = answers.add("list");
  const after = answers.add("line");
  const pair = "Error: authentication required (send AUTH, password first)";
  for (const line of ["PONG", pair, "b, 2", "", "PONG"]) answers.take(line);
  assertEquals(await ping, ["PONG"]);
  assertEquals(await list, [pair, "b, 2"]);
  assertEquals(isErrorAnswer(await list), false);
  assertEquals(await after, ["PONG"], "still in step");
});

Deno.test("AnswerQueue: a LIST answered by early lines is bounded as one read live: past listLimit it is refused, not cut short", async (t) => {
  const early = ["a, 1", "b, 2", "c, 3", ""];
  await t.step("early lines", async () => {
    const answers = new AnswerQueue({ lines: 2, bytes: 1000 });
    for (const line of early) answers.take(line);
    const refusals: Refusal[] = [];
    const list = answers.add("list", undefined, undefined, (refusal) => {
      refusals.push(refusal);
      answers.rejectAll(new Error("too big"));
    });
    await assertRejects(() => list, Error, "too big");
    assertEquals(refusals, ["list-too-big"]);
    // The rest of the early lines are not taken as the next answers.
    assertEquals([answers.hasEarly, answers.waiting], [false, 0]);
  });
  await t.step("the same lines read live", async () => {
    const answers = new AnswerQueue({ lines: 2, bytes: 1000 });
    const list = answers.add("list");
    // The connection fails at the first line refused (pipeline.ts): nothing after it is read.
    assertEquals(early.slice(0, 3).map((line) => answers.take(line)), [
      undefined,
      undefined,
      "list-too-big",
    ]);
    answers.rejectAll(new Error("too big"));
    await assertRejects(() => list, Error, "too big");
  });
  await t.step("by bytes, and without onRefused every request waiting fails", async () => {
    const answers = new AnswerQueue({ lines: 10, bytes: 10 });
    for (const line of early) answers.take(line);
    await assertRejects(() => answers.add("list"), Error, "list-too-big");
  });
});
