/**
 * Reading the files that hold secrets, for `kv serve` and `kv client`: the
 * password file (its first line; a warning if anyone may read it, as ssh
 * warns of an unprotected key) and TLS's certificate, key and CA files. A
 * missing permission or file is one clear line, never a stack trace.
 *
 * @module
 */

import type { ClientTls } from "../net/connect.ts";
import { permissionDenied } from "../net/permission.ts";
import { FileAccessError, flag, text } from "./options.ts";

const TRIM_REGEXP = /^[ \t]|[ \t]$/;

/** Reads a file named by `flag`, turning every failure into one line that says what to do. */
function readText(path: string, flag: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new FileAccessError(`cannot read ${flag} ${JSON.stringify(path)}: ${why(error, path)}`);
  }
}

function why(error: unknown, path: string): string {
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return error instanceof Deno.errors.NotCapable
      ? permissionDenied([`--allow-read=${path}`], Deno.build.standalone)
      : "permission denied";
  }
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  return error instanceof Error ? error.message : String(error);
}

/**
 * The password in the first line of `path` (a trailing `\r` and a leading
 * byte order mark dropped). Warns through `warn` if the file is readable by
 * others. Refuses an empty password, and one with spaces or tabs at either
 * end (the line protocol's AUTH trims those, so it could never match).
 */
export function readPassword(path: string, warn: (line: string) => void): string {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (error) {
    throw new FileAccessError(
      `cannot read --password-file ${JSON.stringify(path)}: ${why(error, path)}`,
    );
  }
  const newline = bytes.indexOf(0x0a);
  let password: string;
  try {
    // Strictly: a password read with U+FFFD for its bad bytes matches no AUTH.
    // A leading byte order mark (Windows Notepad writes one) is dropped.
    password = new TextDecoder("utf-8", { fatal: true })
      .decode(bytes.subarray(0, newline === -1 ? bytes.length : newline)).replace(/\r$/, "");
  } catch {
    throw new FileAccessError(
      `cannot use --password-file ${JSON.stringify(path)}: its first line is not UTF-8 text`,
    );
  }
  if (password === "") {
    throw new FileAccessError(
      `cannot use --password-file ${JSON.stringify(path)}: its first line is empty`,
    );
  }
  if (TRIM_REGEXP.test(password)) {
    throw new FileAccessError(
      `cannot use --password-file ${JSON.stringify(path)}: the password starts or ends with a ` +
        "space or tab, which AUTH over the line protocol trims away",
    );
  }
  warnIfShared(path, warn);
  return password;
}

/**
 * Warns through `warn` if users other than the file's owner may read it or
 * change it (any permission for its group or others), as ssh does for a
 * private key: they could learn the secret, or put their own in its place.
 */
export function warnIfShared(path: string, warn: (line: string) => void): void {
  let mode: number | null;
  try {
    mode = Deno.statSync(path).mode;
  } catch {
    return; // Read already; a failed stat only loses the warning.
  }
  if (mode === null || (mode & 0o077) === 0) return;
  warn(
    `warning: users other than its owner may read or change ${path} ` +
      `(mode ${(mode & 0o777).toString(8)}); make it private: chmod 600 ${path}`,
  );
}

/** The TLS certificate and key for `kv serve` (PEM files); warns as {@linkcode warnIfShared} if the key is not private. */
export function readTlsFiles(
  certPath: string,
  keyPath: string,
  warn: (line: string) => void,
): { cert: string; key: string } {
  const files = { cert: readText(certPath, "--tls-cert"), key: readText(keyPath, "--tls-key") };
  warnIfShared(keyPath, warn);
  return files;
}

/** The CA certificate a client trusts (PEM file), for `--tls-ca`. */
export function readCa(path: string): string {
  const pem = readText(path, "--tls-ca");
  // A file with no certificate (the key, the password file) would be taken
  // without a word, and the handshake would then fail with a misleading hint.
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new FileAccessError(
      `cannot use --tls-ca ${JSON.stringify(path)}: it holds no PEM certificate ` +
        '("-----BEGIN CERTIFICATE-----")',
    );
  }
  return pem;
}

/** The options a client subcommand takes to reach a server with TLS or a password. */
export const CLIENT_SECURITY_OPTIONS = {
  tls: flag("speak TLS (a server with --tls-cert)"),
  tlsCa: text({
    value: "FILE",
    help: "trust this CA certificate (PEM), e.g. a self-signed server's; implies --tls",
    fallback: undefined,
  }),
  passwordFile: text({
    value: "FILE",
    help: "send AUTH with the password in FILE's first line (needs --allow-read=FILE)",
    fallback: undefined,
  }),
};

/** TLS and the password from a client's options (files read, with one-line errors). */
export function clientSecurity(
  options: { tls: boolean; tlsCa: string | undefined; passwordFile?: string | undefined },
  warn: (line: string) => void,
): { tls?: ClientTls; password?: string } {
  const tls = options.tls || options.tlsCa !== undefined
    ? { caCerts: options.tlsCa === undefined ? undefined : [readCa(options.tlsCa)] }
    : undefined;
  const password = options.passwordFile === undefined
    ? undefined
    : readPassword(options.passwordFile, warn);
  return { tls, password };
}
