import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Element } from "@xmpp/xml";
import { NS_STANZAS, TestClient, errorCondition, xml } from "../harness/client.js";
import { Daemon } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { createRoom, letComponentReadLists, setAffiliation } from "../harness/muc.js";
import { PoolWorld, account, poolConfig } from "../harness/pool.js";
import { startStack, type Stack } from "../harness/stack.js";

const NS_COMMANDS = "http://jabber.org/protocol/commands";
const NS_DATA = "jabber:x:data";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
const NS_NEERC = "http://neerc.ifmo.ru/protocol/neerc";

const people = ["admin", "hall1", "stranger", "staff1"];
let stack: Stack;
let daemon: Daemon;
let world: PoolWorld;

async function startDaemon(name: string): Promise<Daemon> {
  const started = await Daemon.start(stack, {
    name,
    logLevel: "info",
    extra: {
      roompool: poolConfig(stack),
      neerc: { muc_service: stack.prosody.mucDomain },
      commands: { admins: ["Admin@localhost"], session_timeout_ms: 60_000 },
    },
  });
  await started.waitForLog((line) => line.msg === "rooms resynchronised");
  return started;
}

before(async () => {
  stack = await startStack({ accounts: ["bot", ...people].map(account) });
  world = await PoolWorld.open(stack, people);
  const room = `neerc@${stack.prosody.mucDomain}`;
  await createRoom(world.person("admin"), room);
  await letComponentReadLists(world.person("admin"), room, stack);
  await setAffiliation(world.person("admin"), room, "hall1@localhost", "member");
  daemon = await startDaemon("adhoc");
});

after(async () => {
  await world?.close();
  await daemon?.stop();
  await stack?.stop();
});

interface Step {
  node: string;
  action?: string;
  sessionid?: string;
  values?: Record<string, string | string[]>;
}

/** One XEP-0050 request, as a client sends it from its "Execute command" dialog. */
function run(who: string, step: Step): Promise<Element> {
  const attrs: Record<string, string> = { xmlns: NS_COMMANDS, node: step.node };
  if (step.action) attrs.action = step.action;
  if (step.sessionid) attrs.sessionid = step.sessionid;
  const command = xml("command", attrs);
  if (step.values) {
    command.append(
      xml(
        "x",
        { xmlns: NS_DATA, type: "submit" },
        ...Object.entries(step.values).map(([name, value]) =>
          xml("field", { var: name }, ...[value].flat().map((v) => xml("value", {}, v))),
        ),
      ),
    );
  }
  return world.person(who).request(xml("iq", { type: "set", to: stack.componentJid }, command));
}

function commandOf(reply: Element): Element {
  assert.equal(reply.attrs.type, "result", reply.toString());
  return reply.getChild("command", NS_COMMANDS)!;
}

/** A form's fields by name (the single-valued ones joined). */
function fields(command: Element): Record<string, string> {
  const x = command.getChild("x", NS_DATA);
  assert.ok(x, command.toString());
  return Object.fromEntries(
    x.getChildren("field").map((f) => [
      String(f.attrs.var),
      f
        .getChildren("value")
        .map((v) => v.text())
        .join("\n"),
    ]),
  );
}

/** The rows of a multi-item result, each as field → value. */
function rows(command: Element): Array<Record<string, string>> {
  return command
    .getChild("x", NS_DATA)!
    .getChildren("item")
    .map((item) =>
      Object.fromEntries(
        item.getChildren("field").map((f) => [String(f.attrs.var), f.getChildText("value") ?? ""]),
      ),
    );
}

function errorOf(reply: Element) {
  const error = reply.getChild("error");
  return {
    condition: errorCondition(reply),
    specific: error?.getChildElements().find((c) => c.attrs.xmlns === NS_COMMANDS)?.name,
    text: error?.getChildText("text", NS_STANZAS),
  };
}

/** Runs a one-form command to its end: execute, then complete with `values`. */
async function complete(who: string, node: string, values: Record<string, string | string[]>) {
  const first = commandOf(await run(who, { node }));
  assert.equal(first.attrs.status, "executing");
  const sessionid = String(first.attrs.sessionid);
  return commandOf(await run(who, { node, sessionid, action: "complete", values }));
}

async function poolStatus(): Promise<Record<string, string>> {
  const reply = commandOf(await run("admin", { node: "pool-status" }));
  assert.equal(reply.attrs.status, "completed");
  return fields(reply);
}

async function control() {
  const { rows } = await world.db.query<{
    min_available: number | null;
    draining: boolean;
    changed_by: string | null;
  }>("SELECT min_available, draining, changed_by FROM roompool_control");
  return rows[0];
}

describe("discovery, as a client finds the commands", () => {
  test("disco#info of the component has the commands feature", async () => {
    const reply = await world
      .person("stranger")
      .request(
        xml("iq", { type: "get", to: stack.componentJid }, xml("query", { xmlns: NS_DISCO_INFO })),
      );
    const features = reply
      .getChild("query", NS_DISCO_INFO)!
      .getChildren("feature")
      .map((f) => String(f.attrs.var));
    assert.ok(features.includes(NS_COMMANDS), reply.toString());
  });

  test("an admin's disco#items on the commands node lists every command; others get none", async () => {
    const items = async (who: string) => {
      const reply = await world
        .person(who)
        .request(
          xml(
            "iq",
            { type: "get", to: stack.componentJid },
            xml("query", { xmlns: NS_DISCO_ITEMS, node: NS_COMMANDS }),
          ),
        );
      assert.equal(reply.attrs.type, "result", reply.toString());
      return reply
        .getChild("query", NS_DISCO_ITEMS)!
        .getChildren("item")
        .map((i) => String(i.attrs.node));
    };
    assert.deepEqual((await items("admin")).sort(), [
      "neerc-remove",
      "neerc-tasks",
      "pool-drain",
      "pool-resize",
      "pool-resume",
      "pool-status",
      "who-is-online",
    ]);
    assert.deepEqual(await items("stranger"), []);
  });

  test("a command node answers disco#info as a command", async () => {
    const reply = await world
      .person("admin")
      .request(
        xml(
          "iq",
          { type: "get", to: stack.componentJid },
          xml("query", { xmlns: NS_DISCO_INFO, node: "pool-status" }),
        ),
      );
    const identity = reply.getChild("query", NS_DISCO_INFO)!.getChild("identity")!;
    assert.deepEqual(
      [identity.attrs.category, identity.attrs.type],
      ["automation", "command-node"],
    );
  });

  test("anyone but an admin is forbidden, with a text", async () => {
    const refused = errorOf(await run("stranger", { node: "pool-status" }));
    assert.equal(refused.condition, "forbidden");
    assert.match(refused.text ?? "", /admins/);
  });

  test("an unknown command is item-not-found", async () => {
    assert.equal(
      errorOf(await run("admin", { node: "no-such-command" })).condition,
      "item-not-found",
    );
  });
});

describe("the room pool's commands", () => {
  test("status shows the rooms by status and the longest-waiting staff member", async () => {
    await eventually(poolStatus, (f) => f.available === "3", "three ready rooms");
    const room = await world.staffWaiting("staff1");
    const status = await eventually(
      poolStatus,
      (f) => f.staff_waiting === "1",
      "a waiting staff member",
    );
    assert.match(status.oldest_waiting_staff!, new RegExp(`for .* in ${room.jid}`));
    assert.equal(status.draining, "no");
    assert.equal(status.target, "3 (roompool.min_available)");
    await world.leave("staff1", room.jid);
    // The staff member's room is ready again: four in all.
    await world.waitStatus(room.jid, "available");
    await eventually(
      () => world.availableCount(),
      (n) => n === 4,
      "four ready rooms",
    );
  });

  test("resize: a bad value is bad-request naming the field, and the same session takes a good one", async () => {
    const first = commandOf(await run("admin", { node: "pool-resize" }));
    const sessionid = String(first.attrs.sessionid);
    assert.equal(first.getChild("actions")?.attrs.execute, "complete");
    const bad = errorOf(
      await run("admin", {
        node: "pool-resize",
        sessionid,
        action: "complete",
        values: { min_available: "lots" },
      }),
    );
    assert.deepEqual([bad.condition, bad.specific], ["bad-request", "bad-payload"]);
    assert.match(bad.text ?? "", /min_available/);
    const done = commandOf(
      await run("admin", {
        node: "pool-resize",
        sessionid,
        action: "complete",
        values: { min_available: "5" },
      }),
    );
    assert.equal(done.attrs.status, "completed");
    assert.equal(done.getChild("note")?.attrs.type, "info");
    assert.deepEqual(await control(), {
      min_available: 5,
      draining: false,
      changed_by: "admin@localhost",
    });
    await eventually(
      () => world.availableCount(),
      (n) => n === 5,
      "five ready rooms",
    );
  });

  test("drain stops making rooms, across a restart; resume makes them again", async () => {
    const drained = await complete("admin", "pool-drain", {});
    assert.equal(drained.attrs.status, "completed");
    assert.equal((await control())?.draining, true);
    // A staff member takes a ready room (and stays, so that no claim timeout gives it back).
    const taken = await world.staffWaiting("staff1");

    // After a restart the pool has filled once it says it resynchronised: nothing was made.
    await daemon.stop();
    daemon = await startDaemon("adhoc");
    assert.equal(await world.availableCount(), 4);
    const status = await poolStatus();
    assert.equal(status.draining, "yes");
    assert.match(status.target!, /^5 \(set by admin@localhost; configured: 3\)$/);

    const resumed = await complete("admin", "pool-resume", {});
    assert.equal(resumed.attrs.status, "completed");
    assert.equal((await control())?.draining, false);
    await eventually(
      () => world.availableCount(),
      (n) => n === 5,
      "the pool refilled",
    );
    await world.leave("staff1", taken.jid);
    await world.waitStatus(taken.jid, "available");
  });

  test("an empty target goes back to the configuration", async () => {
    const done = await complete("admin", "pool-resize", { min_available: "" });
    assert.match(done.getChildText("note") ?? "", /min_available \(3\)/);
    assert.equal((await control())?.min_available, null);
    assert.equal((await poolStatus()).target, "3 (roompool.min_available)");
  });

  test("cancel ends a session; the session then is unknown", async () => {
    const first = commandOf(await run("admin", { node: "pool-drain" }));
    const sessionid = String(first.attrs.sessionid);
    const canceled = commandOf(
      await run("admin", { node: "pool-drain", sessionid, action: "cancel" }),
    );
    assert.equal(canceled.attrs.status, "canceled");
    const gone = errorOf(
      await run("admin", { node: "pool-drain", sessionid, action: "complete", values: {} }),
    );
    assert.deepEqual([gone.condition, gone.specific], ["bad-request", "bad-sessionid"]);
    assert.equal((await control())?.draining, false, "a canceled drain changed nothing");
  });

  test("an unknown action is malformed-action; one not offered is bad-action", async () => {
    const malformed = errorOf(await run("admin", { node: "pool-status", action: "jump" }));
    assert.deepEqual(
      [malformed.condition, malformed.specific],
      ["bad-request", "malformed-action"],
    );
    const first = commandOf(await run("admin", { node: "pool-resize" }));
    const sessionid = String(first.attrs.sessionid);
    const prev = errorOf(
      await run("admin", { node: "pool-resize", sessionid, action: "prev", values: {} }),
    );
    assert.deepEqual([prev.condition, prev.specific], ["bad-request", "bad-action"]);
    await run("admin", { node: "pool-resize", sessionid, action: "cancel" });
  });
});

describe("the NEERC board's commands", () => {
  async function createTask(title: string): Promise<string> {
    const reply = await world
      .person("admin")
      .request(
        xml(
          "iq",
          { type: "set", to: stack.componentJid },
          xml(
            "task",
            { xmlns: `${NS_NEERC}#task`, title, type: "todo" },
            xml("status", { for: "hall1", type: "none" }),
          ),
        ),
      );
    assert.equal(reply.attrs.type, "result", reply.toString());
    return String(reply.getChild("task", `${NS_NEERC}#task`)!.attrs.id);
  }

  test("the task list of a room is a table", async () => {
    const id = await createTask("Check the printers");
    const listed = await complete("admin", "neerc-tasks", { room: "neerc" });
    assert.equal(listed.attrs.status, "completed");
    const row = rows(listed).find((r) => r.id === id);
    assert.deepEqual(
      { title: row?.title, type: row?.type, statuses: row?.statuses },
      { title: "Check the printers", type: "todo", statuses: "hall1: none" },
    );
  });

  test("a bad room name is bad-request naming the field", async () => {
    const first = commandOf(await run("admin", { node: "neerc-tasks" }));
    const sessionid = String(first.attrs.sessionid);
    const bad = errorOf(
      await run("admin", {
        node: "neerc-tasks",
        sessionid,
        action: "complete",
        values: { room: "a b" },
      }),
    );
    assert.deepEqual([bad.condition, bad.specific], ["bad-request", "bad-payload"]);
    assert.match(bad.text ?? "", /room/);
  });

  test("removal: a room, then the tasks to remove; the members are told", async () => {
    const id = await createTask("Remove me");
    const first = commandOf(await run("admin", { node: "neerc-remove" }));
    assert.equal(first.getChild("actions")?.attrs.execute, "next");
    const sessionid = String(first.attrs.sessionid);
    const second = commandOf(
      await run("admin", {
        node: "neerc-remove",
        sessionid,
        action: "next",
        values: { room: "neerc" },
      }),
    );
    assert.equal(second.attrs.status, "executing");
    const options = second
      .getChild("x", NS_DATA)!
      .getChild("field")!
      .getChildren("option")
      .map((o) => o.getChildText("value"));
    assert.ok(options.includes(id), second.toString());
    world.person("hall1").received.length = 0;
    const done = commandOf(
      await run("admin", {
        node: "neerc-remove",
        sessionid,
        action: "complete",
        values: { tasks: [id] },
      }),
    );
    assert.equal(done.getChildText("note"), "Removed 1 task from room neerc.");
    const listed = await complete("admin", "neerc-tasks", { room: "neerc" });
    assert.equal(
      rows(listed).find((r) => r.id === id),
      undefined,
    );
    const told = await world.person("hall1").waitFor((s) => {
      const task = s.getChild("x", `${NS_NEERC}#tasks`)?.getChild("task");
      return s.name === "message" && task?.attrs.id === id && task.attrs.type === "remove";
    });
    assert.equal(told.attrs.type, "headline");
  });
});

describe("who is online", () => {
  test("a user's devices with show and status, as the component sees them", async () => {
    const second = await TestClient.connect(stack, account("hall1"), "desk");
    try {
      await world
        .person("hall1")
        .xmpp.send(
          xml(
            "presence",
            { to: stack.componentJid },
            xml("show", {}, "away"),
            xml("status", {}, "at lunch"),
          ),
        );
      // Two connections keep no order between them: the second speaks once the first is seen.
      await eventually(
        () => complete("admin", "who-is-online", { user: "hall1@localhost" }),
        (c) => rows(c).length === 1,
        "the first device",
      );
      await second.xmpp.send(xml("presence", { to: stack.componentJid }, xml("show", {}, "dnd")));
      const answer = await eventually(
        () => complete("admin", "who-is-online", { user: "Hall1@localhost" }),
        (c) => rows(c).length === 2,
        "both devices",
      );
      assert.deepEqual(
        rows(answer).map((r) => [r.device, r.show, r.status]),
        [
          ["hall1@localhost/desk", "dnd", ""],
          ["hall1@localhost/test", "away", "at lunch"],
        ],
      );
      assert.equal(fields(answer).combined, "dnd");
    } finally {
      await second.stop();
    }
  });

  test("an address that is not a user's is bad-request naming the field", async () => {
    const first = commandOf(await run("admin", { node: "who-is-online" }));
    const sessionid = String(first.attrs.sessionid);
    const bad = errorOf(
      await run("admin", {
        node: "who-is-online",
        sessionid,
        action: "complete",
        values: { user: "localhost" },
      }),
    );
    assert.deepEqual([bad.condition, bad.specific], ["bad-request", "bad-payload"]);
    assert.match(bad.text ?? "", /'user'/);
  });
});
