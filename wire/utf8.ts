/**
 * {@linkcode isUtf8From}: strict UTF-8 validation (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), as `TextDecoder`'s `fatal`
 * mode decides it, without an exception for a bad byte. A thrown and
 * caught decoder error costs about 14 µs: a client sending short invalid
 * lines would buy that much server time per line for a few bytes. And
 * {@linkcode readAsCp949}: what bytes that are not UTF-8 say, if they are
 * Korean in Windows' codec (a student's `.encode("cp949")`).
 *
 * @module
 */

// Past this many bytes the native decoder is faster, and one exception is
// then small beside the work the line itself costs.
const NATIVE_FROM_BYTES = 1024;
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Whether `bytes[start, end)` is valid UTF-8 (callers skip ASCII first: this is for the rest). */
export function isUtf8From(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start > NATIVE_FROM_BYTES) {
    try {
      strictDecoder.decode(bytes.subarray(start, end));
      return true;
    } catch {
      return false;
    }
  }
  let i = start;
  while (i < end) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let more: number;
    // The second byte's range, tighter than 80..BF after E0, ED, F0 and F4.
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) more = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      more = 2;
      if (lead === 0xe0) low = 0xa0; // Overlong.
      else if (lead === 0xed) high = 0x9f; // Surrogates.
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      more = 3;
      if (lead === 0xf0) low = 0x90; // Overlong.
      else if (lead === 0xf4) high = 0x8f; // Past U+10FFFF.
    } else return false;
    if (i + more >= end) return false; // Cut short.
    const second = bytes[i + 1]!;
    if (second < low || second > high) return false;
    for (let k = 2; k <= more; k++) {
      const next = bytes[i + k]!;
      if (next < 0x80 || next > 0xbf) return false;
    }
    i += more + 1;
  }
  return true;
}

const cp949 = new TextDecoder("euc-kr", { fatal: true }); // WHATWG's euc-kr is Windows' cp949.
const HANGUL_REGEXP = /[\uac00-\ud7a3]/;

/**
 * The text `bytes` hold if they are Korean in cp949, else `undefined`.
 * Only EUC-KR's own byte pairs (both 0xA1-0xFE) count: Latin-1 "Ángel"
 * would decode under cp949's extension too, as Korean it never was.
 */
export function readAsCp949(bytes: Uint8Array): string | undefined {
  for (let i = 0; i < bytes.length; i++) {
    const lead = bytes[i]!;
    if (lead < 0x80) continue;
    const second = bytes[i + 1];
    if (lead < 0xa1 || lead > 0xfe || second === undefined || second < 0xa1 || second > 0xfe) {
      return undefined;
    }
    i++;
  }
  try {
    const text = cp949.decode(bytes);
    return HANGUL_REGEXP.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}
