import { assertEquals } from "@std/assert";
import { formatAddr, ipv4Localhost } from "./addr.ts";

Deno.test("formatAddr brackets an IPv6 host and names a unix socket by its transport", () => {
  assertEquals(formatAddr({ hostname: "127.0.0.1", port: 12000 }), "127.0.0.1:12000");
  assertEquals(formatAddr({ hostname: "::1", port: 12000 }), "[::1]:12000");
  assertEquals(formatAddr({ transport: "unix", path: "/tmp/kv.sock" }), "unix");
});

Deno.test("ipv4Localhost: localhost, in any case, is 127.0.0.1 (macOS would give ::1 first)", () => {
  assertEquals(ipv4Localhost("localhost"), "127.0.0.1");
  assertEquals(ipv4Localhost("LocalHost"), "127.0.0.1");
  for (const other of ["127.0.0.1", "::1", "0.0.0.0", "example.com", "localhost.example"]) {
    assertEquals(ipv4Localhost(other), other);
  }
});
