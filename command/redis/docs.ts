/**
 * What Redis 7.0.15's `COMMAND DOCS` says of each command kv has, besides
 * its summary and group (the command's own `summary`, and its group in
 * mod.ts): since, complexity, history, deprecation, arguments, and for
 * CLIENT, COMMAND and CONFIG the subcommands kv has (CLIENT SETINFO's as
 * Redis 7.2 has it, less the option kv does not take). Copied from Debian's
 * redis-server 7.0.15, field for field and in its order;
 * e2e/redis_cli_e2e.ts checks it against the redis-server installed.
 *
 * redis-cli builds its help (`help SET`) and the hints it shows while a
 * command is typed from these arguments: without them it shows `SET` and
 * nothing after it.
 *
 * @module
 */

/** A field's value: text, a number (`key_spec_index`), a list, or fields. */
export type DocValue = string | number | readonly DocValue[] | DocFields;
/** Named fields, answered as a map in this order. */
export type DocFields = { readonly [field: string]: DocValue };

/** Each command's doc fields after `summary` (`since` first, then `group` goes in), by lower-case name. */
export const COMMAND_DOCS: Readonly<Record<string, DocFields>> = {
  "ping": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "message",
        "type": "string",
        "flags": [
          "optional",
        ],
      },
    ],
  },
  "echo": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "message",
        "type": "string",
      },
    ],
  },
  "hello": {
    "since": "6.0.0",
    "complexity": "O(1)",
    "history": [
      [
        "6.2.0",
        "`protover` made optional; when called without arguments the command reports the current connection's context.",
      ],
    ],
    "arguments": [
      {
        "name": "arguments",
        "type": "block",
        "flags": [
          "optional",
        ],
        "arguments": [
          {
            "name": "protover",
            "type": "integer",
          },
          {
            "name": "username_password",
            "type": "block",
            "token": "AUTH",
            "flags": [
              "optional",
            ],
            "arguments": [
              {
                "name": "username",
                "type": "string",
              },
              {
                "name": "password",
                "type": "string",
              },
            ],
          },
          {
            "name": "clientname",
            "type": "string",
            "token": "SETNAME",
            "flags": [
              "optional",
            ],
          },
        ],
      },
    ],
  },
  "quit": {
    "since": "1.0.0",
    "complexity": "O(1)",
  },
  "select": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "index",
        "type": "integer",
      },
    ],
  },
  "client": {
    "since": "2.4.0",
    "complexity": "Depends on subcommand.",
    "subcommands": {
      "client|id": {
        "summary": "Returns the client ID for the current connection",
        "since": "5.0.0",
        "group": "connection",
        "complexity": "O(1)",
      },
      "client|getname": {
        "summary": "Get the current connection name",
        "since": "2.6.9",
        "group": "connection",
        "complexity": "O(1)",
      },
      "client|info": {
        "summary": "Returns information about the current client connection.",
        "since": "6.2.0",
        "group": "connection",
        "complexity": "O(1)",
      },
      "client|setname": {
        "summary": "Set the current connection name",
        "since": "2.6.9",
        "group": "connection",
        "complexity": "O(1)",
        "arguments": [
          {
            "name": "connection-name",
            "type": "string",
          },
        ],
      },
      "client|setinfo": {
        "summary": "Sets information specific to the client or connection.",
        "since": "7.2.0",
        "group": "connection",
        "complexity": "O(1)",
        "arguments": [
          {
            "name": "attr",
            "type": "oneof",
            "arguments": [
              {
                "name": "libname",
                "type": "string",
                "token": "lib-name",
              },
              {
                "name": "libver",
                "type": "string",
                "token": "lib-ver",
              },
            ],
          },
        ],
      },
      "client|help": {
        "summary": "Show helpful text about the different subcommands",
        "since": "5.0.0",
        "group": "connection",
        "complexity": "O(1)",
      },
    },
  },
  "auth": {
    "since": "1.0.0",
    "complexity": "O(N) where N is the number of passwords defined for the user",
    "history": [
      [
        "6.0.0",
        "Added ACL style (username and password).",
      ],
    ],
    "arguments": [
      {
        "name": "username",
        "type": "string",
        "since": "6.0.0",
        "flags": [
          "optional",
        ],
      },
      {
        "name": "password",
        "type": "string",
      },
    ],
  },
  "del": {
    "since": "1.0.0",
    "complexity":
      "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
        "flags": [
          "multiple",
        ],
      },
    ],
  },
  "unlink": {
    "since": "4.0.0",
    "complexity":
      "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
        "flags": [
          "multiple",
        ],
      },
    ],
  },
  "exists": {
    "since": "1.0.0",
    "complexity": "O(N) where N is the number of keys to check.",
    "history": [
      [
        "3.0.3",
        "Accepts multiple `key` arguments.",
      ],
    ],
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
        "flags": [
          "multiple",
        ],
      },
    ],
  },
  "touch": {
    "since": "3.2.1",
    "complexity": "O(N) where N is the number of keys that will be touched.",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
        "flags": [
          "multiple",
        ],
      },
    ],
  },
  "type": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
    ],
  },
  "rename": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "newkey",
        "type": "key",
        "key_spec_index": 1,
      },
    ],
  },
  "renamenx": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "history": [
      [
        "3.2.0",
        "The command no longer returns an error when source and destination names are the same.",
      ],
    ],
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "newkey",
        "type": "key",
        "key_spec_index": 1,
      },
    ],
  },
  "keys": {
    "since": "1.0.0",
    "complexity":
      "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
    "arguments": [
      {
        "name": "pattern",
        "type": "pattern",
      },
    ],
  },
  "scan": {
    "since": "2.8.0",
    "complexity":
      "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
    "history": [
      [
        "6.0.0",
        "Added the `TYPE` subcommand.",
      ],
    ],
    "arguments": [
      {
        "name": "cursor",
        "type": "integer",
      },
      {
        "name": "pattern",
        "type": "pattern",
        "token": "MATCH",
        "flags": [
          "optional",
        ],
      },
      {
        "name": "count",
        "type": "integer",
        "token": "COUNT",
        "flags": [
          "optional",
        ],
      },
      {
        "name": "type",
        "type": "string",
        "token": "TYPE",
        "since": "6.0.0",
        "flags": [
          "optional",
        ],
      },
    ],
  },
  "expire": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "history": [
      [
        "7.0.0",
        "Added options: `NX`, `XX`, `GT` and `LT`.",
      ],
    ],
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "seconds",
        "type": "integer",
      },
      {
        "name": "condition",
        "type": "oneof",
        "since": "7.0.0",
        "flags": [
          "optional",
        ],
        "arguments": [
          {
            "name": "nx",
            "type": "pure-token",
            "token": "NX",
          },
          {
            "name": "xx",
            "type": "pure-token",
            "token": "XX",
          },
          {
            "name": "gt",
            "type": "pure-token",
            "token": "GT",
          },
          {
            "name": "lt",
            "type": "pure-token",
            "token": "LT",
          },
        ],
      },
    ],
  },
  "pexpire": {
    "since": "2.6.0",
    "complexity": "O(1)",
    "history": [
      [
        "7.0.0",
        "Added options: `NX`, `XX`, `GT` and `LT`.",
      ],
    ],
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "milliseconds",
        "type": "integer",
      },
      {
        "name": "condition",
        "type": "oneof",
        "since": "7.0.0",
        "flags": [
          "optional",
        ],
        "arguments": [
          {
            "name": "nx",
            "type": "pure-token",
            "token": "NX",
          },
          {
            "name": "xx",
            "type": "pure-token",
            "token": "XX",
          },
          {
            "name": "gt",
            "type": "pure-token",
            "token": "GT",
          },
          {
            "name": "lt",
            "type": "pure-token",
            "token": "LT",
          },
        ],
      },
    ],
  },
  "expireat": {
    "since": "1.2.0",
    "complexity": "O(1)",
    "history": [
      [
        "7.0.0",
        "Added options: `NX`, `XX`, `GT` and `LT`.",
      ],
    ],
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "unix-time-seconds",
        "type": "unix-time",
      },
      {
        "name": "condition",
        "type": "oneof",
        "since": "7.0.0",
        "flags": [
          "optional",
        ],
        "arguments": [
          {
            "name": "nx",
            "type": "pure-token",
            "token": "NX",
          },
          {
            "name": "xx",
            "type": "pure-token",
            "token": "XX",
          },
          {
            "name": "gt",
            "type": "pure-token",
            "token": "GT",
          },
          {
            "name": "lt",
            "type": "pure-token",
            "token": "LT",
          },
        ],
      },
    ],
  },
  "pexpireat": {
    "since": "2.6.0",
    "complexity": "O(1)",
    "history": [
      [
        "7.0.0",
        "Added options: `NX`, `XX`, `GT` and `LT`.",
      ],
    ],
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "unix-time-milliseconds",
        "type": "unix-time",
      },
      {
        "name": "condition",
        "type": "oneof",
        "since": "7.0.0",
        "flags": [
          "optional",
        ],
        "arguments": [
          {
            "name": "nx",
            "type": "pure-token",
            "token": "NX",
          },
          {
            "name": "xx",
            "type": "pure-token",
            "token": "XX",
          },
          {
            "name": "gt",
            "type": "pure-token",
            "token": "GT",
          },
          {
            "name": "lt",
            "type": "pure-token",
            "token": "LT",
          },
        ],
      },
    ],
  },
  "ttl": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "history": [
      [
        "2.8.0",
        "Added the -2 reply.",
      ],
    ],
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
    ],
  },
  "pttl": {
    "since": "2.6.0",
    "complexity": "O(1)",
    "history": [
      [
        "2.8.0",
        "Added the -2 reply.",
      ],
    ],
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
    ],
  },
  "expiretime": {
    "since": "7.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
    ],
  },
  "pexpiretime": {
    "since": "7.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
    ],
  },
  "persist": {
    "since": "2.2.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
    ],
  },
  "get": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
    ],
  },
  "set": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "history": [
      [
        "2.6.12",
        "Added the `EX`, `PX`, `NX` and `XX` options.",
      ],
      [
        "6.0.0",
        "Added the `KEEPTTL` option.",
      ],
      [
        "6.2.0",
        "Added the `GET`, `EXAT` and `PXAT` option.",
      ],
      [
        "7.0.0",
        "Allowed the `NX` and `GET` options to be used together.",
      ],
    ],
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "value",
        "type": "string",
      },
      {
        "name": "condition",
        "type": "oneof",
        "since": "2.6.12",
        "flags": [
          "optional",
        ],
        "arguments": [
          {
            "name": "nx",
            "type": "pure-token",
            "token": "NX",
          },
          {
            "name": "xx",
            "type": "pure-token",
            "token": "XX",
          },
        ],
      },
      {
        "name": "get",
        "type": "pure-token",
        "token": "GET",
        "since": "6.2.0",
        "flags": [
          "optional",
        ],
      },
      {
        "name": "expiration",
        "type": "oneof",
        "flags": [
          "optional",
        ],
        "arguments": [
          {
            "name": "seconds",
            "type": "integer",
            "token": "EX",
            "since": "2.6.12",
          },
          {
            "name": "milliseconds",
            "type": "integer",
            "token": "PX",
            "since": "2.6.12",
          },
          {
            "name": "unix-time-seconds",
            "type": "unix-time",
            "token": "EXAT",
            "since": "6.2.0",
          },
          {
            "name": "unix-time-milliseconds",
            "type": "unix-time",
            "token": "PXAT",
            "since": "6.2.0",
          },
          {
            "name": "keepttl",
            "type": "pure-token",
            "token": "KEEPTTL",
            "since": "6.0.0",
          },
        ],
      },
    ],
  },
  "setnx": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "value",
        "type": "string",
      },
    ],
  },
  "getdel": {
    "since": "6.2.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
    ],
  },
  "mget": {
    "since": "1.0.0",
    "complexity": "O(N) where N is the number of keys to retrieve.",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
        "flags": [
          "multiple",
        ],
      },
    ],
  },
  "mset": {
    "since": "1.0.1",
    "complexity": "O(N) where N is the number of keys to set.",
    "arguments": [
      {
        "name": "key_value",
        "type": "block",
        "flags": [
          "multiple",
        ],
        "arguments": [
          {
            "name": "key",
            "type": "key",
            "key_spec_index": 0,
          },
          {
            "name": "value",
            "type": "string",
          },
        ],
      },
    ],
  },
  "msetnx": {
    "since": "1.0.1",
    "complexity": "O(N) where N is the number of keys to set.",
    "arguments": [
      {
        "name": "key_value",
        "type": "block",
        "flags": [
          "multiple",
        ],
        "arguments": [
          {
            "name": "key",
            "type": "key",
            "key_spec_index": 0,
          },
          {
            "name": "value",
            "type": "string",
          },
        ],
      },
    ],
  },
  "append": {
    "since": "2.0.0",
    "complexity":
      "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "value",
        "type": "string",
      },
    ],
  },
  "strlen": {
    "since": "2.2.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
    ],
  },
  "incr": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
    ],
  },
  "decr": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
    ],
  },
  "incrby": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "increment",
        "type": "integer",
      },
    ],
  },
  "decrby": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "decrement",
        "type": "integer",
      },
    ],
  },
  "incrbyfloat": {
    "since": "2.6.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "increment",
        "type": "double",
      },
    ],
  },
  "setex": {
    "since": "2.0.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "seconds",
        "type": "integer",
      },
      {
        "name": "value",
        "type": "string",
      },
    ],
  },
  "psetex": {
    "since": "2.6.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "milliseconds",
        "type": "integer",
      },
      {
        "name": "value",
        "type": "string",
      },
    ],
  },
  "getset": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "doc_flags": [
      "deprecated",
    ],
    "deprecated_since": "6.2.0",
    "replaced_by": "`SET` with the `!GET` argument",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "value",
        "type": "string",
      },
    ],
  },
  "getex": {
    "since": "6.2.0",
    "complexity": "O(1)",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "expiration",
        "type": "oneof",
        "flags": [
          "optional",
        ],
        "arguments": [
          {
            "name": "seconds",
            "type": "integer",
            "token": "EX",
          },
          {
            "name": "milliseconds",
            "type": "integer",
            "token": "PX",
          },
          {
            "name": "unix-time-seconds",
            "type": "unix-time",
            "token": "EXAT",
          },
          {
            "name": "unix-time-milliseconds",
            "type": "unix-time",
            "token": "PXAT",
          },
          {
            "name": "persist",
            "type": "pure-token",
            "token": "PERSIST",
          },
        ],
      },
    ],
  },
  "getrange": {
    "since": "2.4.0",
    "complexity":
      "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "start",
        "type": "integer",
      },
      {
        "name": "end",
        "type": "integer",
      },
    ],
  },
  "substr": {
    "since": "1.0.0",
    "complexity":
      "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.",
    "doc_flags": [
      "deprecated",
    ],
    "deprecated_since": "2.0.0",
    "replaced_by": "`GETRANGE`",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "start",
        "type": "integer",
      },
      {
        "name": "end",
        "type": "integer",
      },
    ],
  },
  "setrange": {
    "since": "2.2.0",
    "complexity":
      "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
      },
      {
        "name": "offset",
        "type": "integer",
      },
      {
        "name": "value",
        "type": "string",
      },
    ],
  },
  "command": {
    "since": "2.8.13",
    "complexity": "O(N) where N is the total number of Redis commands",
    "subcommands": {
      "command|count": {
        "summary": "Get total number of Redis commands",
        "since": "2.8.13",
        "group": "server",
        "complexity": "O(1)",
      },
      "command|info": {
        "summary": "Get array of specific Redis command details, or all when no argument is given.",
        "since": "2.8.13",
        "group": "server",
        "complexity": "O(N) where N is the number of commands to look up",
        "history": [
          [
            "7.0.0",
            "Allowed to be called with no argument to get info on all commands.",
          ],
        ],
        "arguments": [
          {
            "name": "command-name",
            "type": "string",
            "flags": [
              "optional",
              "multiple",
            ],
          },
        ],
      },
      "command|docs": {
        "summary": "Get array of specific Redis command documentation",
        "since": "7.0.0",
        "group": "server",
        "complexity": "O(N) where N is the number of commands to look up",
        "arguments": [
          {
            "name": "command-name",
            "type": "string",
            "flags": [
              "optional",
              "multiple",
            ],
          },
        ],
      },
      "command|list": {
        "summary": "Get an array of Redis command names",
        "since": "7.0.0",
        "group": "server",
        "complexity": "O(N) where N is the total number of Redis commands",
        "arguments": [
          {
            "name": "filterby",
            "type": "oneof",
            "token": "FILTERBY",
            "flags": [
              "optional",
            ],
            "arguments": [
              {
                "name": "module-name",
                "type": "string",
                "token": "MODULE",
              },
              {
                "name": "category",
                "type": "string",
                "token": "ACLCAT",
              },
              {
                "name": "pattern",
                "type": "pattern",
                "token": "PATTERN",
              },
            ],
          },
        ],
      },
      "command|help": {
        "summary": "Show helpful text about the different subcommands",
        "since": "5.0.0",
        "group": "server",
        "complexity": "O(1)",
      },
    },
  },
  "info": {
    "since": "1.0.0",
    "complexity": "O(1)",
    "history": [
      [
        "7.0.0",
        "Added support for taking multiple section arguments.",
      ],
    ],
    "arguments": [
      {
        "name": "section",
        "type": "string",
        "flags": [
          "optional",
          "multiple",
        ],
      },
    ],
  },
  "config": {
    "since": "2.0.0",
    "complexity": "Depends on subcommand.",
    "subcommands": {
      "config|get": {
        "summary": "Get the values of configuration parameters",
        "since": "2.0.0",
        "group": "server",
        "complexity": "O(N) when N is the number of configuration parameters provided",
        "history": [
          [
            "7.0.0",
            "Added the ability to pass multiple pattern parameters in one call",
          ],
        ],
        "arguments": [
          {
            "name": "parameter",
            "type": "block",
            "flags": [
              "multiple",
            ],
            "arguments": [
              {
                "name": "parameter",
                "type": "string",
              },
            ],
          },
        ],
      },
      "config|help": {
        "summary": "Show helpful text about the different subcommands",
        "since": "5.0.0",
        "group": "server",
        "complexity": "O(1)",
      },
    },
  },
  "time": {
    "since": "2.6.0",
    "complexity": "O(1)",
  },
  "dbsize": {
    "since": "1.0.0",
    "complexity": "O(1)",
  },
  "flushdb": {
    "since": "1.0.0",
    "complexity": "O(N) where N is the number of keys in the selected database",
    "history": [
      [
        "4.0.0",
        "Added the `ASYNC` flushing mode modifier.",
      ],
      [
        "6.2.0",
        "Added the `SYNC` flushing mode modifier.",
      ],
    ],
    "arguments": [
      {
        "name": "async",
        "type": "oneof",
        "flags": [
          "optional",
        ],
        "arguments": [
          {
            "name": "async",
            "type": "pure-token",
            "token": "ASYNC",
            "since": "4.0.0",
          },
          {
            "name": "sync",
            "type": "pure-token",
            "token": "SYNC",
            "since": "6.2.0",
          },
        ],
      },
    ],
  },
  "flushall": {
    "since": "1.0.0",
    "complexity": "O(N) where N is the total number of keys in all databases",
    "history": [
      [
        "4.0.0",
        "Added the `ASYNC` flushing mode modifier.",
      ],
      [
        "6.2.0",
        "Added the `SYNC` flushing mode modifier.",
      ],
    ],
    "arguments": [
      {
        "name": "async",
        "type": "oneof",
        "flags": [
          "optional",
        ],
        "arguments": [
          {
            "name": "async",
            "type": "pure-token",
            "token": "ASYNC",
            "since": "4.0.0",
          },
          {
            "name": "sync",
            "type": "pure-token",
            "token": "SYNC",
            "since": "6.2.0",
          },
        ],
      },
    ],
  },
  "multi": {
    "since": "1.2.0",
    "complexity": "O(1)",
  },
  "exec": {
    "since": "1.2.0",
    "complexity": "Depends on commands in the transaction",
  },
  "discard": {
    "since": "2.0.0",
    "complexity": "O(N), when N is the number of queued commands",
  },
  "watch": {
    "since": "2.2.0",
    "complexity": "O(1) for every key.",
    "arguments": [
      {
        "name": "key",
        "type": "key",
        "key_spec_index": 0,
        "flags": [
          "multiple",
        ],
      },
    ],
  },
  "unwatch": {
    "since": "2.2.0",
    "complexity": "O(1)",
  },
};
