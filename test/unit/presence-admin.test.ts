import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { submitted } from "../harness/forms.js";
import { FieldProblem } from "../../src/adhoc/forms.js";
import { onlineForm, parseUser } from "../../src/presence/admin.js";
import { DIRECT, SessionBook } from "../../src/presence/book.js";
import type { BareJid } from "../../src/xmpp/jid.js";

const ALICE = "alice@example.org" as BareJid;
const ROOM = "room@muc.example.org";

describe("SessionBook.deviceViews", () => {
  test("each online device with its show, idleness, last status text and sources, by address", () => {
    const book = new SessionBook();
    book.report(
      ALICE,
      `${ALICE}/phone`,
      { show: "away", idle: true, status: "on the bus" },
      DIRECT,
    );
    book.report(ALICE, `${ALICE}/laptop`, { show: "dnd", idle: false, status: "meeting" }, DIRECT);
    book.report(ALICE, `${ALICE}/laptop`, { show: "dnd", idle: false }, ROOM);
    assert.deepEqual(book.deviceViews(ALICE), [
      {
        device: `${ALICE}/laptop`,
        show: "dnd",
        idle: false,
        status: undefined,
        sources: [DIRECT, ROOM],
      },
      {
        device: `${ALICE}/phone`,
        show: "away",
        idle: true,
        status: "on the bus",
        sources: [DIRECT],
      },
    ]);
  });

  test("a user with no device has none; a device that left is gone", () => {
    const book = new SessionBook();
    assert.deepEqual(book.deviceViews(ALICE), []);
    book.report(ALICE, `${ALICE}/phone`, { show: "online", idle: false }, DIRECT);
    book.leave(ALICE, `${ALICE}/phone`, DIRECT);
    assert.deepEqual(book.deviceViews(ALICE), []);
  });
});

describe("who is online: forms", () => {
  const submit = (value: string) => submitted({ user: value });

  test("the user is a bare address, normalised", () => {
    assert.equal(parseUser(submit("Alice@Example.org/phone")), ALICE);
    assert.throws(
      () => parseUser(submit("example.org")),
      (error: unknown) => error instanceof FieldProblem && error.field === "user",
    );
  });

  test("the answer shows the combined presence and a row per device", () => {
    const form = onlineForm(ALICE, "dnd", [
      {
        device: `${ALICE}/laptop`,
        show: "dnd",
        idle: false,
        status: "meeting",
        sources: [DIRECT, ROOM],
      },
      { device: `${ALICE}/phone`, show: "away", idle: true, status: undefined, sources: [DIRECT] },
    ]);
    assert.equal(form.title, `${ALICE}: dnd`);
    assert.deepEqual(form.instructions, [`${ALICE} shows dnd over 2 devices.`]);
    assert.deepEqual(form.fields?.[0]?.values, ["dnd"]);
    assert.deepEqual(form.table?.rows, [
      {
        device: `${ALICE}/laptop`,
        show: "dnd",
        status: "meeting",
        seen: `its presence to the component, room ${ROOM}`,
      },
      {
        device: `${ALICE}/phone`,
        show: "away (idle)",
        status: "",
        seen: "its presence to the component",
      },
    ]);
  });

  test("an offline user is said to be so", () => {
    const form = onlineForm(ALICE, "offline", []);
    assert.deepEqual(form.instructions, [
      `${ALICE} has no device online that the component can see.`,
    ]);
    assert.deepEqual(form.table?.rows, []);
  });
});
