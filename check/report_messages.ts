/**
 * The report's own words around the rules, in English and Korean: the
 * first lines of a run (what it checks and writes), the last (the counts,
 * and the keys left in the store), why a run stopped before its first rule,
 * and the fixed words under a failure. A rule's own result is worded in
 * `messages.ts`, the hints after the summary in `hint_messages.ts`.
 *
 * @module
 */

import type { Lang, Level, Text } from "./rule.ts";
import { show } from "../net/show.ts";
import { seconds, text } from "./messages.ts";

const LEVEL_NAMES: Record<Level, Text> = {
  assignment: text("assignment", "과제(assignment)"),
  contract: text("contract", "규약(contract)"),
  full: text("full", "전체(full)"),
};

/** The report's fixed words. */
export const WORDS = {
  sent: text("sent", "보냄"),
  expected: text("expected", "기대"),
  got: text("got", "받음"),
  step: text("step", "단계"),
  nothing: text("(nothing)", "(없음)"),
} as const;

/** A long reason said already, under an earlier rule: only where. */
export function sameReasonAs(id: string): Text {
  return text(`the same as under ${id} above`, `위의 ${id}와 같은 이유`);
}

/**
 * Why a run stopped before its first rule: the server took the connection
 * and answered nothing (`CheckRun.noAnswer`). Said instead of a summary.
 */
export function noAnswerText(
  address: string,
  noAnswer: {
    readonly request: string;
    readonly newlineAfter: boolean;
    readonly followUp: string;
    readonly ms: number;
  },
): Text {
  const { request, newlineAfter, followUp, ms } = noAnswer;
  const waited = seconds(ms);
  return text(
    `the server at ${address} accepted the connection but sent nothing back for ${waited} s, ` +
      `keeping it open (kv check asked ${show(request)}` +
      (newlineAfter ? ", without \\n as the course's client does, then with it" : "") +
      `, then ${show(followUp)}). ` +
      "Most likely another client is still connected to it (nc, or kv client in another " +
      "terminal) and it serves one client at a time: close that client and run kv check again. " +
      "To take other clients while one stays connected, serve each client in its own thread " +
      "(threading.Thread) or with select. If no other client is connected, the server reads " +
      "requests but never answers (see its terminal), or its process is stopped (Ctrl-Z in its " +
      "terminal stops it, Ctrl-C ends it: fg there resumes it), or it needs a longer --timeout. No rule was " +
      "run, and no key was written.",
    `서버(${address})가 연결은 받았지만, 연결을 열어 둔 채 ${waited}초 동안 아무것도 보내지 ` +
      `않았습니다(kv check가 보낸 요청: ${show(request)}` +
      (newlineAfter ? "(수업의 클라이언트처럼 \\n 없이 보내고, 이어서 \\n을 보냄)" : "") +
      `, 그다음 ${show(followUp)}). ` +
      "다른 클라이언트(nc, 또는 다른 터미널의 kv client)가 아직 연결되어 있고, 서버가 한 번에 " +
      "클라이언트 하나만 받는 것 같습니다: 그 클라이언트를 닫고 kv check를 다시 실행하세요. " +
      "한 클라이언트가 연결되어 있는 동안에도 다른 클라이언트를 받으려면, 클라이언트마다 " +
      "스레드(threading.Thread)를 쓰거나 select를 쓰세요. 연결된 다른 클라이언트가 없다면, 서버가 " +
      "요청을 읽기만 하고 답하지 않거나(서버의 터미널을 보세요), 서버 프로세스가 일시 중지되어 " +
      "있거나(그 터미널에서 Ctrl-Z를 누르면 서버가 끝나지 않고 일시 중지됩니다: 거기서 fg를 " +
      "입력하면 다시 돌아가고, 끝내려면 Ctrl-C를 누르세요), 답이 --timeout보다 느린 것입니다(그렇다면 " +
      "--timeout을 더 길게 주세요). 규칙은 하나도 실행하지 않았고, key도 쓰지 않았습니다.",
  );
}

/** The JUnit test case of a run that stopped before its first rule ({@linkcode noAnswerText}). */
export const FIRST_ANSWER = text(
  "the server answers a first request, before any rule",
  "규칙을 실행하기 전에 보낸 첫 요청에 서버가 답한다",
);

/** The first lines of a run: what it checks and what it writes. */
export function header(
  lang: Lang,
  run: { address: string; level: Level; only: readonly string[]; rules: number; prefix: string },
): string {
  const level = LEVEL_NAMES[run.level][lang];
  const what = run.only.length > 0
    ? (lang === "en"
      ? `${run.only.length === 1 ? "rule" : "rules"} ${run.only.join(", ")}`
      : `규칙 ${run.only.join(", ")}`)
    : (lang === "en" ? `level ${level}` : `수준 ${level}`);
  return lang === "en"
    ? `kv check ${run.address}, ${what}: ${run.rules} ${run.rules === 1 ? "rule" : "rules"}\n` +
      `It writes only keys that start with ${show(run.prefix)}, and deletes them at the end.\n`
    : `kv check ${run.address}, ${what}: 규칙 ${run.rules}개\n` +
      `${show(run.prefix)}(으)로 시작하는 key만 쓰고, 끝나면 지웁니다.\n`;
}

/** How many keys the summary names, with why each may be left. */
const SHOWN_LEFT_KEYS = 5;

/** The last lines: the counts, the time, and what was left in the store, and why. */
export function summary(
  lang: Lang,
  run: {
    passed: number;
    failed: number;
    skipped: number;
    ms: number;
    written: number;
    deleted: number;
    prefix: string;
    notRun?: number;
    /** Of the keys gone, how many the server did not hold (DELETE: `Not exist!`). */
    absent?: number;
    /** The keys that may be left, and why. */
    left?: readonly { key: string; why: Text }[];
  },
): string {
  const { passed, failed, skipped, written, deleted } = run;
  const notRun = run.notRun ?? 0;
  // Under 0.05 s: milliseconds, not "0 s".
  const short = run.ms < 50;
  const ms = `${Math.max(1, Math.round(run.ms))}`;
  const left = Math.max(written - deleted, run.left?.length ?? 0);
  const none = left === 0 && written > 0 && run.absent === written;
  const which =
    (run.left ?? []).slice(0, SHOWN_LEFT_KEYS).map(({ key, why }) =>
      `  ${show(key)}: ${why[lang]}\n`
    ).join("") +
    ((run.left?.length ?? 0) > SHOWN_LEFT_KEYS
      ? (lang === "en"
        ? `  … and ${run.left!.length - SHOWN_LEFT_KEYS} more\n`
        : `  … 그리고 ${run.left!.length - SHOWN_LEFT_KEYS}개 더\n`)
      : "");
  if (lang === "ko") {
    const cleanup = written === 0
      ? "쓴 key가 없습니다."
      : none
      ? `서버에 쓰라고 보낸 key ${written}개가 하나도 남아 있지 않아 지울 것이 없었습니다 (DELETE에 모두 Not exist!, LIST에도 없음).`
      : left === 0
      ? `쓴 key ${written}개를 모두 지웠습니다.`
      : `쓴 key ${written}개 중 ${left}개를 지우지 못했습니다 (${show(run.prefix)}(으)로 시작).`;
    const stopped = notRun > 0 ? `중단됨: 규칙 ${notRun}개는 실행하지 않았습니다.\n` : "";
    const verdict = failed > 0
      ? `규칙 ${failed}개를 어깁니다.`
      : notRun > 0
      ? "실행한 규칙은 모두 지킵니다."
      : "모든 규칙을 지킵니다.";
    const time = short ? `${ms} ms` : `${seconds(run.ms)}초`;
    return `${stopped}${cleanup}\n${which}통과 ${passed}, 실패 ${failed}, 건너뜀 ${skipped} (${time}): ${verdict}\n`;
  }
  const keys = written === 1 ? "key" : "keys";
  const cleanup = written === 0
    ? "It wrote no keys."
    : none
    ? `None of the ${written} ${keys} it asked the server to write was there to delete (DELETE answered Not exist! to each, and LIST shows none).`
    : left === 0
    ? `Deleted the ${written} ${keys} it wrote.`
    : `Could not delete ${left} of the ${written} ${keys} it asked the server to write (they start with ${
      show(run.prefix)
    })${which === "" ? "." : ":"}`;
  const stopped = notRun > 0 ? `Interrupted: ${notRun} rule(s) not run.\n` : "";
  const verdict = failed > 0
    ? `${failed} rule(s) broken.`
    : notRun > 0
    ? "every rule that ran holds."
    : "every rule holds.";
  const time = short ? `${ms} ms` : `${seconds(run.ms)} s`;
  return `${stopped}${cleanup}\n${which}${passed} passed, ${failed} failed, ${skipped} skipped in ${time}: ${verdict}\n`;
}
