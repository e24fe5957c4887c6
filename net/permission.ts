/**
 * The words for a permission Deno refused kv (`Deno.errors.NotCapable`),
 * in one place: every "permission denied (...)" line that says how to get
 * the permission comes from {@linkcode permissionDenied}.
 *
 * Run with `deno run`, the user can add the flag. A `deno compile`d binary
 * ({@linkcode Deno.build.standalone}) has its permissions fixed when it was
 * compiled and takes no flag at run time: the line says that this binary was
 * compiled without the permission, and how to compile one with it.
 *
 * A refusal by the operating system (`Deno.errors.PermissionDenied`: a
 * file's mode or owner, a firewall) is not this: no flag helps there.
 *
 * @module
 */

/** What else a {@linkcode permissionDenied} line says, besides the flags. */
export interface PermissionWords {
  /** The language of the line. @default {"en"} */
  lang?: "en" | "ko";
  /** Said first, in the parentheses: `"it links to /srv/kv.log: "`. */
  before?: string;
  /** Said right after the flags: why they are needed, `": the client binds a local port"`. */
  why?: string;
  /** Another way to do without the permission: `"write it with --junit - > report.xml"`. */
  or?: string;
}

/**
 * `permission denied (...)` (in Korean, `권한이 없습니다(...)`), saying how
 * to get `flags` (Deno's flags that grant what was refused, such as
 * `["--allow-read=data", "--allow-write=data"]`): run with them, or, in a
 * compiled binary (`standalone`, from {@linkcode Deno.build.standalone}),
 * compile one with them.
 *
 * @example Run with `deno run`, and as a compiled binary
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { permissionDenied } from "./permission.ts";
 *
 * assertEquals(
 *   permissionDenied(["--allow-read=kv.password"], false),
 *   "permission denied (run with --allow-read=kv.password)",
 * );
 * assertEquals(
 *   permissionDenied(["--allow-read=kv.password"], true),
 *   "permission denied (this kv binary was compiled without --allow-read=kv.password; " +
 *     "compile one with it: deno compile --allow-net --allow-read=kv.password -o kv main.ts)",
 * );
 * ```
 */
export function permissionDenied(
  flags: readonly string[],
  standalone: boolean,
  words: PermissionWords = {},
): string {
  const { lang = "en", before = "", why = "", or } = words;
  const list = flags.join(" ");
  // A binary needs --allow-net whatever else it is compiled with.
  const compile = `deno compile ${
    [...(flags.some((flag) => flag.startsWith("--allow-net")) ? [] : ["--allow-net"]), ...flags]
      .join(" ")
  } -o kv main.ts`;
  if (lang === "ko") {
    if (standalone) {
      return `권한이 없습니다(${before}이 kv 실행 파일은 ${list} 권한 없이 컴파일되었습니다${why}. ` +
        `${compile}로 다시 컴파일하${or === undefined ? "세요" : `거나, ${or}`})`;
    }
    // "--allow-net" reads 넷, which takes 으로; "옵션을 주고" needs no particle after any flag.
    const run = or !== undefined
      ? `${list}${why} 옵션을 주고 실행하거나, ${or}`
      : list === "--allow-net"
      ? `${list}으로 실행하세요${why}`
      : `${list} 옵션을 주고 실행하세요${why}`;
    return `권한이 없습니다(${before}${run})`;
  }
  const alternative = or === undefined ? "" : `, or ${or}`;
  if (standalone) {
    const them = flags.length === 1 ? "it" : "them";
    return `permission denied (${before}this kv binary was compiled without ${list}${why}; ` +
      `compile one with ${them}: ${compile}${alternative})`;
  }
  return `permission denied (${before}run with ${list}${why}${alternative})`;
}
