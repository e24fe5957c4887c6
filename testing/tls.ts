/**
 * A certificate authority and a server certificate it signed, for
 * `localhost`, 127.0.0.1 and ::1, with the server's key: FOR TESTS ONLY. The
 * key is public (it is in this file), so it protects nothing. Made with
 * openssl (an EC P-256 CA, and a leaf with subjectAltName
 * DNS:localhost,IP:127.0.0.1,IP:::1, both valid for 100 years). Kept as
 * text, so the tests read no file (they run with --allow-net only).
 *
 * @module
 */

/** The test CA's certificate (PEM): what a client trusts (`--tls-ca`). */
export const TEST_CA = `-----BEGIN CERTIFICATE-----
MIIBkTCCATegAwIBAgIUDkNSPSxgJhzKpZ9WTQ2cceZb0eowCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3YgdGVzdCBDQTAgFw0yNjExMjcxNzAwNThaGA8yMTI2MTEw
MzE3MDA1OFowFTETMBEGA1UEAwwKa3YgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABFdcXiJX23g0gbWuYOMQ+HNUXTBsWuNK9aH25qY54AHlXhcLxxVv
0DCRgMOWQfGwtQMEEUGfS2YZrsLQhVYTLGujYzBhMB0GA1UdDgQWBBRGDqGXqb4M
Z47TgXIZcsRHRuPbKzAfBgNVHSMEGDAWgBRGDqGXqb4MZ47TgXIZcsRHRuPbKzAP
BgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwICBDAKBggqhkjOPQQDAgNIADBF
AiEA5PiZP8fL5hA/pidDJkBN/4rWM45veAlCj0yiEW5dwmkCICWFB6wDde2Pi9yg
OsyXF0QbZ4YrzKynkFpX+ptfYoav
-----END CERTIFICATE-----
`;

/** The server's certificate (PEM), signed by {@linkcode TEST_CA}. */
export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIB0TCCAXigAwIBAgIUW5VIx9BqXBCCACmldaMP5onQh+gwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3YgdGVzdCBDQTAgFw0yNjExMjcxNzAwNThaGA8yMTI2MTEw
MzE3MDA1OFowFDESMBAGA1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZI
zj0DAQcDQgAEaTXJEmDAB4XaiJMbHTUbS5OqQkUz1rOhuwopUeOWa7yC2ueOvVzo
dz1lvyexcyauNfPvjyL7XrANyQ5X2Bx/BaOBpDCBoTAMBgNVHRMBAf8EAjAAMA4G
A1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAsBgNVHREEJTAjggls
b2NhbGhvc3SHBH8AAAGHEAAAAAAAAAAAAAAAAAAAAAEwHQYDVR0OBBYEFLIuSZ+x
wwzfCtxBaKZXz4k7z8OSMB8GA1UdIwQYMBaAFEYOoZepvgxnjtOBchlyxEdG49sr
MAoGCCqGSM49BAMCA0cAMEQCIAJre/8qN9LLV+iYlyFQFLGGWxmpdHW39tWcr9oJ
vALLAiAU+CMreWMfW2smWH8jQZd3I2TRhw53u52anBcBk3hMVQ==
-----END CERTIFICATE-----
`;

/** The server certificate's private key (PEM). Public: never use it outside tests. */
export const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgddSqa3VNA0MQ/FpC
AzSD+h3brg5Tu7EjPrTRglqrfKWhRANCAARpNckSYMAHhdqIkxsdNRtLk6pCRTPW
s6G7CilR45ZrvILa5469XOh3PWW/J7FzJq418++PIvtesA3JDlfYHH8F
-----END PRIVATE KEY-----
`;
