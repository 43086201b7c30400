import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Element } from "@xmpp/xml";
import { TestClient, errorCondition, xml } from "../harness/client.js";
import { Daemon } from "../harness/daemon.js";
import { createRoom, setAffiliation, letComponentReadLists } from "../harness/muc.js";
import { startStack, type Stack } from "../harness/stack.js";

const NS = "http://neerc.ifmo.ru/protocol/neerc";
const NS_USERS = `${NS}#users`;
const NS_TASKS = `${NS}#tasks`;
const NS_TASK = `${NS}#task`;
const NS_TASKSTATUS = `${NS}#taskstatus`;

const names = ["admin", "hall1", "hall2", "hall3", "hall4", "outsider"];
let stack: Stack;
let daemon: Daemon;
const clients = new Map<string, TestClient>();
let room: string;

const account = (name: string) => ({ username: name, password: `pw-${name}` });
const client = (name: string) => clients.get(name)!;
const neercConfig = {
  neerc: { muc_service: "conference.localhost", groups: { hall1: "Halls", hall2: "Halls" } },
};

async function startDaemon(name: string) {
  const started = await Daemon.start(stack, { name, extra: neercConfig, logLevel: "info" });
  await started.waitOnline();
  return started;
}

before(async () => {
  stack = await startStack({ accounts: names.map(account) });
  for (const name of names) clients.set(name, await TestClient.connect(stack, account(name)));
  room = `neerc@${stack.prosody.mucDomain}`;
  await createRoom(client("admin"), room);
  await letComponentReadLists(client("admin"), room, stack);
  for (const hall of ["hall1", "hall2", "hall3"]) {
    await setAffiliation(client("admin"), room, `${hall}@localhost`, "member");
  }
  daemon = await startDaemon("neerc");
});

after(async () => {
  for (const c of clients.values()) await c.stop();
  await daemon?.stop();
  await stack?.stop();
});

function ask(from: string, payload: Element, type: "get" | "set" = "set", to = stack.componentJid) {
  return client(from).request(xml("iq", { type, to }, payload));
}
const query = (xmlns: string) => xml("query", { xmlns });
const status = (forName: string, type: string, value?: string) =>
  xml("status", { for: forName, type, ...(value ? { value } : {}) });
const newTask = (title: string, type: string, ...statuses: Element[]) =>
  xml("task", { xmlns: NS_TASK, title, type }, ...statuses);
const report = (id: string, type: string, value?: string) =>
  xml("taskstatus", { xmlns: NS_TASKSTATUS, id, type, ...(value ? { value } : {}) });

async function tasks(from = "admin"): Promise<Element[]> {
  const reply = await ask(from, query(NS_TASKS), "get");
  assert.equal(reply.attrs.type, "result", reply.toString());
  return reply.getChild("query", NS_TASKS)!.getChildren("task");
}
async function create(title: string, type: string, ...statuses: Element[]): Promise<string> {
  const reply = await ask("admin", newTask(title, type, ...statuses));
  assert.equal(reply.attrs.type, "result", reply.toString());
  return String(reply.getChild("task", NS_TASK)!.attrs.id);
}
function statusesOf(task: Element) {
  return task.getChildren("status").map((s) => ({ ...(s.attrs as Record<string, string>) }));
}
async function taskById(id: string): Promise<Element | undefined> {
  return (await tasks()).find((t) => t.attrs.id === id);
}

describe("the seed's requests, as the seed writes them", () => {
  test("#users lists every member with group and power, sorted by name", async () => {
    const reply = await ask("hall2", query(NS_USERS), "get");
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.attrs.from, stack.componentJid);
    const users = reply.getChild("query", NS_USERS)!.getChildren("user");
    assert.deepEqual(
      users.map((u) => ({ ...(u.attrs as Record<string, string>) })),
      [
        { name: "admin", group: "Admins", power: "yes" },
        { name: "hall1", group: "Halls", power: "no" },
        { name: "hall2", group: "Halls", power: "no" },
        { name: "hall3", group: "Users", power: "no" },
      ],
    );
    // The children inherit the query's namespace, as the clients' parsers expect.
    assert.doesNotMatch(reply.toString(), /<user[^>]*xmlns/);
  });

  test("a new task (no id) is created, listed with a ms timestamp, and statuses kept in order", async () => {
    const before = Date.now();
    const id = await create(
      "Do some work",
      "todo",
      status("hall1", "none"),
      status("hall2", "running"),
      status("hall3", "success"),
    );
    const task = (await taskById(id))!;
    assert.equal(task.attrs.title, "Do some work");
    assert.equal(task.attrs.type, "todo");
    const timestamp = Number(task.attrs.timestamp);
    assert.ok(Number.isInteger(timestamp) && timestamp >= before - 1000 && timestamp <= Date.now());
    assert.deepEqual(statusesOf(task), [
      { for: "hall1", type: "none" },
      { for: "hall2", type: "running" },
      { for: "hall3", type: "success" },
    ]);
  });

  test("#taskstatus from a hall user, sent as type get like Smack does", async () => {
    const id = await create("Wallpapers set?", "okfail", status("hall2", "none"));
    const reply = await ask("hall2", report(id, "fail", "none of 'em"), "get");
    assert.equal(reply.attrs.type, "result");
    assert.ok(reply.getChild("taskstatus", NS_TASKSTATUS));
    assert.deepEqual(statusesOf((await taskById(id))!), [
      { for: "hall2", type: "fail", value: "none of 'em" },
    ]);
  });

  test("the seed's removal removes the task", async () => {
    const id = await create("You here?", "confirm", status("hall1", "none"));
    const reply = await ask("admin", xml("task", { xmlns: NS_TASK, id, type: "remove" }));
    assert.equal(reply.attrs.type, "result");
    assert.equal(await taskById(id), undefined);
  });

  test("tasks are listed by creation time, and an edit keeps the place", async () => {
    const first = await create("first", "todo", status("hall1", "none"));
    const second = await create("second", "todo", status("hall1", "none"));
    await ask(
      "admin",
      xml(
        "task",
        { xmlns: NS_TASK, id: first, title: "first, edited", type: "todo" },
        status("hall2", "none"),
      ),
    );
    const ids = (await tasks()).map((t) => String(t.attrs.id));
    assert.ok(ids.indexOf(first) < ids.indexOf(second));
    const edited = (await taskById(first))!;
    assert.equal(edited.attrs.title, "first, edited");
    assert.deepEqual(statusesOf(edited), [{ for: "hall2", type: "none" }], "a full replace");
  });
});

describe("statuses for each task type", () => {
  const cases: [string, string, string | undefined, "ok" | "bad-request"][] = [
    ["todo", "running", undefined, "ok"],
    ["todo", "success", "done", "ok"],
    ["todo", "fail", undefined, "bad-request"],
    ["todofail", "fail", "broken printer", "ok"],
    ["confirm", "success", undefined, "ok"],
    ["confirm", "running", undefined, "bad-request"],
    ["okfail", "success", undefined, "ok"],
    ["okfail", "fail", "no paper", "ok"],
    ["question", "success", "42", "ok"],
    ["question", "success", undefined, "bad-request"],
    ["question", "fail", "?", "bad-request"],
  ];
  for (const [taskType, statusType, value, expected] of cases) {
    test(`${taskType}: ${statusType}${value ? ` "${value}"` : ""} → ${expected}`, async () => {
      const id = await create(`${taskType} task`, taskType, status("hall3", "none"));
      const reply = await ask("hall3", report(id, statusType, value));
      if (expected === "ok") {
        assert.equal(reply.attrs.type, "result", reply.toString());
        const mine = statusesOf((await taskById(id))!)[0]!;
        assert.deepEqual(mine, { for: "hall3", type: statusType, ...(value ? { value } : {}) });
      } else {
        assert.equal(errorCondition(reply), expected);
        assert.deepEqual(statusesOf((await taskById(id))!)[0], { for: "hall3", type: "none" });
      }
    });
  }
});

describe("who may do what", () => {
  test("a non-admin's #task is forbidden", async () => {
    const reply = await ask("hall1", newTask("mine", "todo", status("hall1", "none")));
    assert.equal(errorCondition(reply), "forbidden");
  });

  test("a sender who is not a member of the room gets forbidden for every query", async () => {
    for (const payload of [query(NS_USERS), query(NS_TASKS), report("x", "success")]) {
      assert.equal(errorCondition(await ask("outsider", payload)), "forbidden");
    }
  });

  test("a status for a task one is not assigned to is forbidden", async () => {
    const id = await create("not yours", "todo", status("hall1", "none"));
    assert.equal(errorCondition(await ask("hall2", report(id, "running"))), "forbidden");
  });

  test("a status for an unknown task is item-not-found", async () => {
    assert.equal(
      errorCondition(await ask("hall1", report("no-such-task", "running"))),
      "item-not-found",
    );
  });

  test("an unknown room is item-not-found", async () => {
    const reply = await ask("hall1", query(NS_USERS), "get", `nosuchroom@${stack.componentJid}`);
    assert.equal(errorCondition(reply), "item-not-found");
  });

  test("assigning to a group expands it on the server", async () => {
    const id = await create(
      "for the halls",
      "todo",
      status("Halls", "none"),
      status("hall3", "none"),
    );
    assert.deepEqual(
      statusesOf((await taskById(id))!).map((s) => s.for),
      ["hall1", "hall2", "hall3"],
    );
  });

  test("a new member and a new admin are recognised at once", async () => {
    assert.equal(errorCondition(await ask("hall4", query(NS_USERS), "get")), "forbidden");
    // That refusal re-read the room; a re-read happens at most twice a second per room.
    const reread = () => new Promise((resolve) => setTimeout(resolve, 600));
    await reread();
    await setAffiliation(client("admin"), room, "hall4@localhost", "member");
    assert.equal((await ask("hall4", query(NS_USERS), "get")).attrs.type, "result");
    await setAffiliation(client("admin"), room, "hall4@localhost", "admin");
    await reread();
    const reply = await ask("hall4", newTask("from hall4", "todo", status("hall1", "none")));
    assert.equal(reply.attrs.type, "result", reply.toString());
    await setAffiliation(client("admin"), room, "hall4@localhost", "none");
  });
});

describe("malformed requests get stanza errors and the service keeps serving", () => {
  const bad: [string, Element][] = [
    ["a removal without id", xml("task", { xmlns: NS_TASK, type: "remove" })],
    ["a task without title", xml("task", { xmlns: NS_TASK, type: "todo" })],
    ["an unknown task type", newTask("t", "chore")],
    ["a status without for", newTask("t", "todo", xml("status", { type: "none" }))],
    ["an unknown status type", newTask("t", "todo", status("hall1", "sleeping"))],
    ["a child that is not a status", newTask("t", "todo", xml("note"))],
    ["an unknown assignee", newTask("t", "todo", status("nobody", "none"))],
    ["a title of 10,000 characters", newTask("x".repeat(10_000), "todo")],
    ["a taskstatus without id", xml("taskstatus", { xmlns: NS_TASKSTATUS, type: "success" })],
    ["a taskstatus with an unknown type", report("x", "maybe")],
  ];
  for (const [what, payload] of bad) {
    test(`${what} is bad-request`, async () => {
      const from = payload.name === "taskstatus" ? "hall1" : "admin";
      assert.equal(errorCondition(await ask(from, payload)), "bad-request");
    });
  }

  test("removing an unknown task is item-not-found", async () => {
    const reply = await ask("admin", xml("task", { xmlns: NS_TASK, id: "gone", type: "remove" }));
    assert.equal(errorCondition(reply), "item-not-found");
  });

  test("afterwards everything is still served", async () => {
    assert.ok((await tasks()).length > 0);
    assert.equal(daemon.child.exitCode, null);
  });
});

describe("notifications", () => {
  test("every online resource of every user gets each change once; offline users get nothing later", async () => {
    const second = await TestClient.connect(stack, account("hall1"), "second");
    const marker = `notify-${Date.now()}`;
    try {
      const id = await create(marker, "todo", status("hall1", "none"));
      await ask("hall1", report(id, "running"));
      await ask("admin", xml("task", { xmlns: NS_TASK, id, type: "remove" }));
      const isAbout = (s: Element) =>
        s.name === "message" && s.getChild("x", NS_TASKS)?.getChild("task")?.attrs.id === id;
      for (const c of [
        client("admin"),
        client("hall1"),
        second,
        client("hall2"),
        client("hall3"),
      ]) {
        await c.waitFor(
          (s) => isAbout(s) && s.getChild("x", NS_TASKS)!.getChild("task")!.attrs.type === "remove",
        );
        const copies = c.received.filter(isAbout);
        assert.equal(copies.length, 3, `${c.jid} got ${copies.length} copies`);
        const [created, changed, removed] = copies.map((m) =>
          m.getChild("x", NS_TASKS)!.getChild("task")!,
        );
        assert.equal(copies[0]!.getChildText("body"), `Task '${marker}' (${id}) changed`);
        assert.equal(copies[0]!.attrs.from, stack.componentJid);
        assert.deepEqual(statusesOf(created!), [{ for: "hall1", type: "none" }]);
        assert.deepEqual(statusesOf(changed!), [{ for: "hall1", type: "running" }]);
        assert.equal(removed!.attrs.type, "remove");
        assert.equal(removed!.attrs.title, marker);
      }
      assert.equal(client("outsider").received.filter(isAbout).length, 0);
      // hall4 was offline-less but not a member; a member who connects later gets no stored copy.
      await client("hall3").stop();
      const later = `offline-${Date.now()}`;
      await create(later, "todo", status("hall3", "none"));
      clients.set("hall3", await TestClient.connect(stack, account("hall3")));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(!client("hall3").received.some((s) => s.toString().includes(later)));
    } finally {
      await second.stop();
    }
  });
});

describe("persistence and concurrency", () => {
  test("concurrent status reports on one task never lose an update", async () => {
    const id = await create(
      "race",
      "todofail",
      status("hall1", "none"),
      status("hall2", "none"),
      status("hall3", "none"),
    );
    const rounds = ["running", "success", "fail"] as const;
    await Promise.all(
      ["hall1", "hall2", "hall3"].map(async (hall) => {
        for (const type of rounds) {
          assert.equal((await ask(hall, report(id, type, `${hall}-${type}`))).attrs.type, "result");
        }
      }),
    );
    assert.deepEqual(statusesOf((await taskById(id))!), [
      { for: "hall1", type: "fail", value: "hall1-fail" },
      { for: "hall2", type: "fail", value: "hall2-fail" },
      { for: "hall3", type: "fail", value: "hall3-fail" },
    ]);
  });

  test("rooms other than the default are served at room@component", async () => {
    const other = `contest2@${stack.prosody.mucDomain}`;
    await createRoom(client("admin"), other);
    await letComponentReadLists(client("admin"), other, stack);
    await setAffiliation(client("admin"), other, "hall1@localhost", "member");
    const to = `contest2@${stack.componentJid}`;
    const created = await ask(
      "admin",
      newTask("elsewhere", "todo", status("hall1", "none")),
      "set",
      to,
    );
    assert.equal(created.attrs.type, "result", created.toString());
    const there = (await ask("hall1", query(NS_TASKS), "get", to)).getChild("query", NS_TASKS)!;
    assert.deepEqual(
      there.getChildren("task").map((t) => String(t.attrs.title)),
      ["elsewhere"],
    );
    assert.ok(!(await tasks()).some((t) => t.attrs.title === "elsewhere"));
    assert.equal(errorCondition(await ask("hall2", query(NS_TASKS), "get", to)), "forbidden");
  });

  test("after a daemon restart the task list is unchanged", async () => {
    const before = (await tasks()).map((t) => t.toString());
    assert.equal((await daemon.stop()).code, 0);
    daemon = await startDaemon("neerc-restarted");
    assert.deepEqual(
      (await tasks()).map((t) => t.toString()),
      before,
    );
  });
});
