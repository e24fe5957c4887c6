/**
 * {@linkcode respond}: the answer of testing/student_servers.ts's line
 * server to one request line, right but for its {@linkcode Mistake}: how
 * it splits, trims and folds the request, and what it answers each
 * command. Kept apart from the server's reading loop, which it does not
 * need.
 *
 * @module
 */

import type { Mistake } from "./student_servers.ts";

const TRIM_REGEXP = /^[ \t]+|[ \t]+$/g;

/** The answer to one line (`undefined`: none), and whether to close after it. */
export function respond(
  bytes: Uint8Array,
  store: Map<string, string>,
  mistake: Mistake | undefined,
): { text: string; close?: boolean } | undefined {
  const error = (why: string) => ({ text: `Error: ${why}\n`, close: mistake === "error-closes" });
  let line: string;
  try {
    line = new TextDecoder("utf-8", { fatal: mistake !== "lossy-utf8" }).decode(bytes);
  } catch {
    return error("request is not valid UTF-8");
  }
  if (mistake !== "keeps-cr") line = line.replace(/\r$/, "");
  if (line.replace(TRIM_REGEXP, "") === "") {
    return mistake === "blank-line-answered" ? error("empty request") : undefined;
  }
  if (mistake === "same-answer") return { text: "Wrong request!\n" };
  const trim = (text: string) =>
    mistake === "trim-all-space" ? text.trim() : text.replace(TRIM_REGEXP, "");
  const fields = mistake === "split-comma-space"
    ? line.split(", ")
    : mistake === "split-comma-no-strip"
    ? `${line}\n`.split(",").map((field, i) => i === 0 ? field.trim() : field)
    : line.split(",").map(trim);
  const word = fields[0]!;
  const command = mistake === "case-sensitive"
    ? word
    : mistake === "unicode-case"
    ? word.toUpperCase()
    : word.replace(/[a-z]/g, (letter) => letter.toUpperCase());
  const takes = command === "PUT" ? 3 : command === "GET" || command === "DELETE" ? 2 : Infinity;
  if (mistake === "dies-on-extra-fields" && fields.length > takes) {
    throw new Error(`too many values to unpack (expected ${takes})`);
  }
  const key = fields[1] ?? "";
  const badKey = key === "" && mistake !== "empty-key-accepted";
  switch (command) {
    case "PUT": {
      if (fields.length === 2 && key !== "" && mistake === "put-without-value") {
        store.set(key, "");
        return { text: "Success!\n" };
      }
      if (fields.length < 3) return error("usage: PUT, key, value");
      if (badKey) return error("key must not be empty");
      const second = line.indexOf(",", line.indexOf(",") + 1);
      const rest = mistake === "split-comma-space"
        ? fields.slice(2).join(", ")
        : mistake === "split-comma-no-strip"
        ? `${line.slice(second + 1)}\n`
        : trim(line.slice(second + 1));
      store.set(key, mistake === "value-cut-at-comma" ? fields[2]! : rest);
      return { text: "Success!\n" };
    }
    case "GET":
    case "DELETE": {
      if (fields.length !== 2) return error(`usage: ${command}, key`);
      if (badKey) return error("key must not be empty");
      if (command === "GET") {
        const value = store.get(key);
        const silent = mistake === "get-missing-silent" || mistake === "missing-silent";
        if (value === undefined && silent) return { text: "" };
        if (value === undefined && mistake === "get-none") return { text: "None\n" };
        return { text: `${value ?? "Not exist!"}\n` };
      }
      const old = store.get(key);
      const existed = store.delete(key);
      if (old !== undefined && mistake === "list-keeps-deleted") deletedOf(store).set(key, old);
      return {
        text: existed || mistake === "delete-always-success" ? "Success!\n" : "Not exist!\n",
      };
    }
    case "LIST": {
      if (fields.length !== 1) return error("usage: LIST");
      const end = mistake === "list-no-empty-line" ? "" : "\n";
      if (store.size === 0) {
        const silent = mistake === "list-empty-nothing" || mistake === "missing-silent";
        return { text: silent ? "" : `Not exist!\n${end}` };
      }
      if (mistake === "list-dict") {
        return { text: `{${[...store].map(([k, v]) => `'${k}': '${v}'`).join(", ")}}\n${end}` };
      }
      const pairs = [...store].map(([k, v]) => `${k}, ${v}\n`).join("") +
        [...deletedOf(store)].map(([k, v]) => `${k}, ${v}\n`).join("");
      if (mistake === "list-glued") return { text: `${pairs.replaceAll("\n", "")}\n${end}` };
      return { text: (mistake === "list-twice" ? pairs + pairs : pairs) + end };
    }
    case "PING":
      if (mistake === "no-ping") break;
      return fields.length === 1 ? { text: "PONG\n" } : error("usage: PING");
    case "QUIT":
      return fields.length === 1
        ? { text: "Bye!\n", close: mistake !== "quit-stays-open" }
        : error("usage: QUIT");
  }
  return error(`unknown command ${JSON.stringify(word.slice(0, 40))}`);
}

// "list-keeps-deleted": the pairs a store's DELETE took, which its LIST still shows.
const DELETED = new WeakMap<Map<string, string>, Map<string, string>>();

function deletedOf(store: Map<string, string>): Map<string, string> {
  let deleted = DELETED.get(store);
  if (deleted === undefined) DELETED.set(store, deleted = new Map());
  return deleted;
}
