import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ActivityIndex } from "../../src/olpc/index.js";
import { findActivities } from "../../src/olpc/match.js";
import type { Property } from "../../src/olpc/properties.js";
import type { OlpcStore } from "../../src/olpc/store.js";

/** The index's store is Postgres; here writes go nowhere (the SQL is covered by integration). */
const nowhere = {
  buddies: () => Promise.resolve([]),
  activities: () => Promise.resolve([]),
  saveBuddy: () => Promise.resolve(),
  deleteBuddy: () => Promise.resolve(),
  saveActivity: () => Promise.resolve(),
  deleteActivity: () => Promise.resolve(),
} as unknown as OlpcStore;

const str = (name: string, value: string): Property => ({ name, type: "str", value });

describe("ActivityIndex: candidates by property", () => {
  it("gives the same matches as a scan of every activity, through changes and closes", async () => {
    const index = new ActivityIndex(nowhere);
    await index.load();
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const types = ["Paint", "Chat", "Write"];
    const colors = ["red", "blue"];
    for (let step = 0; step < 400; step++) {
      const id = `a${Math.floor(random() * 60)}`;
      const roll = random();
      if (roll < 0.7) {
        const properties = [
          str("color", colors[Math.floor(random() * 2)]!),
          str("type", types[Math.floor(random() * 3)]!),
        ];
        await index.setActivityProperties({ id, room: `${id}@muc` }, properties, "host@x");
      } else {
        await index.leave({ id }, "host@x");
      }
      for (const criteria of [
        [str("type", "Paint")],
        [str("type", "Chat"), str("color", "red")],
        [str("color", "blue")],
        [str("type", "Nothing")],
        [{ name: "type", type: "int", value: "1" } as Property],
      ]) {
        const expected = findActivities(index.activities.values(), { properties: criteria });
        const got = findActivities(index.candidates(criteria), { properties: criteria });
        assert.deepEqual(
          got.map((a) => a.id),
          expected.map((a) => a.id),
          `step ${step}: ${JSON.stringify(criteria)}`,
        );
      }
    }
  });

  it("no criteria: every activity", async () => {
    const index = new ActivityIndex(nowhere);
    await index.setActivityProperties({ id: "x", room: "x@muc" }, [str("type", "A")], "h@x");
    assert.deepEqual(
      [...index.candidates(undefined)].map((a) => a.id),
      ["x"],
    );
    assert.deepEqual(
      [...index.candidates([])].map((a) => a.id),
      ["x"],
    );
  });

  it("a room moved to another activity id is found under the new one only", async () => {
    const index = new ActivityIndex(nowhere);
    await index.setActivityProperties({ id: "x", room: "r@muc" }, [str("type", "A")], "h@x");
    await index.setActivityProperties({ id: "x", room: "s@muc" }, [str("type", "B")], "h@x");
    assert.equal(index.activityByRoom("r@muc"), undefined);
    assert.equal(index.activityByRoom("s@muc")?.id, "x");
    assert.deepEqual([...index.candidates([str("type", "A")])], []);
  });
});
