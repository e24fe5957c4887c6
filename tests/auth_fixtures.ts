/**
 * What the password and TLS suites of tests/ share: the server's password
 * (with a comma, which a line's AUTH must carry whole), the line protocol's
 * answer to a request before AUTH (a Redis request in RESP is testing/resp.ts's).
 * (`deno test` runs `*_test.ts` files only, so this is no test itself.)
 *
 * @module
 */

/** The password the suites' servers are given. */
export const PASSWORD = "s3cret, with a comma";
/** The line protocol's answer to a request before AUTH. */
export const REQUIRED = "Error: authentication required (send AUTH, password first)";
