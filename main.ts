/**
 * The `kv` executable: `kv serve`, `kv client`, `kv bench`, `kv check`,
 * `kv repair`. Everything it does is in cli/ (`cli/main.ts` lists the
 * subcommands); this file only runs it with the process's arguments.
 *
 * @module
 */

import { main } from "./cli/main.ts";

export { main };
export type { MainIo } from "./cli/io.ts";
export type { LineEditor } from "./cli/line_editor.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
