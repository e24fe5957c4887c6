/**
 * The exit statuses of the whole `kv` command, one table for every
 * subcommand (README, Exit codes).
 *
 * @module
 */

/**
 * | status | meaning |
 * | --- | --- |
 * | 0 `ok` | it did what was asked: a clean shutdown, every answer right, `--help` |
 * | 1 `failed` | it ran, and something went wrong: `kv serve` could not listen or cut connections at shutdown; `kv client` got an `Error:` answer, none in time, or one a close cut off; `kv bench` saw a wrong answer |
 * | 2 `usage` | the command line was wrong, or (`kv client`, `kv bench`, `kv check`) the server could not be reached, or `kv client` lost the connection before every answer came, or (not at its prompt, which says so and goes on) got an answer line that is not UTF-8, or `kv check`'s server answered nothing (no rule ran) |
 * | 130 `interrupted` | stopped with Ctrl-C, as shells report SIGINT: `kv check` (it still deleted its keys), or `kv client`'s prompt while it waited for an answer |
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  unreachable: 2,
  interrupted: 130,
} as const;
