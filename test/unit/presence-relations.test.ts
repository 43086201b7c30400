import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Relations } from "../../src/presence/relations.js";
import { seededRandom } from "../../src/dev/random.js";

const A = "a@example.org";
const B = "b@example.org";
const C = "c@example.org";
const D = "d@example.org";

type Pair = [string, string];

const sorted = (pairs: Iterable<Pair>): Pair[] =>
  [...pairs].sort((x, y) => (x.join(" ") < y.join(" ") ? -1 : x.join(" ") > y.join(" ") ? 1 : 0));
const set = (values: Iterable<string>): string[] => [...values].sort();

/** Every ordered pair of distinct members. */
function allPairs(members: string[]): Pair[] {
  const pairs: Pair[] = [];
  for (const viewer of members) {
    for (const target of members) if (viewer !== target) pairs.push([viewer, target]);
  }
  return sorted(pairs);
}

describe("Relations", () => {
  describe("setGroup", () => {
    it("lets every member see every other member and returns those pairs", () => {
      const relations = new Relations();
      assert.deepEqual(sorted(relations.setGroup("r", [A, B, C])), allPairs([A, B, C]));
      for (const viewer of [A, B, C]) {
        for (const target of [A, B, C]) {
          assert.equal(relations.sees(viewer, target), viewer !== target, `${viewer} → ${target}`);
        }
      }
      assert.deepEqual(set(relations.viewersOf(A)), [B, C]);
      assert.deepEqual(set(relations.visibleTo(A)), [B, C]);
      assert.deepEqual(set(relations.members("r") ?? []), [A, B, C]);
      assert.equal(relations.has("r"), true);
    });

    it("a room of one grants nothing: nobody sees themselves", () => {
      const relations = new Relations();
      assert.deepEqual(relations.setGroup("r", [A]), []);
      assert.equal(relations.sees(A, A), false);
      assert.deepEqual([...relations.viewersOf(A)], []);
      assert.deepEqual([...relations.visibleTo(A)], []);
      assert.deepEqual(set(relations.members("r") ?? []), [A]);
    });

    it("duplicate members count once", () => {
      const relations = new Relations();
      assert.deepEqual(sorted(relations.setGroup("r", [A, B, A, B])), allPairs([A, B]));
      relations.delete("r");
      assert.equal(relations.sees(A, B), false);
    });
  });

  describe("set (one-way)", () => {
    it("lets the viewers see the targets, not the other way round", () => {
      const relations = new Relations();
      assert.deepEqual(
        sorted(relations.set("w", [A], [B, C])),
        sorted([
          [A, B],
          [A, C],
        ]),
      );
      assert.equal(relations.sees(A, B), true);
      assert.equal(relations.sees(B, A), false);
      assert.equal(relations.sees(B, C), false);
      assert.deepEqual(set(relations.viewersOf(B)), [A]);
      assert.deepEqual([...relations.viewersOf(A)], []);
      assert.deepEqual(set(relations.visibleTo(A)), [B, C]);
      assert.deepEqual([...relations.visibleTo(B)], []);
      assert.deepEqual(set(relations.members("w") ?? []), [B, C], "members are the targets");
    });

    it("a viewer among its own targets does not see itself", () => {
      const relations = new Relations();
      assert.deepEqual(relations.set("w", [A], [A, B]), [[A, B]]);
      assert.equal(relations.sees(A, A), false);
    });
  });

  describe("gained pairs", () => {
    it("are only the pairs no other relation granted", () => {
      const relations = new Relations();
      relations.setGroup("r1", [A, B]);
      assert.deepEqual(
        sorted(relations.setGroup("r2", [A, B, C])),
        sorted([
          [A, C],
          [B, C],
          [C, A],
          [C, B],
        ]),
      );
      assert.deepEqual(relations.set("w", [A], [B, C]), [], "a and b already see each other");
    });

    it("a pair lost by every relation is gained again by the next", () => {
      const relations = new Relations();
      relations.set("w", [A], [B]);
      relations.delete("w");
      assert.deepEqual(relations.set("w2", [A], [B]), [[A, B]]);
    });
  });

  describe("replacing a relation", () => {
    it("keeps the common pairs without granting them again", () => {
      const relations = new Relations();
      relations.setGroup("r", [A, B, C]);
      assert.deepEqual(
        sorted(relations.setGroup("r", [A, B, D])),
        sorted([
          [A, D],
          [B, D],
          [D, A],
          [D, B],
        ]),
      );
      assert.equal(relations.sees(A, B), true);
      assert.equal(relations.sees(A, C), false, "c left");
      assert.equal(relations.sees(C, A), false);
      assert.deepEqual([...relations.viewersOf(C)], []);
      assert.deepEqual(set(relations.members("r") ?? []), [A, B, D]);
    });

    it("with the same members grants nothing and changes nothing", () => {
      const relations = new Relations();
      relations.setGroup("r", [A, B]);
      assert.deepEqual(relations.setGroup("r", [B, A]), []);
      assert.equal(relations.sees(A, B), true);
      assert.equal(relations.sees(B, A), true);
    });

    it("to empty drops every pair but keeps the key", () => {
      const relations = new Relations();
      relations.setGroup("r", [A, B]);
      assert.deepEqual(relations.setGroup("r", []), []);
      assert.equal(relations.sees(A, B), false);
      assert.equal(relations.has("r"), true);
      assert.deepEqual(set(relations.members("r") ?? ["?"]), []);
    });

    it("a watch turned around swaps who sees whom", () => {
      const relations = new Relations();
      relations.set("w", [A], [B]);
      assert.deepEqual(relations.set("w", [B], [A]), [[B, A]]);
      assert.equal(relations.sees(A, B), false);
      assert.equal(relations.sees(B, A), true);
    });
  });

  describe("delete", () => {
    it("removes the relation's pairs and its key", () => {
      const relations = new Relations();
      relations.setGroup("r", [A, B]);
      relations.delete("r");
      assert.equal(relations.has("r"), false);
      assert.equal(relations.members("r"), undefined);
      assert.equal(relations.sees(A, B), false);
      assert.deepEqual([...relations.viewersOf(A)], []);
      assert.deepEqual([...relations.visibleTo(A)], []);
    });

    it("an unknown key is a no-op", () => {
      const relations = new Relations();
      relations.setGroup("r", [A, B]);
      relations.delete("nope");
      assert.equal(relations.sees(A, B), true);
    });
  });

  describe("overlapping relations", () => {
    it("a pair stays while any relation grants it", () => {
      const relations = new Relations();
      relations.setGroup("r1", [A, B, C]);
      relations.setGroup("r2", [A, B]);
      relations.set("w", [A], [B, D]);

      relations.delete("r1");
      assert.equal(relations.sees(A, B), true, "r2 and w still grant a → b");
      assert.equal(relations.sees(B, A), true, "r2 still grants b → a");
      assert.equal(relations.sees(A, C), false);
      relations.delete("r2");
      assert.equal(relations.sees(A, B), true, "w still grants a → b");
      assert.equal(relations.sees(B, A), false);
      assert.deepEqual(set(relations.visibleTo(A)), [B, D]);
      relations.delete("w");
      assert.deepEqual([...relations.visibleTo(A)], []);
      assert.deepEqual([...relations.viewersOf(B)], []);
    });

    it("counting survives replacing one of several relations that grant the same pair", () => {
      const relations = new Relations();
      relations.setGroup("r1", [A, B]);
      relations.setGroup("r2", [A, B]);
      relations.setGroup("r1", [A, B, C]);
      relations.setGroup("r1", [C]);
      assert.equal(relations.sees(A, B), true, "r2 still grants it");
      relations.delete("r2");
      assert.equal(relations.sees(A, B), false);
      relations.delete("r1");
      assert.deepEqual([...relations.viewersOf(C)], []);
    });
  });

  describe("against a naive oracle (seeded random operations)", () => {
    /** Recomputes everything from the relations themselves, the slow way. */
    class Oracle {
      readonly relations = new Map<string, { viewers: Set<string>; targets: Set<string> }>();

      pairs(): Set<string> {
        const pairs = new Set<string>();
        for (const { viewers, targets } of this.relations.values()) {
          for (const viewer of viewers) {
            for (const target of targets) {
              if (viewer !== target) pairs.add(`${viewer} ${target}`);
            }
          }
        }
        return pairs;
      }
    }

    const USERS = ["u0", "u1", "u2", "u3", "u4", "u5", "u6"].map((u) => `${u}@example.org`);
    const KEYS = ["k0", "k1", "k2", "k3", "k4"];

    for (const seed of [1, 2, 3, 42, 1234, 99999, 0xdeadbeef, 7, 8, 9]) {
      it(`seed ${seed}: gained pairs, sees, viewersOf, visibleTo and members match`, () => {
        const random = seededRandom(seed);
        const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
        const subset = (): string[] =>
          Array.from({ length: Math.floor(random() * 5) }, () => pick(USERS));

        const relations = new Relations();
        const oracle = new Oracle();
        for (let step = 0; step < 400; step++) {
          const before = oracle.pairs();
          const key = pick(KEYS);
          const op = random();
          const where = `seed ${seed} step ${step}`;
          if (op < 0.15) {
            relations.delete(key);
            oracle.relations.delete(key);
          } else {
            const group = op < 0.55;
            const viewers = subset();
            const targets = group ? viewers : subset();
            const gained = group
              ? relations.setGroup(key, viewers)
              : relations.set(key, viewers, targets);
            oracle.relations.set(key, { viewers: new Set(viewers), targets: new Set(targets) });
            const after = oracle.pairs();
            const expected = [...after].filter((pair) => !before.has(pair)).sort();
            const actual = gained.map((pair) => pair.join(" "));
            assert.equal(new Set(actual).size, actual.length, `${where}: a pair gained twice`);
            assert.deepEqual(actual.sort(), expected, `${where}: gained pairs`);
          }

          const pairs = oracle.pairs();
          for (const viewer of USERS) {
            for (const target of USERS) {
              assert.equal(
                relations.sees(viewer, target),
                pairs.has(`${viewer} ${target}`),
                `${where}: sees(${viewer}, ${target})`,
              );
            }
            assert.deepEqual(
              set(relations.visibleTo(viewer)),
              USERS.filter((target) => pairs.has(`${viewer} ${target}`)),
              `${where}: visibleTo(${viewer})`,
            );
            assert.deepEqual(
              set(relations.viewersOf(viewer)),
              USERS.filter((other) => pairs.has(`${other} ${viewer}`)),
              `${where}: viewersOf(${viewer})`,
            );
          }
          for (const k of KEYS) {
            const expected = oracle.relations.get(k);
            assert.equal(relations.has(k), expected !== undefined, `${where}: has(${k})`);
            assert.deepEqual(
              relations.members(k) && set(relations.members(k)!),
              expected && set(expected.targets),
              `${where}: members(${k})`,
            );
          }
        }

        // Deleting everything leaves nothing behind.
        for (const key of KEYS) relations.delete(key);
        for (const user of USERS) {
          assert.deepEqual([...relations.viewersOf(user)], []);
          assert.deepEqual([...relations.visibleTo(user)], []);
        }
      });
    }
  });
});

describe("Relations built viewer by viewer", () => {
  it("counts reasons per viewer and grants each pair once", () => {
    const relations = new Relations();
    assert.deepEqual(relations.addViewer("k", "v", ["a", "b"]), [
      ["v", "a"],
      ["v", "b"],
    ]);
    assert.deepEqual(relations.addViewer("k", "v", ["ignored"]), []);
    relations.removeViewer("k", "v");
    assert.ok(relations.sees("v", "a"), "one reason left");
    relations.removeViewer("k", "v");
    assert.ok(!relations.sees("v", "a"));
    assert.ok(!relations.has("k"), "the last viewer takes the relation with it");
  });

  it("setTargets grants new targets to every viewer and revokes the old", () => {
    const relations = new Relations();
    relations.addViewer("k", "v", ["a"]);
    relations.addViewer("k", "w", ["a"]);
    assert.deepEqual(relations.setTargets("k", ["a", "b"]), [
      ["v", "b"],
      ["w", "b"],
    ]);
    relations.setTargets("k", ["b"]);
    assert.ok(!relations.sees("v", "a") && relations.sees("w", "b"));
    assert.deepEqual(relations.setTargets("missing", ["x"]), []);
  });

  it("a pair granted by two relations survives one of them", () => {
    const relations = new Relations();
    relations.addViewer("k1", "v", ["a"]);
    relations.setGroup("room", ["v", "a"]);
    relations.removeViewer("k1", "v");
    assert.ok(relations.sees("v", "a"));
    relations.delete("room");
    assert.ok(!relations.sees("v", "a"));
  });

  it("a viewer never sees itself", () => {
    const relations = new Relations();
    assert.deepEqual(relations.addViewer("k", "v", ["v", "a"]), [["v", "a"]]);
    assert.ok(!relations.sees("v", "v"));
  });
});
