/**
 * Tests of what `kv repair` says (repair.ts's report): counts in words
 * that agree with them, `1 byte` as well as `2 bytes`. Pure: the repair of
 * a file on disk is e2e/serve_data_e2e.ts's.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { sampleLog } from "../testing/mod.ts";
import { repairLog } from "../store/log/recover.ts";
import { repairReport } from "./repair.ts";

Deno.test({
  name: "kv repair's report says '1 byte' of a place that dropped one byte, not '1 bytes'",
  permissions: "none",
  fn: () => {
    // One stray byte between two records: the next record starts right after it.
    const { bytes, starts } = sampleLog(3);
    const at = starts[1]!;
    const file = new Uint8Array(bytes.length + 1);
    file.set(bytes.subarray(0, at));
    file[at] = 0x7a;
    file.set(bytes.subarray(at), at + 1);
    const repaired = repairLog(file);
    const lines = repairReport("kv.log", "kv.log.repaired", repaired, file.length);
    assertEquals(lines.slice(0, 2), [
      "kv.log: kept 3 records; dropped 1 byte in 1 place:",
      `  at byte ${at}: 1 byte (the record's header fails its checksum)`,
    ]);
  },
});
