/**
 * Subcommand options, declared once: each {@linkcode CommandSpec} yields the
 * subcommand's help text ({@linkcode helpText}), its parsing and its
 * validation ({@linkcode parseOptions}), so the three cannot disagree.
 *
 * @module
 */

import { parseArgs } from "@std/cli";

/** A command line that cannot be run; reported with a pointer to `--help`. */
export class UsageError extends Error {
  /** `message` says what is wrong, in the words of the help. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * A file named on the command line that kv may not or cannot use (exit 2,
 * as a usage error): the message says which and what to run, and `--help`
 * would not help, so there is no pointer to it.
 */
export class FileAccessError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = "FileAccessError";
  }
}

/** One option: how it is written, shown and checked. */
export interface Option<T> {
  /** A one-letter alias (`p` for `-p`). */
  readonly short?: string;
  /** The placeholder for its value in the help (`PORT`); none for a switch. */
  readonly value?: string;
  /** What it does, for the help. */
  readonly help: string;
  /** Its value when not given. */
  readonly fallback: T;
  /** The default as the help shows it, if any. */
  readonly shown?: string;
  /** Whether it may be given more than once; its values then reach `parse` joined by commas. */
  readonly repeatable?: boolean;
  /** Checks and converts the text given; throws {@linkcode UsageError}. */
  parse(text: string, flag: string): T;
}

/** A subcommand: its name, what it does, and its options. */
export interface CommandSpec<O extends Record<string, Option<unknown>>> {
  /** `serve`, `client`, ... */
  readonly name: string;
  /** One line: what it does. */
  readonly summary: string;
  /** Usage lines after `kv NAME`. */
  readonly usage: readonly string[];
  /** Its options, by name in camelCase (`maxConnections` is `--max-connections`). */
  readonly options: O;
  /** Whether words after the options are allowed (a request, for `kv client`). */
  readonly words?: boolean;
  /** Text after the options in the help. */
  readonly footer?: string;
}

/** Declares a subcommand; an identity function that keeps the options' types. */
export function command<O extends Record<string, Option<unknown>>>(
  spec: CommandSpec<O>,
): CommandSpec<O> {
  return spec;
}

/** The parsed values of a spec's options. */
export type Values<O extends Record<string, Option<unknown>>> = {
  [K in keyof O]: O[K] extends Option<infer T> ? T : never;
};

/** An on/off switch. */
export function flag(help: string, short?: string): Option<boolean> {
  return { help, short, fallback: false, parse: () => true };
}

/** Free text, such as a host name. */
export function text<T extends string | undefined>(
  spec: { value: string; help: string; short?: string; fallback: T },
): Option<string | T> {
  return {
    ...spec,
    shown: spec.fallback,
    parse: (value) => value,
  };
}

/** A list of words, separated by commas or given by repeating the flag. */
export function list(spec: { value: string; help: string; short?: string }): Option<string[]> {
  return {
    ...spec,
    fallback: [],
    repeatable: true,
    parse: (value) => value.split(",").map((word) => word.trim()).filter((word) => word !== ""),
  };
}

/** One of a few words. */
export function choice<const C extends string>(
  spec: {
    value: string;
    help: string;
    short?: string;
    choices: readonly C[];
    fallback: C;
    /** What the help says the default is, if not the fallback itself (one that depends on the system). */
    shown?: string;
  },
): Option<C> {
  return {
    ...spec,
    shown: spec.shown ?? spec.fallback,
    parse(value, flagName) {
      if ((spec.choices as readonly string[]).includes(value)) return value as C;
      throw new UsageError(
        `cannot use ${flagName} ${JSON.stringify(value)}: expected ${spec.choices.join(", ")}`,
      );
    },
  };
}

const INTEGER_REGEXP = /^\d{1,15}$/;
const DECIMAL_REGEXP = /^\d{1,9}(\.\d{1,9})?$/;

/** A whole number from `min` to `max`. */
export function integer<T extends number | undefined>(
  spec: { value: string; help: string; short?: string; fallback: T; min: number; max?: number },
): Option<number | T> {
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  return {
    ...spec,
    shown: spec.fallback === undefined ? undefined : String(spec.fallback),
    parse(value, flagName) {
      const number = Number(value);
      if (!INTEGER_REGEXP.test(value) || number < spec.min || number > max) {
        const range = max === Number.MAX_SAFE_INTEGER
          ? `of at least ${spec.min}`
          : `from ${spec.min} to ${max}`;
        throw new UsageError(
          `cannot use ${flagName} ${JSON.stringify(value)}: expected an integer ${range}`,
        );
      }
      return number;
    },
  };
}

/** A decimal number from `min` to `max` (`0.5`, `30`), with what it counts for the error. */
export function decimal<T extends number | undefined>(
  spec: {
    value: string;
    help: string;
    short?: string;
    fallback: T;
    min: number;
    max?: number;
    above?: boolean;
    example: string;
  },
): Option<number | T> {
  return {
    ...spec,
    shown: spec.fallback === undefined ? undefined : String(spec.fallback),
    parse(value, flagName) {
      const number = Number(value);
      const low = spec.above ? number <= spec.min : number < spec.min;
      if (!DECIMAL_REGEXP.test(value) || low || number > (spec.max ?? Infinity)) {
        throw new UsageError(
          `cannot use ${flagName} ${JSON.stringify(value)}: expected ${spec.example}`,
        );
      }
      return number;
    },
  };
}

/** The `--kebab-case` flag of a camelCase option name. */
export function flagOf(name: string): string {
  return `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

/** The help text of a subcommand, generated from its spec. */
export function helpText<O extends Record<string, Option<unknown>>>(spec: CommandSpec<O>): string {
  const rows = Object.entries(spec.options).map(([name, option]) => {
    const names = `${option.short ? `-${option.short}, ` : ""}${flagOf(name)}`;
    return [`${names}${option.value ? ` ${option.value}` : ""}`, option] as const;
  });
  rows.push(["-h, --help", { help: "print this help" } as Option<unknown>]);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const lines = rows.map(([left, option]) => {
    const shown = option.shown === undefined || option.shown === ""
      ? ""
      : ` [default: ${option.shown}]`;
    return `  ${left.padEnd(width)}${option.help}${shown}`;
  });
  return [
    `kv ${spec.name}: ${spec.summary}`,
    "",
    "USAGE:",
    ...spec.usage.map((line) => `  kv ${spec.name} ${line}`),
    "",
    "OPTIONS:",
    ...lines,
    ...(spec.footer ? ["", spec.footer.trimEnd()] : []),
    "",
  ].join("\n");
}

/** The result of {@linkcode parseOptions}. */
export interface Parsed<O extends Record<string, Option<unknown>>> {
  /** Each option's value (its fallback when not given). */
  values: Values<O>;
  /** Which options were given on the command line. */
  given: Set<keyof O>;
  /** The words after the options (only when the spec allows words). */
  words: string[];
  /** Whether `-h`/`--help` was given. */
  help: boolean;
}

/**
 * Parses `args` against `spec`. Unknown options and bad values throw
 * {@linkcode UsageError}. With `words`, parsing stops at the first word, so
 * a request such as `GET, -5` is kept whole.
 */
export function parseOptions<O extends Record<string, Option<unknown>>>(
  spec: CommandSpec<O>,
  args: readonly string[],
): Parsed<O> {
  const options = Object.entries(spec.options);
  const withValue = options.filter(([, option]) => option.value !== undefined);
  const flagNames = new Map<string, string>(); // flag → option name
  const alias: Record<string, string> = { h: "help" };
  for (const [name, option] of options) {
    const long = flagOf(name).slice(2);
    flagNames.set(long, name);
    if (option.short) {
      alias[option.short] = long;
      flagNames.set(option.short, name);
    }
  }
  const valueFlags = new Set(withValue.flatMap(([name, option]) => [
    flagOf(name),
    ...(option.short ? [`-${option.short}`] : []),
  ]));
  // `--port -1`: a value may start with "-"; parseArgs would take it for a flag.
  const joined: string[] = [];
  const switches = new Set([
    "--help",
    ...options.filter(([, o]) => o.value === undefined).map(([n]) => flagOf(n)),
  ]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    // `--udp=no` would turn it on (parseArgs takes any value but false as true).
    const eq = arg.indexOf("=");
    if (eq > 0 && switches.has(arg.slice(0, eq)) && !/^(true|false)$/.test(arg.slice(eq + 1))) {
      throw new UsageError(
        `${arg.slice(0, eq)} takes no value (got ${JSON.stringify(arg.slice(eq + 1))})`,
      );
    }
    if (valueFlags.has(arg) && i + 1 < args.length) joined.push(`${arg}=${args[++i]}`);
    else joined.push(arg);
    if (spec.words && !arg.startsWith("-")) {
      joined.push(...args.slice(i + 1));
      break;
    }
  }
  const parsed = parseArgs(joined, {
    string: [...withValue.map(([name]) => flagOf(name).slice(2)), "_"],
    boolean: [
      "help",
      ...options.filter(([, o]) => o.value === undefined).map(([n]) => flagOf(n).slice(2)),
    ],
    alias,
    collect: options.filter(([, o]) => o.repeatable).map(([n]) => flagOf(n).slice(2)),
    stopEarly: spec.words === true,
    unknown: (arg: string, key?: string) => {
      if (key === undefined || !arg.startsWith("-")) return true;
      if (flagNames.has(key) || key === "help" || key === "h") return true;
      throw new UsageError(`unknown option ${JSON.stringify(arg.split("=")[0])}`);
    },
  });
  const values: Record<string, unknown> = {};
  const given = new Set<keyof O>();
  for (const [name, option] of options) {
    const value = parsed[flagOf(name).slice(2)];
    const raw = Array.isArray(value) ? (value.length === 0 ? undefined : value.join(",")) : value;
    if (raw === undefined || raw === false) {
      values[name] = option.fallback;
      continue;
    }
    given.add(name as keyof O);
    if (option.value !== undefined && (typeof raw !== "string" || raw === "")) {
      throw new UsageError(`option ${flagOf(name)} needs a value`);
    }
    values[name] = option.parse(String(raw), flagOf(name));
  }
  const words = parsed._.map(String);
  if (!spec.words && words.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(words[0])} for kv ${spec.name}`);
  }
  return { values: values as Values<O>, given, words, help: parsed.help === true };
}

/** Seconds as whole milliseconds; a time above 0 stays above 0 (0 means no limit). */
export function secondsToMs(seconds: number): number {
  return seconds > 0 ? Math.max(1, Math.round(seconds * 1000)) : 0;
}
