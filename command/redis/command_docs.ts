/**
 * `COMMAND DOCS`'s answer for one command: its summary, and what Redis
 * 7.0.15 says of it besides (docs.json: since, complexity, history,
 * deprecation, arguments, and for CLIENT, COMMAND and CONFIG the
 * subcommands kv has, CLIENT SETINFO's as Redis 7.2 has it less the option
 * kv does not take), in the RESP types Redis answers them with. The data is
 * copied from Debian's redis-server 7.0.15 field for field and in its order;
 * e2e/redis_cli_e2e.ts checks it against the redis-server installed.
 * redis-cli builds its help (`help SET`) and the hints it shows while a
 * command is typed from these arguments: without them it shows `SET` and
 * nothing after it.
 *
 * @module
 */

import type { RedisCommand } from "../command.ts";
import type { RedisReply } from "../reply.ts";
import DOCS from "./docs.json" with { type: "json" };

/** A field's value: text, a number (`key_spec_index`), a list, or fields. */
type DocValue = string | number | readonly DocValue[] | DocFields;
/** Named fields, answered as a map in this order. */
type DocFields = { readonly [field: string]: DocValue };
// JSON's inferred types know nothing of the recursion: the e2e test checks the data.
const COMMAND_DOCS = DOCS as unknown as Readonly<Record<string, DocFields>>;

/** `name` and its doc fields as a map: summary, since and group first, as Redis orders them. */
export function replyDocs(reply: RedisReply, command: RedisCommand, group: string): void {
  const name = command.name.toLowerCase();
  const { since, ...rest } = COMMAND_DOCS[name] ?? {};
  const fields = Object.entries(rest);
  reply.bulk(name);
  reply.map(3 + fields.length);
  reply.bulk("summary");
  reply.bulk(command.summary);
  reply.bulk("since");
  docValue(reply, "since", since ?? "");
  reply.bulk("group");
  reply.bulk(group);
  for (const [field, value] of fields) {
    reply.bulk(field);
    docValue(reply, field, value);
  }
}

/** One field of COMMAND DOCS, in the RESP types Redis 7 answers it with. */
function docValue(reply: RedisReply, field: string, value: DocValue): void {
  if (typeof value === "number") return reply.integer(value);
  if (typeof value === "string") return reply.bulk(value);
  if (isList(value)) {
    if (field === "flags" || field === "doc_flags") {
      reply.set(value.length);
      for (const flag of value) reply.simple(String(flag));
    } else if (field === "history") {
      reply.set(value.length);
      for (const entry of value) docValue(reply, "", entry);
    } else {
      reply.array(value.length);
      for (const item of value) docValue(reply, "", item);
    }
    return;
  }
  const fields = Object.entries(value);
  reply.map(fields.length);
  for (const [name, item] of fields) {
    reply.bulk(name);
    docValue(reply, name, item);
  }
}

function isList(value: DocValue): value is readonly DocValue[] {
  return Array.isArray(value);
}
