import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InCallTracker, type CallChange } from "../../src/presence/in-call.js";

/** The fake clock is just the numbers passed as `now`; every beat counts for T ms. */
const T = 30;

const ALICE = "alice@example.org";
const BOB = "bob@example.org";
const CAROL = "carol@example.org";
const ALICE_PHONE = `${ALICE}/phone`;
const ALICE_LAPTOP = `${ALICE}/laptop`;
const BOB_PHONE = `${BOB}/phone`;
const CAROL_PHONE = `${CAROL}/phone`;

const on = (room: string): CallChange => ({ room, active: true });
const off = (room: string): CallChange => ({ room, active: false });

/** A tracker where alice and bob both beat in `room` at `at`: the call is on. */
function inCall(room = "r", at = 0): InCallTracker {
  const tracker = new InCallTracker(T);
  tracker.beat(room, ALICE, ALICE_PHONE, at);
  assert.deepEqual(tracker.beat(room, BOB, BOB_PHONE, at), on(room));
  return tracker;
}

describe("InCallTracker", () => {
  describe("constructor", () => {
    it("takes a positive finite timeout", () => {
      for (const timeout of [1, 0.5, 30_000, Number.MAX_SAFE_INTEGER]) {
        assert.doesNotThrow(() => new InCallTracker(timeout), String(timeout));
      }
    });

    it("refuses anything else with a RangeError", () => {
      for (const timeout of [0, -0, -1, NaN, Infinity, -Infinity, "30" as unknown as number]) {
        assert.throws(() => new InCallTracker(timeout), RangeError, String(timeout));
      }
    });
  });

  it("refuses a time that is not a finite number, changing nothing", () => {
    const tracker = inCall();
    for (const now of [NaN, Infinity, -Infinity]) {
      assert.throws(() => tracker.beat("r", CAROL, CAROL_PHONE, now), RangeError);
      assert.throws(() => tracker.hangUp("r", BOB_PHONE, now), RangeError);
      assert.throws(() => tracker.dropDevice(BOB_PHONE, now), RangeError);
      assert.throws(() => tracker.expire(now), RangeError);
    }
    assert.equal(tracker.isActive("r"), true);
    assert.equal(tracker.nextExpiry(), T);
    assert.deepEqual(tracker.expire(T - 1), []);
  });

  describe("a single user", () => {
    it("never makes a call, however many devices beat", () => {
      const tracker = new InCallTracker(T);
      for (let now = 0; now < 5 * T; now += 5) {
        assert.equal(tracker.beat("r", ALICE, ALICE_PHONE, now), undefined);
        assert.equal(tracker.beat("r", ALICE, ALICE_LAPTOP, now + 1), undefined);
        assert.deepEqual(tracker.expire(now + 2), []);
        assert.equal(tracker.isActive("r"), false);
      }
      assert.deepEqual(tracker.rooms(), ["r"]);
    });
  });

  describe("two users", () => {
    it("turn the flag on at the second user's first beat, reported once", () => {
      const tracker = new InCallTracker(T);
      assert.equal(tracker.isActive("r"), false);
      assert.equal(tracker.beat("r", ALICE, ALICE_PHONE, 0), undefined);
      assert.equal(tracker.isActive("r"), false);
      assert.deepEqual(tracker.beat("r", BOB, BOB_PHONE, 3), on("r"));
      assert.equal(tracker.isActive("r"), true);
      assert.equal(tracker.beat("r", BOB, BOB_PHONE, 4), undefined);
      assert.equal(tracker.beat("r", ALICE, ALICE_PHONE, 5), undefined);
    });

    it("keep it on for as long as both beat in time", () => {
      const tracker = inCall("r", 0);
      for (let now = T - 1; now < 20 * T; now += T - 1) {
        assert.equal(tracker.beat("r", ALICE, ALICE_PHONE, now), undefined);
        assert.equal(tracker.beat("r", BOB, BOB_PHONE, now), undefined);
        assert.deepEqual(tracker.expire(now + T - 1), []);
        assert.equal(tracker.isActive("r"), true);
      }
    });

    it("turn it off through expire() exactly when the silent one's beat is T old", () => {
      const tracker = inCall("r", 0);
      tracker.beat("r", BOB, BOB_PHONE, 7); // bob's last beat: off at 7 + T
      for (const now of [10, 20, 30, 36]) tracker.beat("r", ALICE, ALICE_PHONE, now);
      assert.deepEqual(tracker.expire(7 + T - 1), []);
      assert.equal(tracker.isActive("r"), true);
      assert.deepEqual(tracker.expire(7 + T), [off("r")]);
      assert.equal(tracker.isActive("r"), false);
      assert.deepEqual(tracker.expire(7 + T + 1), []);
      assert.deepEqual(tracker.rooms(), ["r"], "alice still beats");
    });

    it("turn it off at the first beat T after the silent one's last, not before", () => {
      const tracker = inCall("r", 0);
      tracker.beat("r", BOB, BOB_PHONE, 7);
      assert.equal(tracker.beat("r", ALICE, ALICE_PHONE, 7 + T - 1), undefined);
      assert.equal(tracker.isActive("r"), true);
      assert.deepEqual(tracker.beat("r", ALICE, ALICE_PHONE, 7 + T), off("r"));
      assert.equal(tracker.isActive("r"), false);
    });

    it("do not make a call with a beat that expires as the other arrives", () => {
      const late = new InCallTracker(T);
      late.beat("r", ALICE, ALICE_PHONE, 0);
      assert.equal(late.beat("r", BOB, BOB_PHONE, T), undefined);
      assert.equal(late.isActive("r"), false);

      const justInTime = new InCallTracker(T);
      justInTime.beat("r", ALICE, ALICE_PHONE, 0);
      assert.deepEqual(justInTime.beat("r", BOB, BOB_PHONE, T - 1), on("r"));
    });

    it("start a new call when the one who stopped beats again", () => {
      const tracker = inCall("r", 0);
      tracker.beat("r", ALICE, ALICE_PHONE, 20);
      assert.deepEqual(tracker.expire(T), [off("r")]);
      assert.deepEqual(tracker.beat("r", BOB, BOB_PHONE, T + 5), on("r"));
    });
  });

  describe("several devices of one user", () => {
    it("count as one user: with another user, it is a call until the other leaves", () => {
      const tracker = new InCallTracker(T);
      assert.equal(tracker.beat("r", ALICE, ALICE_PHONE, 0), undefined);
      assert.equal(tracker.beat("r", ALICE, ALICE_LAPTOP, 1), undefined);
      assert.equal(tracker.isActive("r"), false);
      assert.deepEqual(tracker.beat("r", BOB, BOB_PHONE, 2), on("r"));
      assert.equal(tracker.hangUp("r", ALICE_PHONE, 3), undefined, "her laptop is still in");
      assert.equal(tracker.isActive("r"), true);
      assert.deepEqual(tracker.hangUp("r", BOB_PHONE, 4), off("r"));
      assert.equal(tracker.isActive("r"), false);
      assert.deepEqual(tracker.rooms(), ["r"]);
    });

    it("keep the user in the call while any of them beats", () => {
      const tracker = inCall("r", 0);
      for (const now of [10, 20, 30, 40]) {
        tracker.beat("r", ALICE, ALICE_LAPTOP, now);
        tracker.beat("r", BOB, BOB_PHONE, now);
      }
      assert.deepEqual(tracker.expire(T), [], "alice's phone expires, her laptop beats");
      assert.equal(tracker.isActive("r"), true);
      assert.deepEqual(tracker.expire(40 + T), [off("r")]);
    });

    it("count the user a device beat for last", () => {
      const tracker = new InCallTracker(T);
      const shared = "kiosk@example.org/1";
      tracker.beat("r", ALICE, ALICE_PHONE, 0);
      assert.equal(tracker.beat("r", ALICE, shared, 1), undefined);
      assert.deepEqual(tracker.beat("r", BOB, shared, 2), on("r"));
      assert.deepEqual(tracker.beat("r", ALICE, shared, 3), off("r"));
      assert.equal(tracker.hangUp("r", ALICE_PHONE, 4), undefined);
      assert.equal(tracker.hangUp("r", shared, 5), undefined);
      assert.deepEqual(tracker.rooms(), []);
    });
  });

  describe("hangUp", () => {
    it("turns the flag off at once", () => {
      const tracker = inCall("r", 0);
      assert.deepEqual(tracker.hangUp("r", ALICE_PHONE, 1), off("r"));
      assert.equal(tracker.isActive("r"), false);
      assert.equal(tracker.nextExpiry(), T, "bob's beat is left");
    });

    it("of a device not in the call, or in an unknown room, changes nothing", () => {
      const tracker = inCall("r", 0);
      assert.equal(tracker.hangUp("r", CAROL_PHONE, 1), undefined);
      assert.equal(tracker.hangUp("elsewhere", ALICE_PHONE, 1), undefined);
      assert.equal(tracker.isActive("r"), true);
      assert.deepEqual(tracker.rooms(), ["r"]);
    });

    it("applies expiry to the room first", () => {
      const tracker = new InCallTracker(T);
      tracker.beat("r", ALICE, ALICE_PHONE, 0);
      tracker.beat("r", BOB, BOB_PHONE, 10);
      tracker.beat("r", CAROL, CAROL_PHONE, 20);
      assert.equal(tracker.hangUp("r", BOB_PHONE, T - 1), undefined, "alice and carol are in");
      assert.deepEqual(tracker.hangUp("r", BOB_PHONE, T), off("r"), "alice expired");
    });
  });

  describe("dropDevice", () => {
    it("takes the device out of every room at once, reporting in room order", () => {
      const tracker = new InCallTracker(T);
      for (const room of ["r2", "r1", "r3"]) tracker.beat(room, ALICE, ALICE_PHONE, 0);
      assert.deepEqual(tracker.beat("r2", BOB, BOB_PHONE, 1), on("r2"));
      assert.deepEqual(tracker.beat("r1", BOB, BOB_PHONE, 2), on("r1"));
      assert.deepEqual(tracker.dropDevice(BOB_PHONE, 3), [off("r1"), off("r2")]);
      assert.deepEqual(tracker.rooms(), ["r1", "r2", "r3"], "alice is still in them");
      assert.deepEqual(tracker.dropDevice(BOB_PHONE, 4), []);
    });

    it("applies expiry everywhere first and reports it along", () => {
      const tracker = inCall("b-stale", 0);
      tracker.beat("a", ALICE, ALICE_PHONE, 20);
      tracker.beat("a", BOB, BOB_PHONE, 20);
      tracker.beat("c", CAROL, CAROL_PHONE, 20);
      tracker.beat("c", BOB, BOB_PHONE, 20);
      assert.deepEqual(tracker.dropDevice(BOB_PHONE, T), [off("a"), off("b-stale"), off("c")]);
      assert.deepEqual(tracker.rooms(), ["a", "c"]);
    });

    it("of an unknown device reports nothing", () => {
      const tracker = inCall();
      assert.deepEqual(tracker.dropDevice(CAROL_PHONE, 1), []);
      assert.equal(tracker.isActive("r"), true);
    });

    it("leaves the user's other devices in", () => {
      const tracker = inCall("r", 0);
      tracker.beat("r", ALICE, ALICE_LAPTOP, 1);
      assert.deepEqual(tracker.dropDevice(ALICE_PHONE, 2), []);
      assert.equal(tracker.isActive("r"), true);
      assert.deepEqual(tracker.dropDevice(ALICE_LAPTOP, 3), [off("r")]);
    });
  });

  describe("dropRoom", () => {
    it("reports the end of an active call and forgets the room", () => {
      const tracker = inCall("r", 0);
      tracker.beat("other", CAROL, CAROL_PHONE, 5);
      assert.deepEqual(tracker.dropRoom("r"), off("r"));
      assert.equal(tracker.isActive("r"), false);
      assert.deepEqual(tracker.rooms(), ["other"]);
      assert.equal(tracker.nextExpiry(), 5 + T);
      assert.deepEqual(tracker.dropRoom("r"), undefined);
    });

    it("of a room without a call, or an unknown room, reports nothing", () => {
      const tracker = new InCallTracker(T);
      tracker.beat("r", ALICE, ALICE_PHONE, 0);
      assert.equal(tracker.dropRoom("r"), undefined);
      assert.equal(tracker.dropRoom("never"), undefined);
      assert.deepEqual(tracker.rooms(), []);
      assert.equal(tracker.nextExpiry(), undefined);
    });

    it("forgets who was in it: the room starts afresh", () => {
      const tracker = inCall("r", 0);
      tracker.beat("r2", ALICE, ALICE_PHONE, 0);
      tracker.beat("r2", BOB, BOB_PHONE, 0);
      tracker.dropRoom("r");
      assert.equal(tracker.beat("r", ALICE, ALICE_PHONE, 1), undefined, "bob's beat is gone");
      assert.deepEqual(tracker.dropDevice(BOB_PHONE, 2), [off("r2")], "bob is only in r2");
    });
  });

  describe("reporting", () => {
    it("reports nothing when a beat changes nothing", () => {
      const tracker = new InCallTracker(T);
      const changes: (CallChange | undefined)[] = [];
      for (let now = 0; now < 3 * T; now += 10) {
        changes.push(tracker.beat("r", ALICE, ALICE_PHONE, now));
        changes.push(tracker.beat("r", BOB, BOB_PHONE, now));
      }
      assert.deepEqual(
        changes.filter((change) => change !== undefined),
        [on("r")],
      );
    });

    it("lets a beat report its own room only; other flags wait for expire()", () => {
      const tracker = inCall("stale", 0);
      assert.equal(tracker.beat("fresh", CAROL, CAROL_PHONE, T + 5), undefined);
      assert.equal(tracker.isActive("stale"), true, "as last reported");
      assert.ok(tracker.nextExpiry()! <= T + 5, "expire() is due");
      assert.deepEqual(tracker.expire(T + 5), [off("stale")]);
      assert.equal(tracker.nextExpiry(), 2 * T + 5);
    });

    it("has expire() report several rooms' changes in room order", () => {
      const tracker = new InCallTracker(T);
      for (const room of ["c", "a", "d", "B", "b"]) {
        tracker.beat(room, ALICE, ALICE_PHONE, 0);
        tracker.beat(room, BOB, BOB_PHONE, 0);
      }
      tracker.beat("e", CAROL, CAROL_PHONE, 0); // expires without a change
      tracker.beat("d", ALICE, ALICE_PHONE, 10);
      tracker.beat("d", BOB, BOB_PHONE, 10);
      assert.deepEqual(tracker.expire(T), [off("B"), off("a"), off("b"), off("c")]);
      assert.deepEqual(tracker.rooms(), ["d"]);
      assert.deepEqual(tracker.expire(10 + T), [off("d")]);
      assert.deepEqual(tracker.rooms(), []);
    });
  });

  describe("nextExpiry", () => {
    it("is the time the oldest beat expires, or undefined", () => {
      const tracker = new InCallTracker(T);
      assert.equal(tracker.nextExpiry(), undefined);
      tracker.beat("r", ALICE, ALICE_PHONE, 10);
      assert.equal(tracker.nextExpiry(), 10 + T);
      tracker.beat("r2", BOB, BOB_PHONE, 15);
      assert.equal(tracker.nextExpiry(), 10 + T);
      tracker.beat("r", ALICE, ALICE_PHONE, 20);
      assert.equal(tracker.nextExpiry(), 15 + T, "alice beat again");
      assert.deepEqual(tracker.expire(15 + T - 1), []);
      assert.equal(tracker.nextExpiry(), 15 + T);
      assert.deepEqual(tracker.expire(15 + T), []);
      assert.equal(tracker.nextExpiry(), 20 + T);
      assert.equal(tracker.hangUp("r", ALICE_PHONE, 21), undefined);
      assert.equal(tracker.nextExpiry(), undefined);
    });
  });

  it("takes a time earlier than one seen before as the latest time seen", () => {
    const tracker = new InCallTracker(T);
    assert.deepEqual(tracker.expire(100), []);
    tracker.beat("r", ALICE, ALICE_PHONE, 50);
    assert.deepEqual(tracker.beat("r", BOB, BOB_PHONE, 60), on("r"));
    assert.equal(tracker.nextExpiry(), 100 + T);
    assert.deepEqual(tracker.expire(100 + T - 1), []);
    assert.deepEqual(tracker.expire(100 + T), [off("r")]);
  });

  describe("memory", () => {
    it("forgets rooms once no device is in them, whichever way they left", () => {
      const tracker = new InCallTracker(T);
      tracker.beat("by-expiry", ALICE, ALICE_PHONE, 0);
      tracker.beat("by-hang-up", ALICE, ALICE_PHONE, 0);
      tracker.beat("by-drop", BOB, BOB_PHONE, 0);
      tracker.beat("by-room", CAROL, CAROL_PHONE, 0);
      tracker.hangUp("by-hang-up", ALICE_PHONE, 1);
      tracker.dropDevice(BOB_PHONE, 2);
      tracker.dropRoom("by-room");
      assert.deepEqual(tracker.rooms(), ["by-expiry"]);
      tracker.expire(T);
      assert.deepEqual(tracker.rooms(), []);
      assert.equal(tracker.nextExpiry(), undefined);
    });

    it("handles thousands of rooms", () => {
      const tracker = new InCallTracker(T);
      const rooms = Array.from({ length: 5000 }, (_, i) => `room-${String(i).padStart(4, "0")}`);
      for (let now = 0; now < 10; now++) {
        for (const room of rooms) {
          tracker.beat(room, ALICE, `${ALICE}/${room}`, now);
          tracker.beat(room, BOB, `${BOB}/${room}`, now);
        }
      }
      assert.ok(rooms.every((room) => tracker.isActive(room)));
      assert.deepEqual(tracker.expire(9 + T - 1), []);
      assert.deepEqual(tracker.expire(9 + T), rooms.map(off));
      assert.deepEqual(tracker.rooms(), []);
    });
  });

  describe("against a naive oracle, on seeded random schedules", () => {
    const ROOMS = ["r1", "r2", "r3"];
    const DEVICES = [ALICE_PHONE, ALICE_LAPTOP, BOB_PHONE, CAROL_PHONE];
    const userOf = (device: string) => device.slice(0, device.indexOf("/"));

    type Event =
      | { kind: "beat"; room: string; device: string; at: number }
      | { kind: "hangUp"; room: string; device: string; at: number }
      | { kind: "dropDevice"; device: string; at: number }
      | { kind: "dropRoom"; room: string }
      | { kind: "expire"; at: number };

    /** Recomputes every flag from the whole history; knows nothing of the tracker's structures. */
    class Oracle {
      readonly history: Event[] = [];
      /** The flags as the tracker should have reported them. */
      readonly reported = new Map<string, boolean>();
      clock = -Infinity;

      constructor(readonly timeout: number) {}

      tick(now: number): number {
        this.clock = Math.max(this.clock, now);
        return this.clock;
      }

      /** The time `device`'s beat in `room` counts until, if its last word there is a beat. */
      beatUntil(room: string, device: string): number | undefined {
        let until: number | undefined;
        for (const event of this.history) {
          if (event.kind === "beat" && event.room === room && event.device === device) {
            until = event.at + this.timeout;
          } else if (
            (event.kind === "hangUp" && event.room === room && event.device === device) ||
            (event.kind === "dropDevice" && event.device === device) ||
            (event.kind === "dropRoom" && event.room === room)
          ) {
            until = undefined;
          }
        }
        return until;
      }

      liveDevices(room: string, now: number): string[] {
        return DEVICES.filter((device) => {
          const until = this.beatUntil(room, device);
          return until !== undefined && now < until;
        });
      }

      truth(room: string, now: number): boolean {
        return new Set(this.liveDevices(room, now).map(userOf)).size >= 2;
      }

      /** Brings the reported flag of each room in `rooms` to the truth; returns the changes. */
      settle(rooms: string[], now: number): CallChange[] {
        const changes: CallChange[] = [];
        for (const room of rooms) {
          const active = this.truth(room, now);
          if (active !== (this.reported.get(room) ?? false)) changes.push({ room, active });
          this.reported.set(room, active);
        }
        return changes;
      }

      nextExpiry(now: number): number | undefined {
        const times = ROOMS.flatMap((room) =>
          this.liveDevices(room, now).map((device) => this.beatUntil(room, device)!),
        );
        return times.length === 0 ? undefined : Math.min(...times);
      }
    }

    /** mulberry32: a tiny PRNG, good enough to spread schedules, the same on every run. */
    function prng(seed: number): () => number {
      let state = seed >>> 0;
      return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    }

    const SCHEDULES = 400;
    const STEPS = 60;

    it(`agrees on ${SCHEDULES} schedules of ${STEPS} steps`, () => {
      /** How many changes each method reported, to show that the sweep is not vacuous. */
      const seen = new Map<string, number>();
      const count = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);

      for (let seed = 1; seed <= SCHEDULES; seed++) {
        const random = prng(seed);
        const pick = <V>(items: readonly V[]): V => items[Math.floor(random() * items.length)]!;
        const timeout = pick([1, 3, 10]);
        const tracker = new InCallTracker(timeout);
        const oracle = new Oracle(timeout);
        let time = 0;

        for (let step = 0; step < STEPS; step++) {
          const where = `seed ${seed}, step ${step}`;
          const roll = random();
          // Mostly forward, often by 0 or exactly to a boundary, sometimes backwards.
          time += roll < 0.05 ? -pick([1, timeout]) : pick([0, 0, 1, timeout - 1, timeout, 2]);
          const room = pick(ROOMS);
          const device = pick(DEVICES);
          const kind = random();

          let got: CallChange | CallChange[] | undefined;
          let expected: CallChange | CallChange[] | undefined;
          let everywhere = false;
          let method: string;
          if (kind < 0.55) {
            method = "beat";
            got = tracker.beat(room, userOf(device), device, time);
            const at = oracle.tick(time);
            oracle.history.push({ kind: "beat", room, device, at });
            expected = oracle.settle([room], at)[0];
          } else if (kind < 0.67) {
            method = "hangUp";
            got = tracker.hangUp(room, device, time);
            const at = oracle.tick(time);
            oracle.history.push({ kind: "hangUp", room, device, at });
            expected = oracle.settle([room], at)[0];
          } else if (kind < 0.77) {
            method = "dropDevice";
            everywhere = true;
            got = tracker.dropDevice(device, time);
            const at = oracle.tick(time);
            oracle.history.push({ kind: "dropDevice", device, at });
            expected = oracle.settle(ROOMS, at);
          } else if (kind < 0.85) {
            method = "dropRoom";
            got = tracker.dropRoom(room);
            oracle.history.push({ kind: "dropRoom", room });
            expected = oracle.settle([room], oracle.clock)[0];
          } else {
            method = "expire";
            everywhere = true;
            got = tracker.expire(time);
            const at = oracle.tick(time);
            oracle.history.push({ kind: "expire", at });
            expected = oracle.settle(ROOMS, at);
          }

          assert.deepEqual(got, expected, `${where}: ${method}`);
          for (const change of [got ?? []].flat()) count(`${method} ${change.active}`);
          for (const r of ROOMS) {
            assert.equal(tracker.isActive(r), oracle.reported.get(r) ?? false, `${where}: ${r}`);
          }
          const now = oracle.clock;
          const liveRooms = ROOMS.filter((r) => oracle.liveDevices(r, now).length > 0);
          const due = oracle.nextExpiry(now);
          if (everywhere) {
            assert.deepEqual(tracker.rooms(), liveRooms, `${where}: rooms()`);
            assert.equal(tracker.nextExpiry(), due, `${where}: nextExpiry()`);
          } else {
            // Other rooms may keep expired beats until expire(): never fewer, never later.
            const rooms = tracker.rooms();
            assert.ok(
              liveRooms.every((r) => rooms.includes(r)),
              `${where}: rooms() ${rooms.join()} has ${liveRooms.join()}`,
            );
            const next = tracker.nextExpiry();
            if (due !== undefined) assert.ok(next !== undefined && next <= due, where);
          }
        }

        const end = oracle.clock + timeout;
        assert.deepEqual(
          tracker.expire(end),
          ROOMS.filter((r) => oracle.reported.get(r)).map(off),
          `seed ${seed}: the end`,
        );
        assert.deepEqual(tracker.rooms(), [], `seed ${seed}: nothing left`);
        assert.equal(tracker.nextExpiry(), undefined, `seed ${seed}: nothing due`);
      }

      for (const key of [
        "beat true",
        "beat false",
        "hangUp false",
        "dropDevice false",
        "dropRoom false",
        "expire false",
      ]) {
        assert.ok((seen.get(key) ?? 0) >= 20, `the sweep saw ${key} ${seen.get(key) ?? 0} times`);
      }
      for (const key of seen.keys()) {
        assert.ok(key === "beat true" || key.endsWith(" false"), `only a beat turns a call on`);
      }
    });
  });
});
