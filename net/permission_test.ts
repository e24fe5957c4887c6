import { assertEquals } from "@std/assert";
import { permissionDenied } from "./permission.ts";

const DATA = ["--allow-read=data", "--allow-write=data"];

Deno.test({
  name: "permissionDenied() run with deno run: the flags to add, as every line said before",
  permissions: "none",
  fn() {
    assertEquals(
      permissionDenied(["--allow-read=pw.txt"], false),
      "permission denied (run with --allow-read=pw.txt)",
    );
    assertEquals(
      permissionDenied(DATA, false),
      "permission denied (run with --allow-read=data --allow-write=data)",
    );
    assertEquals(
      permissionDenied(DATA, false, { before: "it links to /srv/kv.log: " }),
      "permission denied (it links to /srv/kv.log: run with --allow-read=data --allow-write=data)",
    );
    assertEquals(
      permissionDenied(["--allow-net"], false),
      "permission denied (run with --allow-net)",
    );
    assertEquals(
      permissionDenied(["--allow-net"], false, {
        why: ": the client binds a local port as well as sending",
      }),
      "permission denied (run with --allow-net: the client binds a local port as well as sending)",
    );
    assertEquals(
      permissionDenied(["--allow-write=report.xml"], false, {
        or: "write it with --junit - > report.xml",
      }),
      "permission denied (run with --allow-write=report.xml, or write it with --junit - > report.xml)",
    );
  },
});

Deno.test({
  name:
    "permissionDenied() in a compiled binary: compiled without the flags, and how to compile one",
  permissions: "none",
  fn() {
    assertEquals(
      permissionDenied(["--allow-read=pw.txt"], true),
      "permission denied (this kv binary was compiled without --allow-read=pw.txt; " +
        "compile one with it: deno compile --allow-net --allow-read=pw.txt -o kv main.ts)",
    );
    assertEquals(
      permissionDenied(DATA, true, { before: "it links to /srv/kv.log: " }),
      "permission denied (it links to /srv/kv.log: this kv binary was compiled without " +
        "--allow-read=data --allow-write=data; compile one with them: " +
        "deno compile --allow-net --allow-read=data --allow-write=data -o kv main.ts)",
    );
    // --allow-net is not named twice.
    assertEquals(
      permissionDenied(["--allow-net"], true, {
        why: ": the client binds a local port as well as sending",
      }),
      "permission denied (this kv binary was compiled without --allow-net: the client binds a " +
        "local port as well as sending; compile one with it: deno compile --allow-net -o kv main.ts)",
    );
    assertEquals(
      permissionDenied(["--allow-write=report.xml"], true, {
        or: "write it with --junit - > report.xml",
      }),
      "permission denied (this kv binary was compiled without --allow-write=report.xml; " +
        "compile one with it: deno compile --allow-net --allow-write=report.xml -o kv main.ts, " +
        "or write it with --junit - > report.xml)",
    );
  },
});

Deno.test({
  name: "permissionDenied() in Korean, run with deno run and in a compiled binary",
  permissions: "none",
  fn() {
    const ko = { lang: "ko" } as const;
    assertEquals(
      permissionDenied(["--allow-net"], false, ko),
      "권한이 없습니다(--allow-net으로 실행하세요)",
    );
    assertEquals(
      permissionDenied(["--allow-net"], false, {
        ...ko,
        why: ": 클라이언트는 보내는 것 말고도 자기 로컬 포트를 bind합니다",
      }),
      "권한이 없습니다(--allow-net으로 실행하세요: 클라이언트는 보내는 것 말고도 자기 로컬 포트를 " +
        "bind합니다)",
    );
    assertEquals(
      permissionDenied(DATA, false, ko),
      "권한이 없습니다(--allow-read=data --allow-write=data 옵션을 주고 실행하세요)",
    );
    assertEquals(
      permissionDenied(["--allow-write=report.xml"], false, {
        ...ko,
        or: "--junit - > report.xml처럼 표준 출력으로 쓰세요",
      }),
      "권한이 없습니다(--allow-write=report.xml 옵션을 주고 실행하거나, " +
        "--junit - > report.xml처럼 표준 출력으로 쓰세요)",
    );
    assertEquals(
      permissionDenied(["--allow-net"], true, ko),
      "권한이 없습니다(이 kv 실행 파일은 --allow-net 권한 없이 컴파일되었습니다. " +
        "deno compile --allow-net -o kv main.ts로 다시 컴파일하세요)",
    );
    assertEquals(
      permissionDenied(["--allow-write=report.xml"], true, {
        ...ko,
        or: "--junit - > report.xml처럼 표준 출력으로 쓰세요",
      }),
      "권한이 없습니다(이 kv 실행 파일은 --allow-write=report.xml 권한 없이 컴파일되었습니다. " +
        "deno compile --allow-net --allow-write=report.xml -o kv main.ts로 다시 컴파일하거나, " +
        "--junit - > report.xml처럼 표준 출력으로 쓰세요)",
    );
  },
});
