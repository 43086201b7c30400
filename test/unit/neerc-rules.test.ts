import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  MAX_VALUE_LENGTH,
  STATUS_TYPES,
  TASK_TYPES,
  compareTasks,
  compareUsers,
  expandAssignees,
  isStatusType,
  isTaskType,
  notificationBody,
  statusProblem,
  withStatus,
  type Status,
  type StatusType,
  type Task,
  type TaskType,
  type User,
} from "../../src/neerc/rules.js";

/**
 * The statuses each task type accepts, written out independently of rules.ts from its comment:
 * todo none/running/success/acknowledged; todofail adds fail; confirm none/success/acknowledged;
 * okfail none/success/fail/acknowledged; question none/success (success needs a non-empty value).
 */
const EXPECTED: Record<TaskType, readonly StatusType[]> = {
  todo: ["none", "running", "success", "acknowledged"],
  todofail: ["none", "running", "success", "fail", "acknowledged"],
  confirm: ["none", "success", "acknowledged"],
  okfail: ["none", "success", "fail", "acknowledged"],
  question: ["none", "success"],
};

const ALL_TASK_TYPES: TaskType[] = ["todo", "confirm", "okfail", "question", "todofail"];
const ALL_STATUS_TYPES: StatusType[] = ["none", "running", "success", "fail", "acknowledged"];

function needsValue(taskType: TaskType, status: StatusType): boolean {
  return taskType === "question" && status === "success";
}

function task(overrides: Partial<Task> = {}): Task {
  return {
    id: "t1",
    title: "Check the printers",
    type: "todo",
    timestamp: 1_700_000_000_000,
    statuses: [],
    ...overrides,
  };
}

function user(name: string, group: string, power = false): User {
  return { name, group, power };
}

describe("task and status types", () => {
  test("TASK_TYPES lists exactly the five task types of the clients", () => {
    assert.deepEqual([...TASK_TYPES].sort(), [...ALL_TASK_TYPES].sort());
  });

  test("STATUS_TYPES lists exactly the five status types of the clients", () => {
    assert.deepEqual([...STATUS_TYPES].sort(), [...ALL_STATUS_TYPES].sort());
  });

  test("isTaskType accepts every task type", () => {
    for (const type of ALL_TASK_TYPES) assert.equal(isTaskType(type), true, type);
  });

  test("isTaskType rejects status types, 'remove', other spellings and non-strings", () => {
    const rejected: unknown[] = [
      "remove",
      "none",
      "running",
      "",
      "TODO",
      " todo",
      "todo ",
      "toString",
      "constructor",
      undefined,
      null,
      0,
      1,
      true,
      {},
      ["todo"],
      new String("todo"),
    ];
    for (const value of rejected) assert.equal(isTaskType(value), false, String(value));
  });

  test("isStatusType accepts every status type", () => {
    for (const type of ALL_STATUS_TYPES) assert.equal(isStatusType(type), true, type);
  });

  test("isStatusType rejects task types, other spellings and non-strings", () => {
    const rejected: unknown[] = [
      "todo",
      "question",
      "remove",
      "",
      "NONE",
      "Success",
      "done",
      "failed",
      "acknowledge",
      "hasOwnProperty",
      undefined,
      null,
      0,
      false,
      {},
      ["none"],
      new String("none"),
    ];
    for (const value of rejected) assert.equal(isStatusType(value), false, String(value));
  });
});

describe("statusProblem: every task type × status type", () => {
  for (const taskType of ALL_TASK_TYPES) {
    for (const status of ALL_STATUS_TYPES) {
      const allowed = EXPECTED[taskType].includes(status);
      const pair = `${taskType} × ${status}`;

      if (!allowed) {
        test(`${pair}: refused without a value, naming the status, the task type and what fits`, () => {
          const problem = statusProblem(taskType, status, undefined);
          assert.ok(problem, `${pair} must be refused`);
          assert.match(problem, new RegExp(`'${status}'`));
          assert.match(problem, new RegExp(`'${taskType}'`));
          for (const fits of EXPECTED[taskType]) assert.ok(problem.includes(fits), fits);
          assert.equal(
            problem,
            `status '${status}' does not fit a '${taskType}' task (allowed: ${EXPECTED[taskType].join(", ")})`,
          );
        });

        test(`${pair}: refused with a value too`, () => {
          for (const value of ["", "  ", "a reason", "x".repeat(MAX_VALUE_LENGTH)]) {
            const problem = statusProblem(taskType, status, value);
            assert.ok(problem, `${pair} with value ${JSON.stringify(value)} must be refused`);
            assert.match(problem, /does not fit/);
          }
        });
        continue;
      }

      if (needsValue(taskType, status)) {
        test(`${pair}: refused without a value (the answer goes in 'value')`, () => {
          assert.equal(
            statusProblem(taskType, status, undefined),
            "the answer to a question goes in 'value'",
          );
        });

        test(`${pair}: refused with an empty or blank value`, () => {
          for (const value of ["", " ", "   ", "\t", "\n \r\n"]) {
            assert.equal(
              statusProblem(taskType, status, value),
              "the answer to a question goes in 'value'",
              `value ${JSON.stringify(value)}`,
            );
          }
        });

        test(`${pair}: accepted with a non-empty value`, () => {
          for (const value of ["42", " yes ", "a", "x".repeat(MAX_VALUE_LENGTH)]) {
            assert.equal(statusProblem(taskType, status, value), undefined, JSON.stringify(value));
          }
        });
        continue;
      }

      test(`${pair}: accepted without a value`, () => {
        assert.equal(statusProblem(taskType, status, undefined), undefined);
      });

      test(`${pair}: accepted with a value, empty or not`, () => {
        for (const value of ["", "  ", "printer 3 is out of paper", "x".repeat(MAX_VALUE_LENGTH)]) {
          assert.equal(statusProblem(taskType, status, value), undefined, JSON.stringify(value));
        }
      });
    }
  }

  test("exactly 18 of the 25 pairs are allowed (with an answer as value)", () => {
    const allowed: string[] = [];
    for (const taskType of TASK_TYPES) {
      for (const status of STATUS_TYPES) {
        if (statusProblem(taskType, status, "answer") === undefined) {
          allowed.push(`${taskType}/${status}`);
        }
      }
    }
    assert.equal(allowed.length, 18, allowed.join(" "));
  });
});

describe("statusProblem: value length", () => {
  test(`a value of exactly ${MAX_VALUE_LENGTH} characters is accepted for every allowed pair`, () => {
    const value = "v".repeat(MAX_VALUE_LENGTH);
    for (const taskType of ALL_TASK_TYPES) {
      for (const status of EXPECTED[taskType]) {
        assert.equal(statusProblem(taskType, status, value), undefined, `${taskType} × ${status}`);
      }
    }
  });

  test(`a value one character over ${MAX_VALUE_LENGTH} is refused for every allowed pair`, () => {
    const value = "v".repeat(MAX_VALUE_LENGTH + 1);
    for (const taskType of ALL_TASK_TYPES) {
      for (const status of EXPECTED[taskType]) {
        assert.equal(
          statusProblem(taskType, status, value),
          `value longer than ${MAX_VALUE_LENGTH} characters`,
          `${taskType} × ${status}`,
        );
      }
    }
  });

  test("a status that does not fit is reported before a value that is too long", () => {
    const problem = statusProblem("question", "fail", "v".repeat(MAX_VALUE_LENGTH + 1));
    assert.match(problem ?? "", /does not fit/);
  });

  test("a blank answer too long for the limit is reported as too long", () => {
    const problem = statusProblem("question", "success", " ".repeat(MAX_VALUE_LENGTH + 1));
    assert.equal(problem, `value longer than ${MAX_VALUE_LENGTH} characters`);
  });

  test("the limit is 4000 characters", () => {
    assert.equal(MAX_VALUE_LENGTH, 4_000);
  });
});

describe("expandAssignees", () => {
  const users: User[] = [
    user("alice", "Halls", true),
    user("bob", "Halls"),
    user("carol", "Jury"),
    user("dave", "Halls"),
    user("erin", "Jury"),
  ];

  test("no statuses give no statuses and no unknown names", () => {
    assert.deepEqual(expandAssignees([], users), { statuses: [], unknown: [] });
  });

  test("users named directly keep their own status, type and value, in the given order", () => {
    const statuses: Status[] = [
      { for: "carol", type: "running" },
      { for: "alice", type: "success", value: "done" },
      { for: "bob", type: "none" },
    ];
    assert.deepEqual(expandAssignees(statuses, users), { statuses, unknown: [] });
  });

  test("a group becomes one status per member, in the order of the user list", () => {
    const result = expandAssignees([{ for: "Halls", type: "none" }], users);
    assert.deepEqual(result, {
      statuses: [
        { for: "alice", type: "none" },
        { for: "bob", type: "none" },
        { for: "dave", type: "none" },
      ],
      unknown: [],
    });
  });

  test("each member gets the group's status type and value", () => {
    const result = expandAssignees([{ for: "Jury", type: "running", value: "go" }], users);
    assert.deepEqual(result.statuses, [
      { for: "carol", type: "running", value: "go" },
      { for: "erin", type: "running", value: "go" },
    ]);
  });

  test("groups and users mix, each expanded where it appears", () => {
    const result = expandAssignees(
      [
        { for: "erin", type: "success" },
        { for: "Halls", type: "none" },
        { for: "carol", type: "running" },
      ],
      users,
    );
    assert.deepEqual(result, {
      statuses: [
        { for: "erin", type: "success" },
        { for: "alice", type: "none" },
        { for: "bob", type: "none" },
        { for: "dave", type: "none" },
        { for: "carol", type: "running" },
      ],
      unknown: [],
    });
  });

  test("a user named before their group keeps the direct entry", () => {
    const result = expandAssignees(
      [
        { for: "bob", type: "running", value: "mine" },
        { for: "Halls", type: "none" },
      ],
      users,
    );
    assert.deepEqual(result.statuses, [
      { for: "bob", type: "running", value: "mine" },
      { for: "alice", type: "none" },
      { for: "dave", type: "none" },
    ]);
  });

  test("a user named after their group keeps the group's entry", () => {
    const result = expandAssignees(
      [
        { for: "Halls", type: "none" },
        { for: "bob", type: "running" },
      ],
      users,
    );
    assert.deepEqual(result.statuses, [
      { for: "alice", type: "none" },
      { for: "bob", type: "none" },
      { for: "dave", type: "none" },
    ]);
  });

  test("a user named twice keeps the first entry", () => {
    const result = expandAssignees(
      [
        { for: "alice", type: "running" },
        { for: "carol", type: "none" },
        { for: "alice", type: "success", value: "second" },
      ],
      users,
    );
    assert.deepEqual(result.statuses, [
      { for: "alice", type: "running" },
      { for: "carol", type: "none" },
    ]);
  });

  test("a group named twice adds its members once", () => {
    const result = expandAssignees(
      [
        { for: "Jury", type: "none" },
        { for: "Jury", type: "running" },
      ],
      users,
    );
    assert.deepEqual(result.statuses, [
      { for: "carol", type: "none" },
      { for: "erin", type: "none" },
    ]);
  });

  test("unknown names are reported in order while the known ones are still expanded", () => {
    const result = expandAssignees(
      [
        { for: "mallory", type: "none" },
        { for: "Jury", type: "none" },
        { for: "Nobody", type: "none" },
        { for: "alice", type: "none" },
      ],
      users,
    );
    assert.deepEqual(result.unknown, ["mallory", "Nobody"]);
    assert.deepEqual(
      result.statuses.map((s) => s.for),
      ["carol", "erin", "alice"],
    );
  });

  test("names are case-sensitive", () => {
    const result = expandAssignees(
      [
        { for: "Alice", type: "none" },
        { for: "halls", type: "none" },
      ],
      users,
    );
    assert.deepEqual(result, { statuses: [], unknown: ["Alice", "halls"] });
  });

  test("every name is unknown when the room has no users", () => {
    const result = expandAssignees(
      [
        { for: "alice", type: "none" },
        { for: "Halls", type: "none" },
      ],
      [],
    );
    assert.deepEqual(result, { statuses: [], unknown: ["alice", "Halls"] });
  });

  test("a user and a group with the same name: the user wins", () => {
    const clash: User[] = [
      user("staff", "Admins", true),
      user("frank", "staff"),
      user("grace", "staff"),
    ];
    const result = expandAssignees([{ for: "staff", type: "running" }], clash);
    assert.deepEqual(result, { statuses: [{ for: "staff", type: "running" }], unknown: [] });
  });

  test("the input statuses and users are not changed", () => {
    const statuses: Status[] = [
      { for: "Halls", type: "none", value: "v" },
      { for: "carol", type: "running" },
      { for: "nobody", type: "none" },
    ];
    const before = structuredClone(statuses);
    const usersBefore = structuredClone(users);
    const result = expandAssignees(statuses, users);
    assert.deepEqual(statuses, before);
    assert.deepEqual(users, usersBefore);
    assert.notEqual(result.statuses, statuses);
  });
});

describe("withStatus", () => {
  const original = (): Task =>
    task({
      type: "todofail",
      statuses: [
        { for: "alice", type: "none" },
        { for: "bob", type: "running", value: "on it" },
        { for: "carol", type: "success" },
      ],
    });

  test("replaces only the given user's status, keeping its position", () => {
    const next = withStatus(original(), { for: "bob", type: "fail", value: "no paper" });
    assert.deepEqual(next, {
      ...original(),
      statuses: [
        { for: "alice", type: "none" },
        { for: "bob", type: "fail", value: "no paper" },
        { for: "carol", type: "success" },
      ],
    });
  });

  test("a status without a value drops the previous value", () => {
    const next = withStatus(original(), { for: "bob", type: "success" });
    assert.deepEqual(next?.statuses[1], { for: "bob", type: "success" });
  });

  test("keeps id, title, type and timestamp", () => {
    const before = original();
    const next = withStatus(before, { for: "alice", type: "running" });
    assert.ok(next);
    assert.equal(next.id, before.id);
    assert.equal(next.title, before.title);
    assert.equal(next.type, before.type);
    assert.equal(next.timestamp, before.timestamp);
  });

  test("returns undefined when the user is not assigned", () => {
    assert.equal(withStatus(original(), { for: "mallory", type: "success" }), undefined);
    assert.equal(withStatus(task(), { for: "alice", type: "success" }), undefined);
  });

  test("matches the user's name exactly", () => {
    assert.equal(withStatus(original(), { for: "Alice", type: "success" }), undefined);
  });

  test("does not change the task it is given", () => {
    const before = original();
    const statusesBefore = before.statuses;
    const snapshot = structuredClone(before);
    const next = withStatus(before, { for: "carol", type: "acknowledged" });
    assert.deepEqual(before, snapshot);
    assert.equal(before.statuses, statusesBefore, "the statuses array is not replaced in place");
    assert.notEqual(next, before);
    assert.notEqual(next?.statuses, before.statuses);
  });

  test("does not change the task when the user is not assigned", () => {
    const before = original();
    const snapshot = structuredClone(before);
    withStatus(before, { for: "mallory", type: "success" });
    assert.deepEqual(before, snapshot);
  });
});

describe("compareTasks", () => {
  test("orders by creation time first", () => {
    const early = task({ id: "z", timestamp: 1 });
    const late = task({ id: "a", timestamp: 2 });
    assert.ok(compareTasks(early, late) < 0);
    assert.ok(compareTasks(late, early) > 0);
  });

  test("orders tasks created at the same time by id", () => {
    const a = task({ id: "a", timestamp: 5 });
    const b = task({ id: "b", timestamp: 5 });
    assert.equal(compareTasks(a, b), -1);
    assert.equal(compareTasks(b, a), 1);
  });

  test("compares ids by code unit, so upper case comes before lower case", () => {
    const upper = task({ id: "B", timestamp: 5 });
    const lower = task({ id: "a", timestamp: 5 });
    assert.ok(compareTasks(upper, lower) < 0);
  });

  test("is 0 for the same time and id, whatever else differs", () => {
    assert.equal(
      compareTasks(
        task({ id: "x", timestamp: 7, title: "one", type: "todo" }),
        task({ id: "x", timestamp: 7, title: "two", type: "question" }),
      ),
      0,
    );
  });

  test("sorts a shuffled list by (timestamp, id)", () => {
    const tasks = [
      task({ id: "c", timestamp: 20 }),
      task({ id: "b", timestamp: 10 }),
      task({ id: "a", timestamp: 30 }),
      task({ id: "a", timestamp: 10 }),
      task({ id: "10", timestamp: 20 }),
      task({ id: "9", timestamp: 20 }),
    ];
    assert.deepEqual(
      tasks.sort(compareTasks).map((t) => `${t.timestamp}/${t.id}`),
      ["10/a", "10/b", "20/10", "20/9", "20/c", "30/a"],
    );
  });

  test("copes with timestamps far apart", () => {
    const tasks = [
      task({ id: "new", timestamp: Date.UTC(2100, 0) }),
      task({ id: "old", timestamp: 0 }),
    ];
    assert.deepEqual(
      tasks.sort(compareTasks).map((t) => t.id),
      ["old", "new"],
    );
  });
});

describe("compareUsers", () => {
  test("orders by name", () => {
    assert.ok(compareUsers(user("alice", "Z"), user("bob", "A")) < 0);
    assert.ok(compareUsers(user("bob", "A"), user("alice", "Z")) > 0);
  });

  test("ignores group and power", () => {
    assert.equal(compareUsers(user("alice", "Halls", true), user("alice", "Jury", false)), 0);
  });

  test("compares by code unit", () => {
    assert.ok(compareUsers(user("Zed", "g"), user("adam", "g")) < 0);
  });

  test("sorts a shuffled list by name", () => {
    const users = ["dave", "alice", "carol", "Bob", "bob"].map((name) => user(name, "g"));
    assert.deepEqual(
      users.sort(compareUsers).map((u) => u.name),
      ["Bob", "alice", "bob", "carol", "dave"],
    );
  });
});

describe("notificationBody", () => {
  test("names the task by title and id", () => {
    assert.equal(
      notificationBody({ id: "t-42", title: "Restart judge 3" }),
      "Task 'Restart judge 3' (t-42) changed",
    );
  });

  test("accepts a whole task and uses only its title and id", () => {
    assert.equal(
      notificationBody(task({ id: "abc", title: "Print", type: "okfail", timestamp: 1 })),
      "Task 'Print' (abc) changed",
    );
  });

  test("keeps the title verbatim, quotes and all", () => {
    assert.equal(
      notificationBody({ id: "1", title: "Say 'hi' & <go>" }),
      "Task 'Say 'hi' & <go>' (1) changed",
    );
  });
});
