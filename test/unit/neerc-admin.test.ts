import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { submitted } from "../harness/forms.js";
import { FieldProblem } from "../../src/adhoc/forms.js";
import {
  parseRemoval,
  parseRoom,
  removalForm,
  roomForm,
  tasksForm,
} from "../../src/neerc/admin.js";
import type { Task } from "../../src/neerc/rules.js";

const submit = (name: string, ...values: string[]) => submitted({ [name]: values });

const tasks: Task[] = [
  {
    id: "t1",
    title: "Check the printers",
    type: "okfail",
    timestamp: Date.UTC(2026, 0, 1, 9, 0, 0),
    statuses: [
      { for: "hall1", type: "fail", value: "out of toner" },
      { for: "hall2", type: "none" },
    ],
  },
  {
    id: "t2",
    title: "x".repeat(200),
    type: "todo",
    timestamp: Date.UTC(2026, 0, 1, 10),
    statuses: [],
  },
];

describe("NEERC admin forms", () => {
  test("the room form offers the default room", () => {
    const form = roomForm("A room's tasks", "neerc");
    assert.deepEqual(form.fields?.[0]?.values, ["neerc"]);
    assert.equal(form.fields?.[0]?.required, true);
  });

  test("a room is a localpart, folded as the component folds addresses", () => {
    assert.equal(parseRoom(submit("room", " Hall-A ")), "hall-a");
    for (const bad of ["a b", "room@muc", "a/b", "", "<x>"]) {
      assert.throws(
        () => parseRoom(submit("room", bad)),
        (error: unknown) => error instanceof FieldProblem && error.field === "room",
        bad,
      );
    }
  });

  test("the task list is a table with statuses in words", () => {
    const form = tasksForm("neerc", tasks);
    assert.equal(form.type, "result");
    assert.deepEqual(form.instructions, ["2 tasks."]);
    assert.deepEqual(form.table?.rows[0], {
      id: "t1",
      title: "Check the printers",
      type: "okfail",
      created: "2026-01-01T09:00:00.000Z",
      statuses: "hall1: fail (out of toner), hall2: none",
    });
    assert.deepEqual(tasksForm("neerc", tasks.slice(0, 1)).instructions, ["1 task."]);
    assert.deepEqual(tasksForm("neerc", []).table?.rows, []);
  });

  test("the removal form offers each task by id, long titles cut", () => {
    const options = removalForm("neerc", tasks).fields?.[0]?.options ?? [];
    assert.deepEqual(
      options.map((o) => o.value),
      ["t1", "t2"],
    );
    assert.equal(options[0]?.label, "Check the printers (okfail)");
    assert.equal(options[1]?.label, `${"x".repeat(120)}… (todo)`);
  });

  test("removal takes offered ids only, at least one", () => {
    assert.deepEqual(parseRemoval(submit("tasks", "t2", "t1"), ["t1", "t2"]), ["t2", "t1"]);
    assert.throws(() => parseRemoval(submit("tasks"), ["t1"]), /choose at least one/);
    assert.throws(() => parseRemoval(submit("tasks", "t9"), ["t1"]), /not offered: t9/);
  });
});
