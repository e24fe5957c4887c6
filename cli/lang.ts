/**
 * The language `kv check`'s report and `kv client`'s notes and hints are
 * in: `--lang en` or `--lang ko`, and the default when it is not given.
 *
 * @module
 */

import type { Lang } from "../check/rule.ts";

export type { Lang };

/**
 * The language when `--lang` is not given: Korean where the system's
 * locale (`language`) is Korean. `navigator.language` needs no permission.
 */
export function defaultLang(language = globalThis.navigator?.language ?? ""): Lang {
  return language.toLowerCase().startsWith("ko") ? "ko" : "en";
}
