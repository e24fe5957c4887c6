import { assertEquals } from "@std/assert";
import { maskSecret } from "./trace.ts";

Deno.test("maskSecret() hides the password where it stands alone, not inside other words", () => {
  assertEquals(maskSecret("Wrong request: AUTH, sekret", "sekret"), "Wrong request: AUTH, ***");
  assertEquals(maskSecret("AUTH,sekret\nAUTH, sekret!", "sekret"), "AUTH,***\nAUTH, ***!");
  assertEquals(maskSecret("Error: wrong password", "word"), "Error: wrong password");
  assertEquals(
    maskSecret("AUTH is not needed: this server has no password", "e"),
    "AUTH is not needed: this server has no password",
  );
  assertEquals(maskSecret('{"password":"a\\"b"}', 'a"b'), '{"password":"***"}');
  assertEquals(maskSecret("p.ss and pass", "p.ss"), "*** and pass", "regex characters are plain");
  assertEquals(maskSecret("anything", ""), "anything");
  assertEquals(maskSecret("anything", undefined), "anything");
});
