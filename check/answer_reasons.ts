/**
 * Wrong answers whose shape names the Python habit behind them, told by
 * that cause (both ways of checking an answer, `expect_textbook.ts` and
 * `expect_framed.ts`, ask here once the plainer causes, spaces and case,
 * are ruled out): `None` for a missing key (`dict.get(key)`), the right
 * answer with more text around it (a label, a greeting, the request echoed),
 * and a LIST that is a dict as `str()` prints it or whose pairs came with
 * no `\n` between them. Pure: no socket.
 *
 * @module
 */

import type { Text } from "./rule.ts";
import { show } from "../net/show.ts";
import { text } from "./messages.ts";

// A letter or digit of any script: an answer that only goes on with one is another word ("10" is not "1").
const WORD_CHAR_REGEXP = /[\p{L}\p{N}]/u;
// A dict (or a list of its items) as str() prints it: {'k': 'v'}, [('k', 'v')].
const PYTHON_REPR_REGEXP = /^(\{.*\}|\[\(.*\)\])$/s;

/**
 * Why a one-line answer `got` (its final line end dropped) is not `want`,
 * if its shape says: `None` where `Not exist!` was due, or `want` with
 * more text before or after it. `prefix`: `want` only begins the right
 * answer (`Error: `), so only text before it counts.
 */
export function lineAnswerReason(got: string, want: string, prefix = false): Text | undefined {
  if (got === "None" && want === "Not exist!") {
    return text(
      'a different answer: "None" is what Python makes of no value (dict.get(key) of a key that ' +
        'is not there gives None, and str(None) is "None"). Answer "Not exist!" for a missing ' +
        'key: store.get(key, "Not exist!")',
      '다른 답: "None"은 Python에서 값이 없음을 뜻함 (없는 key를 dict.get(key)로 찾으면 None이 ' +
        '나오고, str(None)은 "None"임). 없는 key에는 "Not exist!"로 답하세요: ' +
        'store.get(key, "Not exist!")',
    );
  }
  if (want.trim() === "" || got === want) return undefined;
  const at = prefix ? got.indexOf(want) : got.lastIndexOf(want);
  if (at < 0) return undefined;
  const before = got.slice(0, at);
  const after = prefix ? "" : got.slice(at + want.length);
  // The right answer must stand as a word of its own: "10" is another value than "1".
  if (WORD_CHAR_REGEXP.test(before.at(-1) ?? " ") || WORD_CHAR_REGEXP.test(after[0] ?? " ")) {
    return undefined;
  }
  // Spaces alone around it are the spaces reason's (told before this one).
  if (before.trim() === "" && after.trim() === "") return undefined;
  const where = {
    en: [
      before === "" ? "" : `${show(before)} before it`,
      after === "" ? "" : `${show(after)} after it`,
    ].filter((part) => part !== "").join(" and "),
    ko: before !== "" && after !== ""
      ? `앞에 ${show(before)}, 뒤에 ${show(after)}`
      : before !== ""
      ? `앞에 ${show(before)}`
      : `뒤에 ${show(after)}`,
  };
  return text(
    `a different answer: the right one, ${show(want)}, with more text around it: ${where.en}. ` +
      "A client compares the whole answer: send the answer alone (no label, no greeting, " +
      "not the request again)",
    `다른 답: 맞는 답 ${show(want)} ${where.ko}이(가) 더 붙어 있음. 클라이언트는 답 전체를 ` +
      "비교하므로 답만 보내세요 (라벨이나 인사말을 붙이거나 요청을 되풀이하지 말고)",
  );
}

/**
 * Why a LIST's answer `got` (its lines joined by `\n`) lacks the `missing`
 * lines, if its shape says: a dict as `str()` prints it, or the missing
 * pairs run together on one line (no `\n` between pairs).
 */
export function listAnswerReason(got: string, missing: readonly string[]): Text | undefined {
  const body = got.trim();
  if (PYTHON_REPR_REGEXP.test(body)) {
    const start = body.length > 40 ? `${show(body.slice(0, 40))}...` : show(body);
    return text(
      `LIST answered with the store as Python's str() prints it (${start}): ` +
        'send one line "key, value" for each pair instead, for example ' +
        '"\\n".join(f"{k}, {v}" for k, v in store.items())',
      `LIST가 저장소를 Python의 str()이 찍는 모양으로 답함 (${start}): ` +
        '쌍마다 "key, value" 한 줄씩 보내세요. 예: ' +
        '"\\n".join(f"{k}, {v}" for k, v in store.items())',
    );
  }
  const lines = got.split(/\r?\n/);
  // The line each missing pair is inside of, if any.
  const holders = missing.map((want) => lines.find((line) => line !== want && line.includes(want)));
  if (missing.length === 0 || holders.some((line) => line === undefined)) return undefined;
  const [want, line] = [missing[0]!, holders[0]!];
  // Another pair beside it on its line: pairs glued together. Else more text around one pair.
  const glued = missing.every((want, i) => holders[i]!.replace(want, "").includes(", "));
  if (!glued) return lineAnswerReason(line, want);
  return text(
    `LIST's pairs came with no \\n between them (${show(want)} is inside the line ` +
      `${show(line.slice(0, 120))}): end every pair's line with \\n, the last one too ` +
      '("".join(f"{k}, {v}\\n" for k, v in store.items()), or f"{k}, {v}\\n" for each pair sent ' +
      "on its own)",
    `LIST의 쌍 사이에 \\n이 없음 (${show(want)}이(가) ${show(line.slice(0, 120))} 줄 ` +
      "안에 붙어 있음): 마지막 쌍까지 쌍마다 줄을 \\n으로 끝내세요 " +
      '("".join(f"{k}, {v}\\n" for k, v in store.items())로 만들거나, 쌍마다 따로 보낸다면 ' +
      'f"{k}, {v}\\n")',
  );
}
