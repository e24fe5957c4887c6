/**
 * What the password and TLS suites of tests/ share: the server's password
 * (with a comma, which a line's AUTH must carry whole), the line protocol's
 * answer to a request before AUTH, and a Redis request written out in RESP.
 * (`deno test` runs `*_test.ts` files only, so this is no test itself.)
 *
 * @module
 */

/** The password the suites' servers are given. */
export const PASSWORD = "s3cret, with a comma";
/** The line protocol's answer to a request before AUTH. */
export const REQUIRED = "Error: authentication required (send AUTH, password first)";

/** `words` as one RESP request (an array of bulk strings). */
export function resp(...words: string[]): string {
  const encoder = new TextEncoder();
  return `*${words.length}\r\n${
    words.map((w) => `$${encoder.encode(w).length}\r\n${w}\r\n`).join("")
  }`;
}
