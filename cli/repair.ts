/**
 * `kv repair FILE`: writes a loadable copy of a damaged data file beside
 * it, `FILE.repaired`, and says what it left out. The original is never
 * changed: the user checks the copy and moves it into place.
 *
 * @module
 */

import { DENO_FS } from "../store/log/file.ts";
import { dirname } from "../store/log/open.ts";
import { headerState, type Repaired, repairLog } from "../store/log/recover.ts";
import { describeFileError } from "./data.ts";
import { EXIT } from "./exit.ts";
import type { MainIo } from "./io.ts";
import { command, FileAccessError, flag, helpText, parseOptions, UsageError } from "./options.ts";

/** `kv repair`'s options. */
export const REPAIR_SPEC = command({
  name: "repair",
  summary: "write a loadable copy of a damaged data file (FILE.repaired), leaving FILE as it is",
  usage: ["[OPTIONS] FILE"],
  words: true,
  options: {
    truncate: flag(
      "drop everything from the first bad record on, instead of skipping to the next good one",
    ),
  },
  footer: `Keeps every valid record, in order. Where records are bad it skips to the next
valid one (a dropped record may have deleted a key, which then comes back: the
report says where bytes were dropped). Needs --allow-read=DIR --allow-write=DIR
for the file's folder.
Exit status: 0 if FILE.repaired was written (or nothing needed repair), 1 if it
could not be (or FILE is not a kv data file), 2 for a usage error or a FILE it
cannot read.`,
});

/** Runs `kv repair` with `args`; returns the exit status. */
export async function runRepair(args: string[], io: MainIo): Promise<number> {
  const { values: options, words, help } = parseOptions(REPAIR_SPEC, args);
  if (help) {
    await io.stdout(helpText(REPAIR_SPEC));
    return EXIT.ok;
  }
  if (words.length > 1 && words.slice(1).some((word) => word.startsWith("-"))) {
    throw new UsageError(
      `options go before FILE: kv repair [OPTIONS] FILE (got ${words.join(" ")})`,
    );
  }
  if (words.length !== 1) throw new UsageError("expected one FILE to repair");
  const given = words[0]!;
  // The copy goes beside the file a link points to, and the advice moves it
  // there: moving it over the link would replace the link with a plain file.
  const path = await linkTarget(given);
  if (path !== given) await io.stdout(`${given} is a symbolic link to ${path}\n`);
  const output = `${path}.repaired`;
  let file: Uint8Array;
  try {
    // A FIFO would block the read for ever, as it did the load before kv serve refused it.
    const info = await Deno.stat(path);
    if (!info.isFile) {
      throw new FileAccessError(
        `cannot read ${path}: it is not a regular file (a folder, a FIFO, a device or a socket)`,
      );
    }
    file = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof FileAccessError) throw error;
    const why = describeFileError(error, path);
    // A file it may not read, or that is not there: how kv was run, exit 2.
    if (
      error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.NotFound
    ) {
      throw new FileAccessError(`cannot read ${path}: ${why}`);
    }
    await io.stderr(`kv: cannot read ${path}: ${why}\n`);
    return EXIT.failed;
  }
  const repaired = repairLog(file, { truncate: options.truncate });
  // Not a kv log at all (a CSV, say): a "repaired" copy would be an empty
  // log offered to replace it. A damaged header with records after it is repaired.
  if (headerState(file, file.length) === "foreign" && repaired.records === 0) {
    await io.stderr(
      `kv: ${path} is not a kv data file (it does not start with KVLOG 1, and no kv record was found in it); nothing was written\n`,
    );
    return EXIT.failed;
  }
  if (repaired.dropped.length === 0) {
    await io.stdout(
      `${path}: ${plural(repaired.records, "record")}, none bad: nothing to repair\n`,
    );
    return EXIT.ok;
  }
  try {
    await writeDurably(output, repaired.bytes, path);
  } catch (error) {
    const why = error instanceof Deno.errors.AlreadyExists
      ? "it already exists (remove it first)"
      : describeFileError(error, output);
    await io.stderr(`kv: cannot write ${output}: ${why}\n`);
    return EXIT.failed;
  }
  const lines = repairReport(path, output, repaired, file.length);
  await io.stdout(`${lines.join("\n")}\n`);
  return EXIT.ok;
}

/**
 * What `kv repair` says of a repair of `path` (`fileBytes` long) written to
 * `output`: what it kept, each place it dropped bytes and why, and how to
 * check the copy and put it in place.
 */
export function repairReport(
  path: string,
  output: string,
  repaired: Repaired,
  fileBytes: number,
): string[] {
  const droppedBytes = repaired.dropped.reduce((sum, range) => sum + range.bytes, 0);
  return [
    `${path}: kept ${plural(repaired.records, "record")}; dropped ${
      plural(droppedBytes, "byte")
    } in ${plural(repaired.dropped.length, "place")}:`,
    ...repaired.dropped.map((range) =>
      `  at byte ${range.offset}: ${plural(range.bytes, "byte")} (${range.reason})`
    ),
    `wrote ${output} (${repaired.bytes.length} bytes); ${path} is unchanged.`,
    ...(tornTailOnly(repaired, fileBytes)
      ? [
        "Only its last record was unfinished, as a crash or a copy taken while the server ran " +
        "leaves it: kv serve drops such a record by itself, so either file loads the same.",
      ]
      : []),
    `Check it (kv serve --data ${output} --port 0), then put it in place:`,
    `  mv ${output} ${path}`,
  ];
}

/**
 * Writes a new file and syncs it and its folder, refusing to replace one.
 * It is made private, then given the mode, owner and group of `like` (it is
 * meant to take that file's place): a 0600 log's copy is never readable by
 * others, not even for a moment.
 */
async function writeDurably(path: string, bytes: Uint8Array, like: string): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    await DENO_FS.copyMode(like, path);
    for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
    await file.syncData();
  } finally {
    file.close();
  }
  await DENO_FS.syncDir(dirname(path));
}

/** The file `path` names, following symbolic links; `path` itself if it cannot tell. */
async function linkTarget(path: string): Promise<string> {
  try {
    if (!(await Deno.lstat(path)).isSymlink) return path;
    return await Deno.realPath(path);
  } catch {
    return path; // Reading it says why, in one line.
  }
}

/** Whether the only damage is one unfinished record at the very end (what a crash or a live copy leaves). */
function tornTailOnly(repaired: Repaired, fileBytes: number): boolean {
  const [range] = repaired.dropped;
  return repaired.dropped.length === 1 && range!.offset + range!.bytes === fileBytes &&
    range!.reason === "the record is incomplete";
}

/** `1 record`, `2 records`. */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
