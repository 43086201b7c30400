import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskBoard, type TaskDraft } from "../../src/neerc/board.js";
import { taskElement } from "../../src/neerc/protocol.js";
import type { Status, Task } from "../../src/neerc/rules.js";
import type { TaskStore } from "../../src/neerc/store.js";
import { StanzaError, type StanzaErrorCondition } from "../../src/xmpp/stanza-error.js";

type Method = "list" | "save" | "remove" | "setStatus";

interface Call {
  method: Method;
  room: string;
  args: unknown[];
}

/** Lets promise chains and other queued callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function ticks(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await settle();
}

interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const copy = (task: Task): Task => structuredClone(task);

/**
 * An in-memory TaskStore: the same public methods, a record of every call, errors to throw on
 * demand and an optional `delay` each call waits for before it takes effect (as a database would).
 */
class FakeStore {
  readonly rooms = new Map<string, Map<string, Task>>();
  readonly calls: Call[] = [];
  /** Errors the next calls of a method reject with, first one first. */
  readonly failures: Partial<Record<Method, Error[]>> = {};
  /** Awaited by each call before it takes effect; `index` counts the calls of that method. */
  delay: ((method: Method, index: number, room: string) => Promise<void>) | undefined;
  active = 0;
  maxActive = 0;

  seed(room: string, tasks: Task[]): this {
    this.rooms.set(room, new Map(tasks.map((task) => [task.id, copy(task)])));
    return this;
  }

  /** The room's tasks as the "database" holds them, in no particular order. */
  tasks(room: string): Task[] {
    return [...(this.rooms.get(room)?.values() ?? [])].map(copy);
  }

  callsOf(method: Method): Call[] {
    return this.calls.filter((call) => call.method === method);
  }

  failNext(method: Method, error = new Error(`${method} failed`)): Error {
    (this.failures[method] ??= []).push(error);
    return error;
  }

  async list(room: string): Promise<Task[]> {
    return this.#run("list", room, [], () => this.tasks(room).reverse());
  }

  async save(room: string, task: Task): Promise<Task> {
    return this.#run("save", room, [copy(task)], () => {
      const tasks = this.#room(room);
      const stored = { ...copy(task), timestamp: tasks.get(task.id)?.timestamp ?? task.timestamp };
      tasks.set(task.id, stored);
      return copy(stored);
    });
  }

  async remove(room: string, id: string): Promise<Task | undefined> {
    return this.#run("remove", room, [id], () => {
      const tasks = this.#room(room);
      const task = tasks.get(id);
      tasks.delete(id);
      return task && { ...copy(task), statuses: [] };
    });
  }

  async setStatus(room: string, id: string, status: Status): Promise<void> {
    return this.#run("setStatus", room, [id, { ...status }], () => {
      const task = this.#room(room).get(id);
      if (!task) return;
      task.statuses = task.statuses.map((s) => (s.for === status.for ? { ...status } : s));
    });
  }

  #room(room: string): Map<string, Task> {
    let tasks = this.rooms.get(room);
    if (!tasks) {
      tasks = new Map<string, Task>();
      this.rooms.set(room, tasks);
    }
    return tasks;
  }

  async #run<T>(method: Method, room: string, args: unknown[], effect: () => T): Promise<T> {
    const index = this.callsOf(method).length;
    this.calls.push({ method, room, args });
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await settle();
      await this.delay?.(method, index, room);
      const failure = this.failures[method]?.shift();
      if (failure) throw failure;
      return effect();
    } finally {
      this.active--;
    }
  }
}

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let time = start;
  return {
    now: () => time,
    set(value: number) {
      time = value;
    },
  };
}

function setup(
  options: { maxTasks?: number; maxBoardBytes?: number; seed?: Record<string, Task[]> } = {},
) {
  const store = new FakeStore();
  for (const [room, tasks] of Object.entries(options.seed ?? {})) store.seed(room, tasks);
  const clock = manualClock();
  const board = new TaskBoard(
    store as unknown as TaskStore,
    options.maxTasks ?? 100,
    options.maxBoardBytes,
    clock.now,
  );
  return { store, clock, board };
}

function task(id: string, timestamp: number, statuses: Status[] = [], title = `Task ${id}`): Task {
  return { id, title, type: "todo", timestamp, statuses };
}

function draft(overrides: Partial<TaskDraft> = {}): TaskDraft {
  return { id: undefined, title: "Print", type: "todo", statuses: [], ...overrides };
}

/** What #tasks must carry: taskElement strings sorted by (timestamp, id), written out here. */
function expectedSerialization(tasks: Task[]): string {
  return tasks
    .slice()
    .sort((a, b) => {
      if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
      return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
    })
    .map((t) => taskElement(t).toString())
    .join("");
}

function isStanzaError(condition: StanzaErrorCondition, text?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof StanzaError, `expected a StanzaError, got ${String(error)}`);
    assert.equal(error.condition, condition);
    if (text) assert.match(error.text ?? "", text);
    return true;
  };
}

const noCheck = () => {};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("TaskBoard: loading", () => {
  test("an empty room lists nothing and serializes to ''", async () => {
    const { board } = setup();
    assert.deepEqual(await board.list("r"), []);
    assert.equal(await board.serialized("r"), "");
  });

  test("loads a room from the store on first use, and only once", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 1)] } });
    await board.list("r");
    await board.serialized("r");
    await board.save("r", draft());
    await board.list("r");
    assert.equal(store.callsOf("list").length, 1);
    assert.deepEqual(store.callsOf("list")[0]?.args, []);
    assert.equal(store.callsOf("list")[0]?.room, "r");
  });

  test("concurrent first uses share one load", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 1)] } });
    const [listed, serialized] = await Promise.all([
      board.list("r"),
      board.serialized("r"),
      board.list("r"),
      board.setStatus("r", "missing", { for: "x", type: "none" }, noCheck).catch(() => undefined),
    ]);
    assert.equal(store.callsOf("list").length, 1);
    assert.deepEqual(listed, [task("a", 1)]);
    assert.equal(serialized, expectedSerialization([task("a", 1)]));
  });

  test("lists the stored tasks sorted by (timestamp, id), whatever order the store gives", async () => {
    const tasks = [task("b", 20), task("c", 10), task("a", 20), task("z", 5)];
    const { board } = setup({ seed: { r: tasks } });
    assert.deepEqual(
      (await board.list("r")).map((t) => `${t.timestamp}/${t.id}`),
      ["5/z", "10/c", "20/a", "20/b"],
    );
  });

  test("each room loads and keeps its own tasks", async () => {
    const { store, board } = setup({ seed: { a: [task("1", 1)], b: [task("2", 2)] } });
    assert.deepEqual(await board.list("a"), [task("1", 1)]);
    assert.deepEqual(await board.list("b"), [task("2", 2)]);
    await board.save("a", draft({ id: "3" }));
    assert.deepEqual(
      (await board.list("b")).map((t) => t.id),
      ["2"],
    );
    assert.deepEqual(
      store.callsOf("list").map((call) => call.room),
      ["a", "b"],
    );
  });

  test("a failed store.list rejects, and the next call tries again", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 1)] } });
    const failure = store.failNext("list");
    await assert.rejects(board.list("r"), (error) => error === failure);
    assert.deepEqual(await board.list("r"), [task("a", 1)]);
    assert.equal(store.callsOf("list").length, 2);
  });

  test("a failed load fails serialized(), and the next serialized() tries again", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 1)] } });
    const failure = store.failNext("list");
    await assert.rejects(board.serialized("r"), (error) => error === failure);
    assert.equal(await board.serialized("r"), expectedSerialization([task("a", 1)]));
    assert.equal(store.callsOf("list").length, 2);
  });

  test("a failed load fails the change waiting for it, and the next change tries again", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 1)] } });
    const failure = store.failNext("list");
    await assert.rejects(board.save("r", draft({ id: "b" })), (error) => error === failure);
    assert.equal(store.callsOf("save").length, 0, "nothing is saved without the room loaded");

    await board.save("r", draft({ id: "b" }));
    assert.deepEqual(
      (await board.list("r")).map((t) => t.id),
      ["a", "b"],
    );
    assert.equal(store.callsOf("list").length, 2);
  });

  test("a load that keeps failing is tried again on every call", async () => {
    const { store, board } = setup();
    for (let i = 0; i < 3; i++) store.failNext("list");
    for (let i = 0; i < 3; i++) await assert.rejects(board.list("r"));
    assert.deepEqual(await board.list("r"), []);
    assert.equal(store.callsOf("list").length, 4);
  });
});

describe("TaskBoard: save", () => {
  test("a new task without an id gets a random UUID and the clock's time", async () => {
    const { store, clock, board } = setup();
    clock.set(1_700_000_000_000);
    const saved = await board.save("r", draft({ title: "Print", type: "okfail" }));
    assert.match(saved.id, UUID);
    assert.deepEqual(saved, {
      id: saved.id,
      title: "Print",
      type: "okfail",
      timestamp: 1_700_000_000_000,
      statuses: [],
    });
    assert.deepEqual(store.callsOf("save")[0]?.args, [saved]);
    assert.deepEqual(await board.list("r"), [saved]);
  });

  test("two new tasks get different ids", async () => {
    const { board } = setup();
    const first = await board.save("r", draft());
    const second = await board.save("r", draft());
    assert.notEqual(first.id, second.id);
    assert.equal((await board.list("r")).length, 2);
  });

  test("a task with an id not seen before is created with that id and the clock's time", async () => {
    const { clock, board } = setup({ seed: { r: [task("old", 1)] } });
    clock.set(42_000);
    const saved = await board.save(
      "r",
      draft({ id: "fresh", statuses: [{ for: "alice", type: "none" }] }),
    );
    assert.deepEqual(saved, {
      id: "fresh",
      title: "Print",
      type: "todo",
      timestamp: 42_000,
      statuses: [{ for: "alice", type: "none" }],
    });
  });

  test("the clock is read at creation time, not when the board was made", async () => {
    const { clock, board } = setup();
    clock.set(10);
    const first = await board.save("r", draft({ id: "a" }));
    clock.set(20);
    const second = await board.save("r", draft({ id: "b" }));
    assert.equal(first.timestamp, 10);
    assert.equal(second.timestamp, 20);
  });

  test("an edit keeps the original timestamp and replaces title, type and statuses", async () => {
    const { store, clock, board } = setup();
    clock.set(1_000);
    const created = await board.save(
      "r",
      draft({ id: "t", title: "Old", statuses: [{ for: "alice", type: "running" }] }),
    );
    clock.set(9_000);
    const edited = await board.save(
      "r",
      draft({
        id: "t",
        title: "New",
        type: "question",
        statuses: [{ for: "bob", type: "none" }],
      }),
    );
    assert.equal(created.timestamp, 1_000);
    assert.deepEqual(edited, {
      id: "t",
      title: "New",
      type: "question",
      timestamp: 1_000,
      statuses: [{ for: "bob", type: "none" }],
    });
    assert.equal(
      (store.callsOf("save")[1]?.args[0] as Task).timestamp,
      1_000,
      "the store is given the original timestamp",
    );
    assert.deepEqual(await board.list("r"), [edited]);
  });

  test("an edit of a task loaded from the store keeps the stored timestamp", async () => {
    const { clock, board } = setup({ seed: { r: [task("t", 123)] } });
    clock.set(999_999);
    const edited = await board.save("r", draft({ id: "t", title: "Renamed" }));
    assert.equal(edited.timestamp, 123);
    assert.deepEqual(await board.list("r"), [{ ...task("t", 123), title: "Renamed" }]);
  });

  test("the board keeps what the store returned", async () => {
    const { store, board } = setup();
    const saved = await board.save("r", draft({ id: "t" }));
    assert.deepEqual(await board.list("r"), store.tasks("r"));
    assert.deepEqual(await board.list("r"), [saved]);
  });

  test("a new task beyond max tasks is a resource-constraint and is not stored", async () => {
    const { store, board } = setup({ maxTasks: 2, seed: { r: [task("a", 1), task("b", 2)] } });
    await assert.rejects(
      board.save("r", draft()),
      isStanzaError("resource-constraint", /at most 2 tasks/),
    );
    await assert.rejects(
      board.save("r", draft({ id: "c" })),
      isStanzaError("resource-constraint", /at most 2 tasks/),
    );
    assert.equal(store.callsOf("save").length, 0);
    assert.deepEqual(
      (await board.list("r")).map((t) => t.id),
      ["a", "b"],
    );
  });

  test("a change that would make the board larger than one answer is refused, and nothing is stored", async () => {
    const seeded = task("a", 1);
    const oneTask = Buffer.byteLength(taskElement(seeded).toString());
    const { store, board, clock } = setup({
      maxBoardBytes: oneTask * 2 + 10,
      seed: { r: [seeded] },
    });
    clock.set(2); // a timestamp as long as the seeded one's: the same size
    await board.save("r", draft({ id: "b", title: "Task a" })); // fits
    await assert.rejects(
      board.save("r", draft({ id: "c" })),
      isStanzaError(
        "resource-constraint",
        /task board would be \d+ bytes, more than one answer may carry/,
      ),
    );
    await assert.rejects(
      board.save("r", draft({ id: "b", title: "x".repeat(500) })),
      isStanzaError("resource-constraint", /more than one answer may carry/),
      "an edit that grows a task counts as well",
    );
    assert.equal(store.callsOf("save").length, 1);
    await board.remove("r", "a");
    await board.save("r", draft({ id: "c" })); // room again
    assert.ok(Buffer.byteLength(await board.serialized("r")) <= oneTask * 2 + 10);
  });

  test("a full room still accepts edits of its tasks", async () => {
    const { board } = setup({ maxTasks: 2, seed: { r: [task("a", 1), task("b", 2)] } });
    const edited = await board.save("r", draft({ id: "b", title: "Edited" }));
    assert.equal(edited.title, "Edited");
    assert.equal((await board.list("r")).length, 2);
  });

  test("a room at max tasks accepts a new task again after a removal", async () => {
    const { board } = setup({ maxTasks: 1 });
    await board.save("r", draft({ id: "a" }));
    await assert.rejects(board.save("r", draft({ id: "b" })), isStanzaError("resource-constraint"));
    await board.remove("r", "a");
    await board.save("r", draft({ id: "b" }));
    assert.deepEqual(
      (await board.list("r")).map((t) => t.id),
      ["b"],
    );
  });

  test("max tasks counts each room separately", async () => {
    const { board } = setup({ maxTasks: 1 });
    await board.save("one", draft({ id: "a" }));
    await board.save("two", draft({ id: "a" }));
    await assert.rejects(board.save("one", draft()), isStanzaError("resource-constraint"));
  });

  test("a failed store.save leaves the board as it was", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 1)] } });
    const before = await board.serialized("r");
    const failure = store.failNext("save");
    await assert.rejects(board.save("r", draft({ id: "a", title: "X" })), (e) => e === failure);
    store.failNext("save");
    await assert.rejects(board.save("r", draft({ id: "new" })));
    assert.deepEqual(await board.list("r"), [task("a", 1)]);
    assert.equal(await board.serialized("r"), before);
  });
});

describe("TaskBoard: remove", () => {
  test("removes the task from the store and the board and returns it as it was", async () => {
    const statuses: Status[] = [{ for: "alice", type: "success" }];
    const { store, board } = setup({ seed: { r: [task("a", 1, statuses), task("b", 2)] } });
    const removed = await board.remove("r", "a");
    assert.deepEqual(removed, task("a", 1, statuses));
    assert.deepEqual(store.callsOf("remove")[0], { method: "remove", room: "r", args: ["a"] });
    assert.deepEqual(await board.list("r"), [task("b", 2)]);
    assert.deepEqual(store.tasks("r"), [task("b", 2)]);
  });

  test("an unknown id is item-not-found naming the id, and the store is not asked", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 1)] } });
    await assert.rejects(board.remove("r", "nope"), isStanzaError("item-not-found", /nope/));
    assert.equal(store.callsOf("remove").length, 0);
    assert.deepEqual(await board.list("r"), [task("a", 1)]);
  });

  test("removing the same task twice: the second is item-not-found", async () => {
    const { board } = setup({ seed: { r: [task("a", 1)] } });
    await board.remove("r", "a");
    await assert.rejects(board.remove("r", "a"), isStanzaError("item-not-found"));
  });

  test("a task of another room is item-not-found", async () => {
    const { board } = setup({ seed: { one: [task("a", 1)] } });
    await assert.rejects(board.remove("two", "a"), isStanzaError("item-not-found"));
    assert.deepEqual(await board.list("one"), [task("a", 1)]);
  });

  test("a failed store.remove leaves the task on the board", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 1)] } });
    const before = await board.serialized("r");
    const failure = store.failNext("remove");
    await assert.rejects(board.remove("r", "a"), (e) => e === failure);
    assert.deepEqual(await board.list("r"), [task("a", 1)]);
    assert.equal(await board.serialized("r"), before);
  });
});

describe("TaskBoard: setStatus", () => {
  const assigned: Status[] = [
    { for: "alice", type: "none" },
    { for: "bob", type: "running", value: "on it" },
  ];

  test("replaces the user's status, stores it and returns the updated task", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 7, assigned)] } });
    const status: Status = { for: "alice", type: "success", value: "done" };
    const updated = await board.setStatus("r", "a", status, noCheck);
    const expected = task("a", 7, [status, assigned[1] as Status]);
    assert.deepEqual(updated, expected);
    assert.deepEqual(store.callsOf("setStatus"), [
      { method: "setStatus", room: "r", args: ["a", status] },
    ]);
    assert.deepEqual(await board.list("r"), [expected]);
    assert.deepEqual(store.tasks("r"), [expected]);
  });

  test("an unknown task is item-not-found; neither the check nor the store runs", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 1, assigned)] } });
    let checked = false;
    await assert.rejects(
      board.setStatus("r", "nope", { for: "alice", type: "success" }, () => {
        checked = true;
      }),
      isStanzaError("item-not-found", /nope/),
    );
    assert.equal(checked, false);
    assert.equal(store.callsOf("setStatus").length, 0);
  });

  test("a user not assigned to the task is forbidden; neither the check nor the store runs", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 1, assigned)] } });
    const before = await board.serialized("r");
    let checked = false;
    await assert.rejects(
      board.setStatus("r", "a", { for: "mallory", type: "success" }, () => {
        checked = true;
      }),
      isStanzaError("forbidden", /not assigned/),
    );
    assert.equal(checked, false);
    assert.equal(store.callsOf("setStatus").length, 0);
    assert.equal(await board.serialized("r"), before);
  });

  test("the check is given the task as it is now, before the change", async () => {
    const { board } = setup({ seed: { r: [task("a", 1, assigned)] } });
    await board.save(
      "r",
      draft({ id: "a", type: "question", title: "Edited", statuses: assigned }),
    );
    const seen: Task[] = [];
    await board.setStatus("r", "a", { for: "alice", type: "success", value: "42" }, (current) => {
      seen.push(structuredClone(current));
    });
    assert.deepEqual(seen, [
      { id: "a", title: "Edited", type: "question", timestamp: 1, statuses: assigned },
    ]);
  });

  test("a throwing check rejects with its error and leaves everything unchanged", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 1, assigned)] } });
    const listBefore = await board.list("r");
    const before = await board.serialized("r");
    const refusal = new StanzaError("bad-request", "status 'fail' does not fit");
    await assert.rejects(
      board.setStatus("r", "a", { for: "alice", type: "fail" }, () => {
        throw refusal;
      }),
      (error) => error === refusal,
    );
    assert.equal(store.callsOf("setStatus").length, 0);
    assert.deepEqual(await board.list("r"), listBefore);
    assert.equal(await board.serialized("r"), before);
    assert.deepEqual(store.tasks("r"), [task("a", 1, assigned)]);
  });

  test("a failed store.setStatus leaves the board as it was", async () => {
    const { store, board } = setup({ seed: { r: [task("a", 1, assigned)] } });
    const before = await board.serialized("r");
    const failure = store.failNext("setStatus");
    await assert.rejects(
      board.setStatus("r", "a", { for: "alice", type: "success" }, noCheck),
      (error) => error === failure,
    );
    assert.deepEqual(await board.list("r"), [task("a", 1, assigned)]);
    assert.equal(await board.serialized("r"), before);
  });

  test("keeps the task's timestamp, title and type", async () => {
    const { clock, board } = setup({ seed: { r: [task("a", 5, assigned, "Keep me")] } });
    clock.set(99_999);
    const updated = await board.setStatus("r", "a", { for: "bob", type: "success" }, noCheck);
    assert.equal(updated.timestamp, 5);
    assert.equal(updated.title, "Keep me");
    assert.equal(updated.type, "todo");
  });
});

describe("TaskBoard: serialized()", () => {
  test("is the taskElement strings of the tasks sorted by (timestamp, id)", async () => {
    const tasks = [
      task("b", 20, [{ for: "alice", type: "running" }]),
      task("a", 20),
      task("z", 10, [{ for: "bob", type: "fail", value: "x & y" }], "Title <with> markup"),
      task("m", 30),
    ];
    const { board } = setup({ seed: { r: tasks } });
    const serialized = await board.serialized("r");
    assert.equal(
      serialized,
      [tasks[2], tasks[1], tasks[0], tasks[3]]
        .map((t) => taskElement(t as Task).toString())
        .join(""),
    );
    assert.equal(serialized, expectedSerialization(tasks));
  });

  test("asking twice without a change gives the same text", async () => {
    const { board } = setup({ seed: { r: [task("a", 1), task("b", 2)] } });
    assert.equal(await board.serialized("r"), await board.serialized("r"));
  });

  test("changes after every change and always matches the store", async () => {
    const { store, clock, board } = setup({ seed: { r: [task("seed", 50)] } });
    const seen: string[] = [await board.serialized("r")];
    const expectChanged = async (what: string) => {
      const now = await board.serialized("r");
      assert.ok(!seen.includes(now), `serialized() did not change after ${what}`);
      assert.equal(now, expectedSerialization(store.tasks("r")), `after ${what}`);
      assert.equal(now, expectedSerialization(await board.list("r")), `after ${what}`);
      seen.push(now);
    };

    clock.set(10);
    await board.save("r", draft({ id: "x", statuses: [{ for: "alice", type: "none" }] }));
    await expectChanged("creating x");

    clock.set(10);
    await board.save("r", draft({ id: "w" }));
    await expectChanged("creating w at the same time as x");

    await board.save(
      "r",
      draft({ id: "x", title: "Renamed", statuses: [{ for: "alice", type: "none" }] }),
    );
    await expectChanged("renaming x");

    await board.setStatus("r", "x", { for: "alice", type: "running" }, noCheck);
    await expectChanged("alice running on x");

    await board.setStatus("r", "x", { for: "alice", type: "success", value: "ok" }, noCheck);
    await expectChanged("alice succeeding on x");

    await board.remove("r", "seed");
    await expectChanged("removing seed");

    await board.remove("r", "x");
    await board.remove("r", "w");
    assert.equal(await board.serialized("r"), "");
  });

  test("a refused change leaves it as it was", async () => {
    const { board } = setup({
      maxTasks: 1,
      seed: { r: [task("a", 1, [{ for: "u", type: "none" }])] },
    });
    const before = await board.serialized("r");
    await assert.rejects(board.save("r", draft()));
    await assert.rejects(board.remove("r", "b"));
    await assert.rejects(board.setStatus("r", "a", { for: "v", type: "none" }, noCheck));
    assert.equal(await board.serialized("r"), before);
  });

  test("rooms have their own text", async () => {
    const { board } = setup({ seed: { one: [task("a", 1)], two: [task("b", 2)] } });
    assert.equal(await board.serialized("one"), expectedSerialization([task("a", 1)]));
    assert.equal(await board.serialized("two"), expectedSerialization([task("b", 2)]));
  });
});

describe("TaskBoard: one change at a time per room", () => {
  const USERS = ["u0", "u1", "u2", "u3", "u4", "u5"];
  const seeded = () =>
    task(
      "t",
      1,
      USERS.map((name) => ({ for: name, type: "none" as const })),
    );

  test("concurrent setStatus calls whose store calls would finish in reverse order all land", async () => {
    const { store, board } = setup({ seed: { r: [seeded()] } });
    await board.list("r");
    // The k-th store call takes (n - k) turns of the event loop: without the room's queue the
    // last call would finish first and the earlier ones would overwrite it in the cache.
    store.delay = (method, index) =>
      method === "setStatus" ? ticks(USERS.length - index) : Promise.resolve();

    const results = await Promise.all(
      USERS.map((name) =>
        board.setStatus("r", "t", { for: name, type: "success", value: name }, noCheck),
      ),
    );

    assert.equal(store.maxActive, 1, "the store saw one change at a time");
    assert.deepEqual(
      store.callsOf("setStatus").map((call) => (call.args[1] as Status).for),
      USERS,
      "the store saw the changes in the order they were asked for",
    );
    const final = USERS.map((name) => ({ for: name, type: "success", value: name }));
    assert.deepEqual((await board.list("r"))[0]?.statuses, final);
    assert.deepEqual(store.tasks("r")[0]?.statuses, final);
    assert.equal(await board.serialized("r"), expectedSerialization(store.tasks("r")));
    results.forEach((result, k) => {
      assert.deepEqual(
        result.statuses.filter((s) => s.type === "success").map((s) => s.for),
        USERS.slice(0, k + 1),
        `the ${k}-th result carries every earlier change`,
      );
    });
  });

  test("a change waits for the one before it; its check then sees the earlier change", async () => {
    const { store, board } = setup({ seed: { r: [seeded()] } });
    const gate = deferred();
    store.delay = (method, index) =>
      method === "setStatus" && index === 0 ? gate.promise : Promise.resolve();

    const first = board.setStatus("r", "t", { for: "u0", type: "running" }, noCheck);
    const checked: Task[] = [];
    const second = board.setStatus("r", "t", { for: "u1", type: "running" }, (current) => {
      checked.push(structuredClone(current));
    });
    await ticks(5);
    assert.equal(store.callsOf("setStatus").length, 1, "the second change has not started");
    assert.equal(checked.length, 0, "the second check has not run");

    gate.resolve();
    await Promise.all([first, second]);
    assert.equal(checked.length, 1);
    assert.deepEqual(checked[0]?.statuses[0], { for: "u0", type: "running" });
  });

  test("saves, status changes and removals queue together in the order asked", async () => {
    const { store, board } = setup({ seed: { r: [seeded()] } });
    await board.list("r");
    store.delay = (_method, _index) => ticks(3);

    const results = await Promise.allSettled([
      board.save("r", draft({ id: "t", title: "Edited", statuses: [{ for: "u0", type: "none" }] })),
      board.setStatus("r", "t", { for: "u1", type: "success" }, noCheck), // u1 was dropped: forbidden
      board.setStatus("r", "t", { for: "u0", type: "success" }, noCheck),
      board.remove("r", "t"),
      board.setStatus("r", "t", { for: "u0", type: "none" }, noCheck), // gone: item-not-found
      board.save("r", draft({ id: "t2" })),
    ]);

    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled", "fulfilled", "rejected", "fulfilled"],
    );
    const reason = (i: number) => (results[i] as PromiseRejectedResult).reason as StanzaError;
    assert.equal(reason(1).condition, "forbidden");
    assert.equal(reason(4).condition, "item-not-found");
    const removed = (results[3] as PromiseFulfilledResult<Task>).value;
    assert.deepEqual(removed.statuses, [{ for: "u0", type: "success" }]);
    assert.equal(store.maxActive, 1);
    assert.deepEqual(
      store.calls.filter((c) => c.method !== "list").map((c) => c.method),
      ["save", "setStatus", "remove", "save"],
    );
    assert.deepEqual(
      (await board.list("r")).map((t) => t.id),
      ["t2"],
    );
  });

  test("a failing change does not hold up the ones queued behind it", async () => {
    const { store, board } = setup({ seed: { r: [seeded()] } });
    store.failNext("setStatus");
    const outcomes = await Promise.allSettled([
      board.setStatus("r", "t", { for: "u0", type: "success" }, noCheck),
      board.setStatus("r", "t", { for: "u1", type: "success" }, () => {
        throw new StanzaError("bad-request", "no");
      }),
      board.setStatus("r", "t", { for: "u2", type: "success" }, noCheck),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ["rejected", "rejected", "fulfilled"],
    );
    const statuses = (await board.list("r"))[0]?.statuses ?? [];
    assert.deepEqual(
      statuses.filter((s) => s.type === "success").map((s) => s.for),
      ["u2"],
    );
  });

  test("a room's queue keeps working after it ran empty", async () => {
    const { board } = setup({ seed: { r: [seeded()] } });
    await board.setStatus("r", "t", { for: "u0", type: "running" }, noCheck);
    await ticks(3);
    await board.setStatus("r", "t", { for: "u1", type: "running" }, noCheck);
    assert.deepEqual(
      (await board.list("r"))[0]?.statuses.filter((s) => s.type === "running").map((s) => s.for),
      ["u0", "u1"],
    );
  });

  test("rooms do not wait for each other", async () => {
    const { store, board } = setup({ seed: { slow: [seeded()], fast: [seeded()] } });
    const gate = deferred();
    store.delay = (method, _index, room) =>
      method === "setStatus" && room === "slow" ? gate.promise : Promise.resolve();

    const slow = board.setStatus("slow", "t", { for: "u0", type: "running" }, noCheck);
    const fast = await board.setStatus("fast", "t", { for: "u0", type: "running" }, noCheck);
    assert.deepEqual(fast.statuses[0], { for: "u0", type: "running" });

    gate.resolve();
    await slow;
    assert.equal(store.maxActive, 2, "both rooms' changes were in the store at once");
  });

  test("reads do not wait for a change in progress", async () => {
    const { store, board } = setup({ seed: { r: [seeded()] } });
    await board.list("r");
    const gate = deferred();
    store.delay = (method) => (method === "setStatus" ? gate.promise : Promise.resolve());

    const change = board.setStatus("r", "t", { for: "u0", type: "running" }, noCheck);
    await ticks(3);
    assert.deepEqual(await board.list("r"), [seeded()], "the cache still shows the old state");
    assert.equal(await board.serialized("r"), expectedSerialization([seeded()]));

    gate.resolve();
    await change;
    assert.equal((await board.list("r"))[0]?.statuses[0]?.type, "running");
  });
});
