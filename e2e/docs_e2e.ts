/**
 * The README's claims about kv, held to the code: the repo paths README.md,
 * README.ko.md and BENCHMARKS.md name exist; the "Where things are" map
 * names every top-level folder and only files that exist; each subcommand's
 * options table lists exactly the flags of its spec (cli/*.ts) with the
 * defaults its help shows, and every `kv SUBCOMMAND --flag` the READMEs give
 * is one the subcommand takes; a default quoted in prose (`--flag` (N))
 * equals the code's; the exit codes' table has the statuses of `EXIT`
 * (cli/exit.ts); `kv check` output quoted in code blocks has the rules' own
 * words; and the count of deliberately broken servers is testing/student_servers.ts's.
 *
 * It reads files, so it needs `--allow-read=.` (the docs, and whether each
 * path they name exists) and nothing more:
 *
 *     deno test --allow-read=. e2e/docs_e2e.ts
 *
 * Wording elsewhere in the READMEs may change freely: only names (paths,
 * flags, rule ids), numbers (defaults, exit codes) and quoted texts are held.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { BENCH_SPEC } from "../cli/bench.ts";
import { CHECK_SPEC } from "../cli/check.ts";
import { CLIENT_SPEC } from "../cli/client.ts";
import { EXIT } from "../cli/exit.ts";
import { type CommandSpec, flagOf, helpText, type Option } from "../cli/options.ts";
import { REPAIR_SPEC } from "../cli/repair.ts";
import { SERVE_SPEC } from "../cli/serve.ts";
import { RULES } from "../check/rules.ts";

const READMES = ["README.md", "README.ko.md"] as const;
const DOCS = [...READMES, "BENCHMARKS.md"] as const;

// deno-lint-ignore no-explicit-any
type AnySpec = CommandSpec<Record<string, Option<any>>>;
const SPECS: Record<string, AnySpec> = {
  serve: SERVE_SPEC,
  client: CLIENT_SPEC,
  check: CHECK_SPEC,
  bench: BENCH_SPEC,
  repair: REPAIR_SPEC,
};

const ROOT = new URL("../", import.meta.url);

function read(name: string): string {
  return Deno.readTextFileSync(new URL(name, ROOT));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(new URL(path, ROOT));
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** The top-level folders of the repository (not the hidden ones). */
function topFolders(): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(ROOT)) {
    if (entry.isDirectory && !entry.name.startsWith(".")) names.push(entry.name);
  }
  return names.sort();
}

/** `{ line, text }` of each line, with `code` true inside a fenced block. */
function linesOf(text: string): { line: number; text: string; code: boolean }[] {
  let code = false;
  return text.split("\n").map((line, index) => {
    if (line.startsWith("```")) {
      code = !code;
      return { line: index + 1, text: line, code: false };
    }
    return { line: index + 1, text: line, code };
  });
}

/** The lines of the section under the first heading that `heading` matches, up to the next of its level or above. */
function section(text: string, heading: RegExp): string[] {
  const lines = linesOf(text);
  const start = lines.findIndex((line) => !line.code && heading.test(line.text));
  if (start < 0) throw new Error(`no heading ${heading}`);
  const level = lines[start]!.text.match(/^#+/)![0].length;
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const hashes = line.code ? undefined : line.text.match(/^(#+) /)?.[1];
    if (hashes !== undefined && hashes.length <= level) break;
    out.push(line.text);
  }
  return out;
}

/** The tables in `lines`: the cells of each row, the header and separator rows left out. */
function tables(lines: string[]): string[][][] {
  const found: string[][][] = [];
  let rows: string[][] | undefined;
  for (const line of [...lines, ""]) {
    if (!line.startsWith("|")) {
      if (rows !== undefined) found.push(rows.slice(1)); // the header
      rows = undefined;
      continue;
    }
    if (/^\|[\s|:-]+\|$/.test(line)) continue;
    (rows ??= []).push(line.slice(1, -1).split(" | ").map((cell) => cell.trim()));
  }
  return found;
}

/** The first table in `lines` whose rows all start as `first` says. */
function table(lines: string[], first: RegExp = /./): string[][] {
  const found = tables(lines).find((rows) => rows.every(([cell]) => first.test(cell!)));
  if (found === undefined) throw new Error(`no table of rows starting ${first}`);
  return found;
}

// ---------------------------------------------------------------------------
// Paths

// A repo path: one of the repository's top-level folders, then a path, not
// inside another path (`../kv/testing/x.ts` is another checkout's).
const FOLDERS = topFolders();
const PATH_REGEXP = new RegExp(
  String.raw`(?<![\w./-])((?:${
    [...FOLDERS, ".ci", ".github"].map((name) => name.replace(".", "\\.")).join("|")
  })/[\w./-]*[\w/])`,
  "g",
);

Deno.test("every repo path README.md, README.ko.md and BENCHMARKS.md name exists", () => {
  const missing: string[] = [];
  for (const doc of DOCS) {
    for (const { line, text } of linesOf(read(doc))) {
      for (const [, path] of text.matchAll(PATH_REGEXP)) {
        // Placeholders (cli/NAME.ts) and files kv makes at run time (data/kv.log) are no repo paths.
        if (/[A-Z]{2,}/.test(path!.split("/").at(-1)!) || path!.startsWith("data/")) continue;
        if (!exists(path!)) missing.push(`${doc}:${line}: ${path}`);
      }
    }
  }
  assertEquals(missing, []);
});

for (const doc of READMES) {
  Deno.test(`${doc}'s map ("Where things are") names every top-level folder, and files that exist`, () => {
    const rows = table(section(read(doc), /^### (Where things are|어디에 무엇이 있나)/));
    const mapped = rows.map(([folder]) => folder!.replaceAll("`", ""));
    const missing: string[] = [];
    for (const folder of FOLDERS) {
      if (!mapped.includes(`${folder}/`)) missing.push(`folder ${folder}/ is not in the map`);
    }
    for (const [cell, holds] of rows) {
      const folder = cell!.replaceAll("`", "");
      if (!exists(folder)) missing.push(`folder ${folder} does not exist`);
      for (const [, name] of holds!.matchAll(/`([\w./-]+\.(?:ts|py|json)|[\w-]+\/)`/g)) {
        // A bare name is the folder's own (or a subfolder's, with its folder in it).
        const path = name!.includes("/") && FOLDERS.includes(name!.split("/")[0]!)
          ? name!
          : folder + name;
        if (!exists(path)) missing.push(`${folder}: ${name} (${path}) does not exist`);
      }
    }
    assertEquals(missing, []);
  });
}

// ---------------------------------------------------------------------------
// Flags and defaults

// The subcommands' sections, by the start of their heading (both languages).
const SECTIONS: Record<string, RegExp> = {
  serve: /^### `kv serve/,
  client: /^### `kv client/,
  check: /^### `kv check/,
  bench: /^### `kv bench/,
};

/** `-p, --port` -> ["-p", "--port"]; the value placeholders dropped. */
function flagsOfCell(cell: string): string[] {
  return [...cell.matchAll(/(?<![\w-])(--?[a-zA-Z][\w-]*)/g)].map((match) => match[1]!);
}

/** The flags of one option, `-h`/`--help` aside. */
function flagsOf(name: string, option: Option<unknown>): string[] {
  return option.short ? [`-${option.short}`, flagOf(name)] : [flagOf(name)];
}

/** The `[default: X]` texts of one option's line(s) in the help. */
function helpDefaults(spec: AnySpec, name: string): string[] {
  const help = helpText(spec);
  const start = help.split("\n").find((line) =>
    new RegExp(String.raw`^\s+(-\w, )?${flagOf(name)}(?![\w-])`).test(line)
  );
  if (start === undefined) throw new Error(`${flagOf(name)} is not in kv ${spec.name}'s help`);
  return [...start.matchAll(/\[default: ([^\]]+)\]/g)].map((match) => match[1]!);
}

// A size in a default quoted in prose (`--max-line-bytes` (1 MiB)), in the flag's bytes; a time
// is in the flag's own unit (`--pause-ms` (300 ms), `--timeout` (1 second)).
const UNITS: Record<string, number> = { KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 };

for (const doc of READMES) {
  for (const [name, heading] of Object.entries(SECTIONS)) {
    Deno.test(`${doc}: kv ${name}'s options table has its spec's flags and the help's defaults`, () => {
      const spec = SPECS[name]!;
      const rows = table(section(read(doc), heading), /^`-/);
      const documented = new Map<string, string>(); // flag -> default cell
      for (const [flags, fallback] of rows) {
        for (const flag of flagsOfCell(flags!)) documented.set(flag, fallback!);
      }
      const wrong: string[] = [];
      const declared = new Set(["-h", "--help"]);
      for (const [option, declaration] of Object.entries(spec.options)) {
        for (const flag of flagsOf(option, declaration)) {
          declared.add(flag);
          if (!documented.has(flag)) wrong.push(`${flag} is not in the table`);
        }
        const cell = documented.get(flagOf(option));
        if (cell === undefined) continue;
        const defaults = helpDefaults(spec, option);
        // Each default the help shows is in the cell; a cell with no default, a switch or
        // an option without one.
        const values = [...cell.matchAll(/`([^`]*)`/g)].map((match) => match[1]!)
          .filter((value) => !value.startsWith("-"));
        if (values.length === 0 && /^[\w.:]+$/.test(cell) && !/^(off)$/.test(cell)) {
          values.push(cell);
        }
        const shown = defaults.map((text) => text.split(/[ ,]/)[0]!);
        for (const value of shown) {
          if (!values.includes(value)) {
            wrong.push(`${flagOf(option)}: the help's default ${value}, the table's "${cell}"`);
          }
        }
        for (const value of values) {
          if (!defaults.some((text) => text.split(/[\s,]+/).includes(value))) {
            wrong.push(
              `${flagOf(option)}: the table's default ${value}, the help's ${
                JSON.stringify(defaults)
              }`,
            );
          }
        }
      }
      for (const flag of documented.keys()) {
        if (!declared.has(flag)) {
          wrong.push(`${flag} is in the table, but kv ${name} has no such option`);
        }
      }
      assertEquals(wrong, []);
    });
  }

  Deno.test(`${doc}: every kv SUBCOMMAND --flag it gives is one that subcommand takes`, () => {
    const wrong: string[] = [];
    // `kv client ...`, `main.ts serve ...`, `deno task check ...`, `./kv bench ...`, up to the
    // end of the code span or the line, or a shell's | ; && or #.
    const command = /(?:\bkv|main\.ts|deno task) (serve|client|check|bench|repair)\b([^`|;&#\n]*)/g;
    for (const { line, text } of linesOf(read(doc))) {
      for (const [, name, rest] of text.matchAll(command)) {
        const spec = SPECS[name!]!;
        const takes = new Set(["-h", "--help"]);
        for (const [option, declaration] of Object.entries(spec.options)) {
          for (const flag of flagsOf(option, declaration)) takes.add(flag);
        }
        for (const [, flag] of rest!.matchAll(/(?<![\w-])(--[a-z][\w-]*|-[a-zA-Z])(?![\w-])/g)) {
          if (!takes.has(flag!)) wrong.push(`${doc}:${line}: kv ${name} ${flag}`);
        }
      }
    }
    assertEquals(wrong, []);
  });

  Deno.test(`${doc}: a default quoted beside its flag, \`--flag\` (N), is the code's`, () => {
    const wrong: string[] = [];
    let current: string | undefined;
    for (const { line, text, code } of linesOf(read(doc))) {
      if (!code && /^##+ /.test(text)) {
        current = Object.entries(SECTIONS).find(([, heading]) => heading.test(text))?.[0];
      }
      const quoted = /`(--[a-z][\w-]*)(?: [A-Z]+)?` ?\((\d[\d,]*)(?: ?(ms|s|seconds?|[KMG]iB)\b)?/g;
      for (const [, flag, number, unit] of text.matchAll(quoted)) {
        // The section's subcommand, or else every subcommand with that flag.
        const specs = (current !== undefined ? [SPECS[current]!] : Object.values(SPECS)).filter(
          (spec) => Object.keys(spec.options).some((option) => flagOf(option) === flag),
        );
        if (specs.length === 0) continue; // A flag of another tool, or with no default
        const value = String(Number(number!.replaceAll(",", "")) * (UNITS[unit ?? ""] ?? 1));
        const ok = specs.some((spec) => {
          const option = Object.keys(spec.options).find((option) => flagOf(option) === flag)!;
          return helpDefaults(spec, option).some((text) => text.split(/[\s,]+/).includes(value));
        });
        if (!ok) wrong.push(`${doc}:${line}: ${flag} (${number})`);
      }
    }
    assertEquals(wrong, []);
  });
}

// ---------------------------------------------------------------------------
// Exit codes

for (const doc of READMES) {
  Deno.test(`${doc}: the exit codes' table has EXIT's statuses (cli/exit.ts)`, () => {
    const rows = table(section(read(doc), /^### (Exit codes|종료 코드)/));
    const statuses = rows.map(([status]) => Number(status));
    assertEquals(statuses, [...new Set(Object.values(EXIT))].sort((a, b) => a - b));
  });
}

// ---------------------------------------------------------------------------
// Texts quoted verbatim

Deno.test("kv check's rule lines quoted in the READMEs' code blocks are the rules' own words", () => {
  const wrong: string[] = [];
  for (const doc of READMES) {
    for (const { line, text, code } of linesOf(read(doc))) {
      const match = code ? text.match(/^(PASS|FAIL|SKIP) {2}(\S+) +(.*)$/) : null;
      if (match === null) continue;
      const [, , id, words] = match;
      const rule = RULES.find((rule) => rule.id === id);
      const texts = rule === undefined
        ? []
        : [rule.text, rule.udpText].flatMap((text) => text ? [text.en, text.ko] : []);
      if (!texts.includes(words!)) wrong.push(`${doc}:${line}: ${id} ${words}`);
    }
  }
  assertEquals(wrong, []);
});

Deno.test("the READMEs count the broken servers of testing/student_servers.ts as its Mistake type does", () => {
  const source = read("testing/student_servers.ts");
  const union = source.match(/export type Mistake =([^;]*);/)?.[1] ?? "";
  const mistakes = [...union.matchAll(/^\s*\| "[\w-]+"/gm)].length;
  const counts = [
    ...read("README.md").matchAll(/(\d+) deliberately broken servers/g),
    ...read("README.ko.md").matchAll(/일부러 망가뜨린 서버 (\d+)개/g),
  ].map((match) => Number(match[1]));
  assertEquals(counts, [mistakes, mistakes]);
});
