import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { submitted } from "../harness/forms.js";
import { FieldProblem, type Form } from "../../src/adhoc/forms.js";
import {
  drainForm,
  drainedNote,
  duration,
  parseResize,
  resizeForm,
  resizedNote,
  statusForm,
  targetText,
} from "../../src/roompool/admin.js";
import {
  UNCONTROLLED,
  roomsToCreate,
  targetAvailable,
  type PoolControl,
} from "../../src/roompool/sizing.js";

const limits = { minAvailable: 5, maxRooms: 50 };
const set = (minAvailable: number | undefined, draining = false): PoolControl => ({
  minAvailable,
  draining,
});

describe("roomsToCreate", () => {
  test("without control: the configured shortfall, within max_rooms", () => {
    assert.equal(roomsToCreate({ open: 0, available: 0 }, UNCONTROLLED, limits), 5);
    assert.equal(roomsToCreate({ open: 10, available: 3 }, UNCONTROLLED, limits), 2);
    assert.equal(roomsToCreate({ open: 49, available: 0 }, UNCONTROLLED, limits), 1);
    assert.equal(roomsToCreate({ open: 50, available: 0 }, UNCONTROLLED, limits), 0);
    assert.equal(
      roomsToCreate({ open: 8, available: 8 }, UNCONTROLLED, limits),
      0,
      "never negative",
    );
  });

  test("an admin's target overrides min_available, up or down, 0 included", () => {
    assert.equal(roomsToCreate({ open: 0, available: 0 }, set(12), limits), 12);
    assert.equal(roomsToCreate({ open: 4, available: 2 }, set(3), limits), 1);
    assert.equal(roomsToCreate({ open: 4, available: 2 }, set(0), limits), 0);
    assert.equal(
      roomsToCreate({ open: 45, available: 0 }, set(12), limits),
      5,
      "max_rooms still bounds",
    );
  });

  test("draining makes none, whatever the target", () => {
    for (const control of [set(undefined, true), set(12, true), set(0, true)]) {
      assert.equal(roomsToCreate({ open: 0, available: 0 }, control, limits), 0);
    }
  });

  test("the target never exceeds max_rooms", () => {
    assert.equal(targetAvailable(set(80), limits), 50);
    assert.equal(targetAvailable(UNCONTROLLED, limits), 5);
    assert.equal(targetAvailable(set(0), limits), 0);
  });
});

describe("pool admin forms", () => {
  const values = (form: Form): Record<string, string | undefined> =>
    Object.fromEntries((form.fields ?? []).map((f) => [f.var ?? "", f.values?.join("\n")]));
  const submit = (value?: string) => submitted(value === undefined ? {} : { min_available: value });

  test("durations read as people read them", () => {
    assert.equal(duration(-5), "0 s");
    assert.equal(duration(59_999), "59 s");
    assert.equal(duration(60_000), "1 min 0 s");
    assert.equal(duration(3_599_000), "59 min 59 s");
    assert.equal(duration(3 * 3_600_000 + 20 * 60_000 + 5_000), "3 h 20 min");
  });

  test("the target says where it comes from", () => {
    assert.equal(targetText(UNCONTROLLED, limits), "5 (roompool.min_available)");
    assert.equal(
      targetText({ ...set(8), changedBy: "admin@example.org" }, limits),
      "8 (set by admin@example.org; configured: 5)",
    );
    assert.equal(targetText(set(0), limits), "0 (set; configured: 5)");
  });

  test("the status shows every open status, the target, draining and the longest-waiting staff", () => {
    const now = new Date("2026-01-01T12:00:00Z");
    const form = statusForm(
      {
        counts: new Map([
          ["available", 3],
          ["staff_waiting", 2],
          ["chatting", 1],
        ]),
        waiting: [
          {
            room: "r1@muc",
            staff_id: "s-1",
            staff_nick: "Anna",
            since: new Date("2026-01-01T11:55:30Z"),
          },
          {
            room: "r2@muc",
            staff_id: "s-2",
            staff_nick: null,
            since: new Date("2026-01-01T11:59:00Z"),
          },
        ],
        control: set(undefined, true),
        limits,
      },
      now,
    );
    assert.equal(form.type, "result");
    assert.deepEqual(values(form), {
      draining: "yes",
      target: "5 (roompool.min_available)",
      open: "6 (at most 50)",
      available: "3",
      staff_claimed: "0",
      staff_waiting: "2",
      client_claimed: "0",
      chatting: "1",
      closing: "0",
      oldest_waiting_staff: "Anna for 4 min 30 s in r1@muc",
    });
    assert.deepEqual(form.table?.rows, [
      { staff: "Anna", waiting: "4 min 30 s", room: "r1@muc" },
      { staff: "s-2", waiting: "1 min 0 s", room: "r2@muc" },
    ]);
  });

  test("an idle pool's status has no table and says nobody waits", () => {
    const form = statusForm(
      { counts: new Map(), waiting: [], control: UNCONTROLLED, limits },
      new Date(),
    );
    assert.equal(values(form).oldest_waiting_staff, "none");
    assert.equal(values(form).draining, "no");
    assert.equal(form.table, undefined);
  });

  test("the resize form shows the current override, or nothing for the configuration's", () => {
    assert.deepEqual(values(resizeForm(set(8), limits)), { min_available: "8" });
    assert.deepEqual(values(resizeForm(UNCONTROLLED, limits)), { min_available: "" });
    assert.match(resizeForm(UNCONTROLLED, limits).fields![0]!.label!, /0-50/);
  });

  test("resize takes 0 to max_rooms, and empty as back to the configuration", () => {
    assert.equal(parseResize(submit("0"), limits), 0);
    assert.equal(parseResize(submit("50"), limits), 50);
    assert.equal(parseResize(submit(" 12 "), limits), 12);
    assert.equal(parseResize(submit(""), limits), null);
    assert.equal(parseResize(submit(), limits), null);
    for (const bad of ["51", "-1", "five", "2.5"]) {
      assert.throws(
        () => parseResize(submit(bad), limits),
        (error: unknown) => error instanceof FieldProblem && error.field === "min_available",
        bad,
      );
    }
  });

  test("resize and drain say what they did", () => {
    assert.equal(
      resizedNote(8, limits),
      "The pool keeps 8 ready rooms (until reset; configured: 5).",
    );
    assert.equal(
      resizedNote(null, limits),
      "The pool keeps roompool.min_available (5) ready rooms again.",
    );
    assert.deepEqual(drainedNote(false, true), {
      type: "info",
      text: "The pool is draining: no room will be made.",
    });
    assert.deepEqual(drainedNote(true, false), {
      type: "info",
      text: "The pool makes rooms again.",
    });
    assert.equal(drainedNote(true, true).type, "warn");
    assert.equal(drainedNote(false, false).type, "warn");
  });

  test("the drain forms say what is now and what the command does", () => {
    const drain = drainForm(UNCONTROLLED, true);
    assert.equal(drain.title, "Drain the room pool");
    assert.match(drain.instructions![0]!, /not draining now/);
    const resume = drainForm(set(undefined, true), false);
    assert.equal(resume.title, "Resume the room pool");
    assert.match(resume.instructions![0]!, /draining now/);
  });
});
