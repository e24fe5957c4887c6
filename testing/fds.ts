/**
 * A process's open file descriptors, for the e2e tests that run kv out of
 * them (`e2e/fd_limit_e2e.ts`, `e2e/fd_limit_clients_e2e.ts`): listed with
 * `ls -l /proc/PID/fd` (Deno reads /proc only with --allow-all) and limited
 * with `prlimit --pid`. Needs `--allow-run=ls,prlimit`. Linux only.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";

const decoder = new TextDecoder();

/**
 * The descriptors `pid` has open, number and target, as `ls -l /proc/PID/fd`
 * lists them (Deno reads /proc only with --allow-all).
 */
export async function openFds(pid: number): Promise<{ fd: number; target: string }[]> {
  const { code, stdout, stderr } = await new Deno.Command("ls", {
    args: ["-l", `/proc/${pid}/fd`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  // A descriptor closed between ls's listing and its readlink is "No such file": not there.
  const gone = /^(.*No such file or directory\n)*$/.test(decoder.decode(stderr));
  assert(code === 0 || gone, `ls: ${decoder.decode(stderr)}`);
  return [...decoder.decode(stdout).matchAll(/ (\d+) -> (.*)$/gm)].map((match) => ({
    fd: Number(match[1]),
    target: match[2]!,
  }));
}

/**
 * Lowers `pid`'s soft limit on open files so that exactly `free` more
 * descriptors can be opened (a new one takes the lowest free number, and
 * fails with EMFILE at the limit or past it). The hard limit stays, so it
 * could be raised again.
 */
export async function leaveFree(pid: number, free: number): Promise<void> {
  const open = new Set((await openFds(pid)).map(({ fd }) => fd));
  let limit = 0;
  for (let spare = 0;; limit++) {
    if (open.has(limit)) continue;
    if (spare === free) break;
    spare++;
  }
  const { code, stderr } = await new Deno.Command("prlimit", {
    args: ["--pid", String(pid), `--nofile=${limit}:`],
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, `prlimit: ${decoder.decode(stderr)}`);
}
