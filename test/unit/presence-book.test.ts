import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DIRECT, SessionBook, type PresenceChange } from "../../src/presence/book.js";
import type { DeviceReport, DeviceShow, Show } from "../../src/presence/rules.js";

const ALICE = "alice@example.org";
const BOB = "bob@example.org";
const ALICE_PHONE = `${ALICE}/phone`;
const ALICE_LAPTOP = `${ALICE}/laptop`;
const BOB_PHONE = `${BOB}/phone`;
const ROOM = "room@muc.example.org";
const OTHER_ROOM = "other@muc.example.org";

const hand = (show: DeviceShow): DeviceReport => ({ show, idle: false });
const idle = (show: DeviceShow): DeviceReport => ({ show, idle: true });
const change = (user: string, previous: Show, current: Show): PresenceChange => ({
  user,
  previous,
  current,
});

describe("SessionBook", () => {
  describe("report", () => {
    it("a first direct report brings the user online and makes the device a new listener", () => {
      const book = new SessionBook();
      const outcome = book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      assert.deepEqual(outcome, { change: change(ALICE, "offline", "online"), newListener: true });
      assert.equal(book.combined(ALICE), "online");
      assert.equal(book.has(ALICE, ALICE_PHONE), true);
    });

    it("a repeated direct report is neither a change nor a new listener", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      const outcome = book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      assert.deepEqual(outcome, { change: undefined, newListener: false });
    });

    it("a direct report with a new state changes the combined presence but is no new listener", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      const outcome = book.report(ALICE, ALICE_PHONE, hand("dnd"), DIRECT);
      assert.deepEqual(outcome, { change: change(ALICE, "online", "dnd"), newListener: false });
    });

    it("a report from a room is never a new listener", () => {
      const book = new SessionBook();
      const outcome = book.report(ALICE, ALICE_PHONE, hand("away"), ROOM);
      assert.deepEqual(outcome, { change: change(ALICE, "offline", "away"), newListener: false });
      assert.equal(book.report(ALICE, ALICE_PHONE, hand("away"), ROOM).newListener, false);
    });

    it("the first direct report of a device already seen in a room is a new listener", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), ROOM);
      const outcome = book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      assert.deepEqual(outcome, { change: undefined, newListener: true });
      assert.equal(book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT).newListener, false);
    });

    it("a device that left and came back directly is a new listener again", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      book.leave(ALICE, ALICE_PHONE, DIRECT);
      assert.equal(book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT).newListener, true);
    });

    it("any source's report updates the one device state", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      const outcome = book.report(ALICE, ALICE_PHONE, hand("xa"), ROOM);
      assert.deepEqual(outcome.change, change(ALICE, "online", "xa"));
      assert.deepEqual(book.devices(ALICE), [ALICE_PHONE]);
    });
  });

  describe("change objects", () => {
    it("are returned only when the combined value changes", () => {
      const book = new SessionBook();
      assert.deepEqual(
        book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT).change,
        change(ALICE, "offline", "online"),
      );
      // A second device with the same state: still online.
      assert.equal(book.report(ALICE, ALICE_LAPTOP, hand("online"), DIRECT).change, undefined);
      // The laptop's later choice wins.
      assert.deepEqual(
        book.report(ALICE, ALICE_LAPTOP, hand("away"), DIRECT).change,
        change(ALICE, "online", "away"),
      );
      // Re-sending the phone's old choice is not a new choice.
      assert.equal(book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT).change, undefined);
      // The laptop goes idle: the phone is the only active device.
      assert.deepEqual(
        book.report(ALICE, ALICE_LAPTOP, idle("xa"), DIRECT).change,
        change(ALICE, "away", "online"),
      );
      // The phone goes idle too: the chattiest idle state.
      assert.equal(book.report(ALICE, ALICE_PHONE, idle("online"), DIRECT).change, undefined);
      assert.deepEqual(
        book.report(ALICE, ALICE_PHONE, idle("away"), DIRECT).change,
        change(ALICE, "online", "away"),
      );
      // Losing the laptop (xa, idle) changes nothing; losing the phone too goes offline.
      assert.equal(book.drop(ALICE, ALICE_LAPTOP), undefined);
      assert.deepEqual(book.drop(ALICE, ALICE_PHONE), change(ALICE, "away", "offline"));
    });

    it("concern one user only", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      assert.deepEqual(
        book.report(BOB, BOB_PHONE, hand("chat"), DIRECT).change,
        change(BOB, "offline", "chat"),
      );
      assert.equal(book.combined(ALICE), "online");
      assert.equal(book.combined(BOB), "chat");
    });
  });

  describe("leave", () => {
    it("the last source leaving takes the device offline", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      assert.deepEqual(book.leave(ALICE, ALICE_PHONE, DIRECT), change(ALICE, "online", "offline"));
      assert.equal(book.has(ALICE, ALICE_PHONE), false);
      assert.equal(book.combined(ALICE), "offline");
    });

    it("a device with a direct source and a room stays online until both are gone", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      book.report(ALICE, ALICE_PHONE, hand("online"), ROOM);

      assert.equal(book.leave(ALICE, ALICE_PHONE, DIRECT), undefined);
      assert.equal(book.has(ALICE, ALICE_PHONE), true);
      assert.equal(book.combined(ALICE), "online");
      assert.deepEqual(book.listeners(ALICE), [], "no longer a listener");
      assert.deepEqual(book.devices(ALICE), [ALICE_PHONE]);

      assert.deepEqual(book.leave(ALICE, ALICE_PHONE, ROOM), change(ALICE, "online", "offline"));
      assert.equal(book.has(ALICE, ALICE_PHONE), false);
    });

    it("the same holds with the room leaving first", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("away"), ROOM);
      book.report(ALICE, ALICE_PHONE, hand("away"), DIRECT);

      assert.equal(book.leave(ALICE, ALICE_PHONE, ROOM), undefined);
      assert.deepEqual(book.listeners(ALICE), [ALICE_PHONE]);
      assert.deepEqual(book.leave(ALICE, ALICE_PHONE, DIRECT), change(ALICE, "away", "offline"));
    });

    it("a source that never showed the device changes nothing", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), ROOM);
      assert.equal(book.leave(ALICE, ALICE_PHONE, DIRECT), undefined);
      assert.equal(book.leave(ALICE, ALICE_PHONE, OTHER_ROOM), undefined);
      assert.equal(book.has(ALICE, ALICE_PHONE), true);
    });

    it("an unknown user or device changes nothing", () => {
      const book = new SessionBook();
      assert.equal(book.leave(ALICE, ALICE_PHONE, DIRECT), undefined);
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      assert.equal(book.leave(ALICE, ALICE_LAPTOP, DIRECT), undefined);
      assert.equal(book.userCount, 1);
    });

    it("leaving twice reports the change once", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      assert.ok(book.leave(ALICE, ALICE_PHONE, DIRECT));
      assert.equal(book.leave(ALICE, ALICE_PHONE, DIRECT), undefined);
    });

    it("one device leaving while another stays recombines the rest", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      book.report(ALICE, ALICE_LAPTOP, hand("dnd"), DIRECT);
      assert.deepEqual(book.leave(ALICE, ALICE_LAPTOP, DIRECT), change(ALICE, "dnd", "online"));
      assert.deepEqual(book.devices(ALICE), [ALICE_PHONE]);
    });
  });

  describe("drop", () => {
    it("removes the device whatever its sources", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      book.report(ALICE, ALICE_PHONE, hand("online"), ROOM);
      book.report(ALICE, ALICE_PHONE, hand("online"), OTHER_ROOM);
      assert.deepEqual(book.drop(ALICE, ALICE_PHONE), change(ALICE, "online", "offline"));
      assert.equal(book.has(ALICE, ALICE_PHONE), false);
      // Its sources are gone with it.
      assert.equal(book.leave(ALICE, ALICE_PHONE, ROOM), undefined);
      assert.deepEqual(book.leaveSource(OTHER_ROOM), []);
    });

    it("an unknown device changes nothing", () => {
      const book = new SessionBook();
      assert.equal(book.drop(ALICE, ALICE_PHONE), undefined);
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      assert.equal(book.drop(ALICE, ALICE_LAPTOP), undefined);
      assert.equal(book.has(ALICE, ALICE_PHONE), true);
    });

    it("a dropped device that comes back starts afresh", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), ROOM);
      book.drop(ALICE, ALICE_PHONE);
      const outcome = book.report(ALICE, ALICE_PHONE, hand("away"), DIRECT);
      assert.deepEqual(outcome, { change: change(ALICE, "offline", "away"), newListener: true });
      // The room is no longer a source: the direct leave is the last one.
      assert.deepEqual(book.leave(ALICE, ALICE_PHONE, DIRECT), change(ALICE, "away", "offline"));
    });
  });

  describe("leaveSource", () => {
    it("takes every device the source showed out of it, listing those that went offline", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), ROOM);
      book.report(ALICE, ALICE_LAPTOP, hand("away"), ROOM);
      book.report(BOB, BOB_PHONE, hand("online"), ROOM);
      book.report(BOB, BOB_PHONE, hand("online"), DIRECT);
      book.report("carol@example.org", "carol@example.org/x", hand("dnd"), OTHER_ROOM);

      const left = book.leaveSource(ROOM);
      // The laptop's later choice (away) holds until it leaves too.
      assert.deepEqual(left, [
        { user: ALICE, device: ALICE_PHONE },
        { user: ALICE, device: ALICE_LAPTOP, change: change(ALICE, "away", "offline") },
      ]);
      assert.equal(book.combined(ALICE), "offline");
      assert.equal(book.combined(BOB), "online", "bob's phone still has its direct source");
      assert.deepEqual(book.listeners(BOB), [BOB_PHONE]);
      assert.equal(book.combined("carol@example.org"), "dnd", "other rooms are untouched");
      assert.equal(book.userCount, 2);
    });

    it("reports exactly one change per user, on the device whose leaving changed it", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), ROOM);
      book.report(ALICE, ALICE_LAPTOP, hand("online"), ROOM);
      const left = book.leaveSource(ROOM);
      assert.equal(left.length, 2);
      const changes = left.flatMap((entry) => (entry.change ? [entry.change] : []));
      assert.deepEqual(changes, [change(ALICE, "online", "offline")]);
      assert.equal(left[1]?.change, changes[0], "the last device's leaving is the change");
    });

    it("an unknown source leaves nothing", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      assert.deepEqual(book.leaveSource(ROOM), []);
      assert.equal(book.has(ALICE, ALICE_PHONE), true);
    });

    it("the direct source can be left like any other", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      book.report(BOB, BOB_PHONE, hand("online"), ROOM);
      assert.deepEqual(book.leaveSource(DIRECT), [
        { user: ALICE, device: ALICE_PHONE, change: change(ALICE, "online", "offline") },
      ]);
      assert.equal(book.has(BOB, BOB_PHONE), true);
    });
  });

  describe("listeners, devices and directDevices", () => {
    it("devices are every online device, listeners only those that sent presence themselves", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      book.report(ALICE, ALICE_LAPTOP, hand("online"), ROOM);
      book.report(BOB, BOB_PHONE, hand("online"), ROOM);

      assert.deepEqual(book.devices(ALICE).sort(), [ALICE_LAPTOP, ALICE_PHONE]);
      assert.deepEqual(book.listeners(ALICE), [ALICE_PHONE]);
      assert.deepEqual(book.devices(BOB), [BOB_PHONE]);
      assert.deepEqual(book.listeners(BOB), []);
      assert.deepEqual(book.devices("nobody@example.org"), []);
      assert.deepEqual(book.listeners("nobody@example.org"), []);
    });

    it("directDevices lists every direct device as [user, device]", () => {
      const book = new SessionBook();
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      book.report(ALICE, ALICE_LAPTOP, hand("online"), ROOM);
      book.report(BOB, BOB_PHONE, hand("away"), ROOM);
      book.report(BOB, BOB_PHONE, hand("away"), DIRECT);
      assert.deepEqual(
        [...book.directDevices()].sort(),
        [
          [ALICE, ALICE_PHONE],
          [BOB, BOB_PHONE],
        ].sort(),
      );
      book.leave(BOB, BOB_PHONE, DIRECT);
      assert.deepEqual([...book.directDevices()], [[ALICE, ALICE_PHONE]]);
      book.drop(ALICE, ALICE_PHONE);
      assert.deepEqual([...book.directDevices()], []);
    });

    it("combined is offline for a user never seen", () => {
      assert.equal(new SessionBook().combined(ALICE), "offline");
      assert.equal(new SessionBook().has(ALICE, ALICE_PHONE), false);
    });
  });

  describe("memory", () => {
    it("userCount counts users with at least one device", () => {
      const book = new SessionBook();
      assert.equal(book.userCount, 0);
      book.report(ALICE, ALICE_PHONE, hand("online"), DIRECT);
      book.report(ALICE, ALICE_LAPTOP, hand("online"), ROOM);
      assert.equal(book.userCount, 1);
      book.report(BOB, BOB_PHONE, hand("online"), ROOM);
      assert.equal(book.userCount, 2);
      book.leave(ALICE, ALICE_PHONE, DIRECT);
      assert.equal(book.userCount, 2);
      book.leave(ALICE, ALICE_LAPTOP, ROOM);
      assert.equal(book.userCount, 1);
      book.leaveSource(ROOM);
      assert.equal(book.userCount, 0);
    });

    it("forgets users whose last device is gone, whichever way it went", () => {
      const book = new SessionBook();
      const users = Array.from({ length: 50 }, (_, i) => `user${i}@example.org`);
      for (const [i, user] of users.entries()) {
        book.report(user, `${user}/a`, hand("online"), DIRECT);
        book.report(user, `${user}/b`, hand("away"), i % 2 === 0 ? ROOM : DIRECT);
      }
      assert.equal(book.userCount, users.length);
      for (const [i, user] of users.entries()) {
        if (i % 3 === 0) book.drop(user, `${user}/a`);
        else book.leave(user, `${user}/a`, DIRECT);
        if (i % 2 === 0) continue; // b is left by the room below
        book.leave(user, `${user}/b`, DIRECT);
      }
      book.leaveSource(ROOM);
      assert.equal(book.userCount, 0);
      assert.deepEqual([...book.directDevices()], []);
      for (const user of users) assert.equal(book.combined(user), "offline");
    });
  });
});
