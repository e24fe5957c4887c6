/**
 * kv's version, read once from deno.json: `kv --version`, INFO's
 * `kv_version`, HELLO's `version` and `kv check`'s reports all say this.
 *
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };

/** The version of kv, as deno.json states it. */
export const VERSION: string = denoJson.version;
