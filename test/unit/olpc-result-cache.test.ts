import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DerivedCache, ResultCache } from "../../src/olpc/result-cache.js";

const uid = (item: string) => item;

describe("ResultCache", () => {
  test("the same query at the same version is computed once and gives the same sets", () => {
    const cache = new ResultCache<string>(4);
    let computed = 0;
    const compute = () => (computed++, ["a", "b"]);
    const first = cache.get("q", 1, compute, uid);
    const second = cache.get("q", 1, compute, uid);
    assert.equal(computed, 1);
    assert.equal(second, first);
    assert.deepEqual(first.items, ["a", "b"]);
    assert.deepEqual([...first.uids], ["a", "b"]);
  });

  test("a new version drops every result", () => {
    const cache = new ResultCache<string>(4);
    let computed = 0;
    const compute = () => (computed++, ["a"]);
    cache.get("q", 1, compute, uid);
    cache.get("r", 1, compute, uid);
    cache.get("q", 2, compute, uid);
    cache.get("r", 2, compute, uid);
    assert.equal(computed, 4);
  });

  test("beyond its capacity the least recently used result goes", () => {
    const cache = new ResultCache<string>(2);
    const computed: string[] = [];
    const get = (key: string) => cache.get(key, 1, () => (computed.push(key), [key]), uid);
    get("a");
    get("b");
    get("a"); // a is now the most recent
    get("c"); // drops b
    get("a");
    get("b");
    assert.deepEqual(computed, ["a", "b", "c", "b"]);
  });
});

describe("DerivedCache", () => {
  test("derives once per object and version", () => {
    const cache = new DerivedCache<{ n: number }, string>();
    const derived: number[] = [];
    const derive = (key: { n: number }) => (derived.push(key.n), `v${key.n}`);
    const one = { n: 1 };
    const two = { n: 2 };
    assert.equal(cache.get(one, 1, derive), "v1");
    assert.equal(cache.get(one, 1, derive), "v1");
    assert.equal(cache.get(two, 1, derive), "v2");
    assert.deepEqual(derived, [1, 2]);
    assert.equal(cache.get(one, 2, derive), "v1", "a new version derives again");
    assert.deepEqual(derived, [1, 2, 1]);
  });
});
