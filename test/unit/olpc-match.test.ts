import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  aliasOf,
  findActivities,
  findBuddies,
  foldAlias,
  hasProperties,
  isEmptyActivityCriteria,
  isEmptyBuddyCriteria,
  isPublicActivity,
  matchActivity,
  matchBuddy,
  pickRandom,
  randomActivities,
  randomBuddies,
  type RandomSource,
} from "../../src/olpc/match.js";
import {
  compareActivities,
  compareText,
  sortedUnique,
  type Activity,
  type Buddy,
} from "../../src/olpc/model.js";
import type { Property } from "../../src/olpc/properties.js";

const str = (name: string, value: string): Property => ({ name, type: "str", value });
const bool = (name: string, value: boolean): Property => ({
  name,
  type: "bool",
  value: value ? "1" : "0",
});

function activity(id: string, properties: Property[], participants: string[] = []): Activity {
  return {
    id,
    room: `${id}@conference.localhost`,
    properties,
    participants: [...participants].sort(),
  };
}

function buddy(jid: string, properties: Property[] = [], alias?: string): Buddy {
  return { jid, properties, ...(alias === undefined ? {} : { alias }) };
}

const CONNECT = str("type", "org.laptop.Connect");
const CHAT = str("type", "org.laptop.Chat");
const BLUE = str("color", "#005FE4,#00A0FF");

const ACTIVITIES: Activity[] = [
  activity("c3", [CHAT, bool("private", false)], ["bob@localhost"]),
  activity("a1", [CONNECT, BLUE, bool("private", false)], ["alice@localhost", "bob@localhost"]),
  activity("b2", [CONNECT, bool("private", true)], ["alice@localhost"]),
  activity("d4", [CONNECT], []),
];

const BUDDIES: Buddy[] = [
  buddy("tom@localhost", [BLUE], "Tom"),
  buddy("thomas@localhost", [str("color", "#AABBCC,#001122")], "Thomas Müller"),
  buddy("anne@localhost", [BLUE, str("nick", "Annie")]),
  buddy("zed@localhost"),
];

/** A replayable random source: the given numbers, round and round. */
function sequence(...values: number[]): RandomSource {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}

describe("activity matching", () => {
  test("by properties: every given property, same type and value", () => {
    assert.deepEqual(
      findActivities(ACTIVITIES, { properties: [CONNECT] }).map((a) => a.id),
      ["a1", "b2", "d4"],
    );
    assert.deepEqual(
      findActivities(ACTIVITIES, { properties: [CONNECT, BLUE] }).map((a) => a.id),
      ["a1"],
    );
    const sameValueOtherType: Property = { name: "type", type: "bytes", value: CONNECT.value };
    assert.deepEqual(findActivities(ACTIVITIES, { properties: [sameValueOtherType] }), []);
    assert.deepEqual(findActivities(ACTIVITIES, { properties: [str("type", "org.laptop")] }), []);
  });

  test("by id", () => {
    assert.deepEqual(
      findActivities(ACTIVITIES, { id: "b2" }).map((a) => a.id),
      ["b2"],
    );
    assert.deepEqual(findActivities(ACTIVITIES, { id: "zz" }), []);
  });

  test("by participants: activities containing all of them", () => {
    assert.deepEqual(
      findActivities(ACTIVITIES, { participants: ["bob@localhost"] }).map((a) => a.id),
      ["a1", "c3"],
    );
    assert.deepEqual(
      findActivities(ACTIVITIES, {
        participants: ["alice@localhost", "bob@localhost"],
      }).map((a) => a.id),
      ["a1"],
    );
    assert.deepEqual(findActivities(ACTIVITIES, { participants: ["eve@localhost"] }), []);
  });

  test("criteria combine with AND", () => {
    assert.deepEqual(
      findActivities(ACTIVITIES, {
        properties: [CONNECT],
        participants: ["alice@localhost"],
        id: "b2",
      }).map((a) => a.id),
      ["b2"],
    );
    assert.equal(matchActivity(ACTIVITIES[1] as Activity, { id: "a1", properties: [CHAT] }), false);
  });

  test("no criteria selects everything, sorted by id", () => {
    assert.deepEqual(
      findActivities(ACTIVITIES, {}).map((a) => a.id),
      ["a1", "b2", "c3", "d4"],
    );
    assert.ok(isEmptyActivityCriteria({}));
    assert.ok(isEmptyActivityCriteria({ properties: [], participants: [] }));
    assert.ok(!isEmptyActivityCriteria({ id: "" }));
    assert.ok(!isEmptyActivityCriteria({ participants: ["a@b"] }));
  });

  test("the order is stable: id, then room", () => {
    const twins: Activity[] = [
      { id: "x", room: "r2@c", properties: [], participants: [] },
      { id: "x", room: "r1@c", properties: [], participants: [] },
    ];
    assert.deepEqual(
      findActivities(twins, {}).map((a) => a.room),
      ["r1@c", "r2@c"],
    );
    assert.equal(compareActivities({ id: "a", room: "z" }, { id: "b", room: "a" }), -1);
  });

  test("hasProperties with nothing wanted is true", () => {
    assert.ok(hasProperties([], []));
    assert.ok(hasProperties([CONNECT], []));
    assert.ok(!hasProperties([], [CONNECT]));
  });

  test("an activity is public unless its bool 'private' is true", () => {
    assert.ok(isPublicActivity({ properties: [bool("private", false)] }), "private false");
    assert.ok(!isPublicActivity({ properties: [bool("private", true)] }), "private true");
    assert.ok(
      isPublicActivity({ properties: [CONNECT] }),
      "no 'private' at all: the draft's examples",
    );
    assert.ok(isPublicActivity({ properties: [str("private", "1")] }), "not a bool");
    assert.ok(isPublicActivity({ properties: [] }), "no properties");
  });
});

describe("buddy matching", () => {
  test("by jid", () => {
    assert.deepEqual(
      findBuddies(BUDDIES, { jid: "zed@localhost" }).map((b) => b.jid),
      ["zed@localhost"],
    );
    assert.deepEqual(findBuddies(BUDDIES, { jid: "nobody@localhost" }), []);
  });

  test("by properties", () => {
    assert.deepEqual(
      findBuddies(BUDDIES, { properties: [BLUE] }).map((b) => b.jid),
      ["anne@localhost", "tom@localhost"],
    );
  });

  test("by alias: case-insensitive substring of the nick", () => {
    assert.deepEqual(
      findBuddies(BUDDIES, { alias: "tom" }).map((b) => b.jid),
      ["tom@localhost"],
    );
    assert.deepEqual(
      findBuddies(BUDDIES, { alias: "th" }).map((b) => b.jid),
      ["thomas@localhost"],
    );
    assert.deepEqual(
      findBuddies(BUDDIES, { alias: "MÜLLER" }).map((b) => b.jid),
      ["thomas@localhost"],
    );
    assert.deepEqual(
      findBuddies(BUDDIES, { alias: "o" }).map((b) => b.jid),
      ["thomas@localhost", "tom@localhost"],
    );
  });

  test("alias falls back to a str 'nick' property; a buddy with neither never matches", () => {
    assert.equal(aliasOf(BUDDIES[2] as Buddy), "Annie");
    assert.equal(aliasOf(BUDDIES[3] as Buddy), undefined);
    assert.equal(aliasOf(buddy("x@y", [{ name: "nick", type: "bytes", value: "" }])), undefined);
    assert.equal(aliasOf(buddy("x@y", [str("nick", "prop")], "pep")), "pep", "PEP nick wins");
    assert.deepEqual(
      findBuddies(BUDDIES, { alias: "ANN" }).map((b) => b.jid),
      ["anne@localhost"],
    );
    assert.equal(matchBuddy(BUDDIES[3] as Buddy, { alias: "" }), false);
  });

  test("alias folding is NFKC and lowercase", () => {
    assert.equal(foldAlias("Ｔｏｍ"), "tom");
    assert.equal(foldAlias("Mu\u0308ller"), foldAlias("Müller"));
  });

  test("criteria combine with AND; none selects everyone, sorted by jid", () => {
    assert.deepEqual(
      findBuddies(BUDDIES, { alias: "o", properties: [BLUE] }).map((b) => b.jid),
      ["tom@localhost"],
    );
    assert.deepEqual(
      findBuddies(BUDDIES, {}).map((b) => b.jid),
      ["anne@localhost", "thomas@localhost", "tom@localhost", "zed@localhost"],
    );
    assert.ok(isEmptyBuddyCriteria({}));
    assert.ok(isEmptyBuddyCriteria({ properties: [] }));
    assert.ok(!isEmptyBuddyCriteria({ alias: "x" }));
    assert.ok(!isEmptyBuddyCriteria({ jid: "x@y" }));
  });
});

describe("random selection", () => {
  const letters = ["a", "b", "c", "d", "e"];

  test("is deterministic given the random source", () => {
    assert.deepEqual(pickRandom(letters, 3, sequence(0)), ["a", "b", "c"]);
    assert.deepEqual(pickRandom(letters, 2, sequence(0.99)), ["e", "a"]);
    assert.deepEqual(
      pickRandom(letters, 5, sequence(0.5, 0.1)),
      pickRandom(letters, 5, sequence(0.5, 0.1)),
    );
  });

  test("picks distinct items, at most n, never more than there are", () => {
    for (const n of [0, 1, 3, 5, 9]) {
      const picked = pickRandom(letters, n, Math.random);
      assert.equal(picked.length, Math.min(n, letters.length));
      assert.equal(new Set(picked).size, picked.length);
      for (const item of picked) assert.ok(letters.includes(item));
    }
    assert.deepEqual(pickRandom([], 3, Math.random), []);
    assert.deepEqual(pickRandom(letters, -1, Math.random), []);
  });

  test("survives a source that returns 1 or a negative number", () => {
    assert.deepEqual(pickRandom(letters, 2, sequence(1)).length, 2);
    assert.deepEqual(pickRandom(letters, 2, sequence(-0.5)), ["a", "b"]);
  });

  test("does not change its input", () => {
    const input = [...letters];
    pickRandom(input, 5, sequence(0.7));
    assert.deepEqual(input, letters);
  });

  test("every item can be chosen", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      for (const item of pickRandom(letters, 1, sequence(i / 5))) seen.add(item);
    }
    assert.equal(seen.size, 5);
  });

  test("random views come back sorted, whatever the input order", () => {
    const picked = randomActivities(ACTIVITIES, 3, sequence(0.9, 0.2, 0.6));
    assert.equal(picked.length, 3);
    assert.deepEqual(
      picked.map((a) => a.id),
      [...picked.map((a) => a.id)].sort(),
    );
    const reversed = randomActivities([...ACTIVITIES].reverse(), 3, sequence(0.9, 0.2, 0.6));
    assert.deepEqual(reversed, picked, "input order does not change the choice");
    const buddies = randomBuddies(BUDDIES, 2, sequence(0.3));
    assert.equal(buddies.length, 2);
    assert.ok(compareText(buddies[0]?.jid ?? "", buddies[1]?.jid ?? "") < 0);
    assert.equal(randomBuddies(BUDDIES, 10, Math.random).length, 4);
  });
});

describe("model helpers", () => {
  test("sortedUnique and compareText are locale-free", () => {
    assert.deepEqual(sortedUnique(["b", "a", "B", "b"]), ["B", "a", "b"]);
    assert.equal(compareText("a", "a"), 0);
    assert.equal(compareText("Z", "a"), -1);
  });
});
