/**
 * Tests for store.ts: plain values in, plain values out. Pure: every test
 * runs with `permissions: "none"`.
 */

import { assertEquals, assertFalse, assertStrictEquals } from "@std/assert";
import { Store } from "./store.ts";

Deno.test({
  name: "Store() starts empty",
  permissions: "none",
  fn: () => {
    const store = new Store();
    assertEquals(store.size, 0);
    assertEquals([...store.entries()], []);
    assertStrictEquals(store.get("k"), undefined);
    assertFalse(store.delete("k"));
  },
});

Deno.test({
  name: "Store.put() stores a value and overwrites an existing key",
  permissions: "none",
  fn: () => {
    const store = new Store();
    store.put("k", "v1");
    assertEquals(store.get("k"), "v1");
    store.put("k", "v2");
    assertEquals(store.get("k"), "v2");
    assertEquals(store.size, 1);
  },
});

Deno.test({
  name: "Store.get() tells an empty value from a missing key",
  permissions: "none",
  fn: () => {
    const store = new Store();
    store.put("empty", "");
    assertStrictEquals(store.get("empty"), "");
    assertStrictEquals(store.get("missing"), undefined);
  },
});

Deno.test({
  name: "Store.delete() removes a key and says whether it was there",
  permissions: "none",
  fn: () => {
    const store = new Store();
    store.put("a", "1");
    store.put("b", "2");
    assertEquals(store.delete("a"), true);
    assertEquals(store.delete("a"), false);
    assertStrictEquals(store.get("a"), undefined);
    assertEquals(store.get("b"), "2");
    assertEquals(store.size, 1);
  },
});

Deno.test({
  name: "Store.entries() yields every pair",
  permissions: "none",
  fn: () => {
    const store = new Store();
    const pairs: [string, string][] = [["a", "1"], ["b", "hello, world"], ["c", ""]];
    for (const [key, value] of pairs) store.put(key, value);
    store.put("gone", "x");
    store.delete("gone");
    assertEquals([...store.entries()].toSorted(), pairs);
  },
});

Deno.test({
  name: "Store.put() keeps any string as a distinct key",
  permissions: "none",
  fn: () => {
    const store = new Store();
    const keys = ["키", "😀", "a\0b", "a", "A", "__proto__", "constructor", "toString", "\ufeffa"];
    keys.forEach((key, i) => store.put(key, `v${i}`));
    assertEquals(store.size, keys.length);
    keys.forEach((key, i) => assertEquals(store.get(key), `v${i}`, key));
    assertStrictEquals(store.get("a\0"), undefined);
    assertStrictEquals(store.get("hasOwnProperty"), undefined);
  },
});
