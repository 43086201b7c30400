import assert from "node:assert/strict";
import { describe, test } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { pino } from "pino";
import type { AdminCommand } from "../../src/adhoc/command.js";
import { FieldProblem } from "../../src/adhoc/forms.js";
import { AdHocCommands } from "../../src/adhoc/registry.js";
import { installBuiltins } from "../../src/xmpp/builtins.js";
import {
  NS_COMMANDS,
  NS_DATA,
  NS_DISCO_INFO,
  NS_DISCO_ITEMS,
  NS_STANZAS,
} from "../../src/xmpp/namespaces.js";
import { Router } from "../../src/xmpp/router.js";
import { StanzaError } from "../../src/xmpp/stanza-error.js";

const COMPONENT = "concierge.example.org";
const ADMIN = "Admin@Example.org/laptop";
const OTHER = "user@example.org/phone";

/** One stage asking for a number, then done (or, with `twoStage`, a second stage first). */
const echo: AdminCommand<{ first?: string } | null> = {
  node: "echo",
  name: "Echo",
  start: () => ({
    status: "executing",
    form: { type: "form", fields: [{ type: "text-single", var: "n" }] },
    actions: ["complete"],
    state: null,
  }),
  submit: (caller, form) => {
    const n = form.optionalInteger("n", 0, 10);
    return {
      status: "completed",
      notes: [{ type: "info", text: `${caller.admin} said ${n ?? "nothing"}` }],
    };
  },
};

const twoStage: AdminCommand<{ first: string } | null> = {
  node: "two",
  name: "Two stages",
  start: () => ({
    status: "executing",
    form: { type: "form", fields: [{ type: "text-single", var: "a" }] },
    actions: ["next"],
    state: null,
  }),
  submit: (_caller, form, state) => {
    if (state === null) {
      return {
        status: "executing",
        form: { type: "form", fields: [{ type: "text-single", var: "b" }] },
        actions: ["complete"],
        state: { first: form.required("a") },
      };
    }
    return {
      status: "completed",
      notes: [{ type: "info", text: `${state.first}+${form.required("b")}` }],
    };
  },
};

const instant: AdminCommand<never> = {
  node: "instant",
  name: "Instant",
  start: () => ({ status: "completed", form: { type: "result", title: "now" } }),
  submit: () => {
    throw new Error("never");
  },
};

const refusing: AdminCommand<never> = {
  node: "refusing",
  name: "Refusing",
  start: () => {
    throw new StanzaError("item-not-found", "no such room");
  },
  submit: () => {
    throw new FieldProblem("x", "never");
  },
};

function setup(limits = { maxSessions: 10, timeoutMs: 60_000 }) {
  const sent: Element[] = [];
  let clock = 1_000;
  const router = new Router((element) => void sent.push(element), pino({ level: "silent" }));
  installBuiltins(router, { name: "Concierge", version: "1" });
  const registry = new AdHocCommands(router, {
    componentJid: COMPONENT,
    admins: ["admin@example.org"],
    ...limits,
    log: pino({ level: "silent" }),
    now: () => clock,
  });
  for (const command of [echo, twoStage, instant, refusing]) registry.add(command);
  let id = 0;
  /** Sends an iq and waits for the router's one reply to it. */
  async function ask(payload: Element, from = ADMIN, type = "set"): Promise<Element> {
    const iqId = `q${++id}`;
    router.dispatch(xml("iq", { type, id: iqId, from, to: COMPONENT }, payload));
    for (let i = 0; i < 100; i++) {
      const reply = sent.find((s) => s.attrs.id === iqId);
      if (reply) return reply;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`no reply to ${payload.toString()}`);
  }
  const advance = (ms: number) => (clock += ms);
  return { router, registry, ask, advance };
}

const command = (attrs: Record<string, string>, ...children: Element[]) =>
  xml("command", { xmlns: NS_COMMANDS, ...attrs }, ...children);
const submit = (values: Record<string, string>) =>
  xml(
    "x",
    { xmlns: NS_DATA, type: "submit" },
    ...Object.entries(values).map(([name, value]) =>
      xml("field", { var: name }, xml("value", {}, value)),
    ),
  );

function failure(reply: Element) {
  assert.equal(reply.attrs.type, "error", reply.toString());
  const error = reply.getChild("error")!;
  const elements = error.children.filter((c): c is Element => typeof c !== "string");
  return {
    type: error.attrs.type as unknown,
    condition: elements.find((c) => c.attrs.xmlns === NS_STANZAS && c.name !== "text")?.name,
    specific: elements.find((c) => c.attrs.xmlns === NS_COMMANDS)?.name,
    text: error.getChildText("text", NS_STANZAS),
  };
}

function answer(reply: Element): Element {
  assert.equal(reply.attrs.type, "result", reply.toString());
  const found = reply.getChild("command", NS_COMMANDS);
  assert.ok(found, reply.toString());
  return found;
}

describe("ad-hoc commands: discovery", () => {
  test("disco#info advertises the commands feature", async () => {
    const { ask } = setup();
    const reply = await ask(xml("query", { xmlns: NS_DISCO_INFO }), OTHER, "get");
    const features = reply
      .getChild("query", NS_DISCO_INFO)!
      .getChildren("feature")
      .map((f) => f.attrs.var as unknown);
    assert.ok(features.includes(NS_COMMANDS));
  });

  test("an admin (any case, any resource) sees every command, in the order they were added", async () => {
    const { ask } = setup();
    const reply = await ask(
      xml("query", { xmlns: NS_DISCO_ITEMS, node: NS_COMMANDS }),
      ADMIN,
      "get",
    );
    const query = reply.getChild("query", NS_DISCO_ITEMS)!;
    assert.equal(query.attrs.node, NS_COMMANDS);
    assert.deepEqual(
      query.getChildren("item").map((i) => ({ ...i.attrs })),
      [
        { jid: COMPONENT, node: "echo", name: "Echo" },
        { jid: COMPONENT, node: "two", name: "Two stages" },
        { jid: COMPONENT, node: "instant", name: "Instant" },
        { jid: COMPONENT, node: "refusing", name: "Refusing" },
      ],
    );
  });

  test("anyone else sees an empty list", async () => {
    const { ask } = setup();
    const reply = await ask(
      xml("query", { xmlns: NS_DISCO_ITEMS, node: NS_COMMANDS }),
      OTHER,
      "get",
    );
    assert.deepEqual(reply.getChild("query", NS_DISCO_ITEMS)!.getChildren("item"), []);
  });

  test("a command's node answers disco#info as a command node", async () => {
    const { ask } = setup();
    const reply = await ask(xml("query", { xmlns: NS_DISCO_INFO, node: "echo" }), ADMIN, "get");
    const query = reply.getChild("query", NS_DISCO_INFO)!;
    assert.deepEqual(
      { ...query.getChild("identity")!.attrs },
      {
        category: "automation",
        type: "command-node",
        name: "Echo",
      },
    );
    assert.deepEqual(
      query.getChildren("feature").map((f) => f.attrs.var as unknown),
      [NS_COMMANDS, NS_DATA],
    );
  });

  test("a command added twice is a programming error", () => {
    const { registry } = setup();
    assert.throws(() => registry.add(echo), /exists/);
  });
});

describe("ad-hoc commands: who may run them", () => {
  test("anyone but an admin gets forbidden with a text, whatever the node", async () => {
    const { ask } = setup();
    for (const node of ["echo", "nonexistent"]) {
      const f = failure(await ask(command({ node, action: "execute" }), OTHER));
      assert.equal(f.condition, "forbidden");
      assert.equal(f.type, "auth");
      assert.match(f.text ?? "", /admins/);
    }
  });

  test("an unknown node gets item-not-found", async () => {
    const { ask } = setup();
    assert.equal(failure(await ask(command({ node: "nonexistent" }))).condition, "item-not-found");
  });

  test("a command without a node gets bad-request", async () => {
    const { ask } = setup();
    assert.equal(failure(await ask(command({}))).condition, "bad-request");
  });
});

describe("ad-hoc commands: a single-stage command", () => {
  test("execute opens a session showing the form, complete finishes it with its notes", async () => {
    const { ask } = setup();
    const first = answer(await ask(command({ node: "echo", action: "execute" })));
    assert.equal(first.attrs.status, "executing");
    assert.equal(first.attrs.node, "echo");
    const sessionid = first.attrs.sessionid as string;
    assert.match(sessionid, /^[0-9a-f]{24}$/);
    const actions = first.getChild("actions")!;
    assert.equal(actions.attrs.execute, "complete");
    assert.deepEqual(
      actions.getChildElements().map((a) => a.name),
      ["complete"],
    );
    assert.equal(first.getChild("x", NS_DATA)?.attrs.type, "form");

    const last = answer(
      await ask(command({ node: "echo", sessionid, action: "complete" }, submit({ n: "7" }))),
    );
    assert.equal(last.attrs.status, "completed");
    assert.equal(last.attrs.sessionid, sessionid);
    assert.equal(last.getChild("actions"), undefined);
    const note = last.getChild("note")!;
    assert.deepEqual([note.attrs.type, note.text()], ["info", "admin@example.org said 7"]);
  });

  test("a request without an action means execute", async () => {
    const { ask } = setup();
    assert.equal(answer(await ask(command({ node: "echo" }))).attrs.status, "executing");
  });

  test("execute within a session is the stage's default action", async () => {
    const { ask } = setup();
    const sessionid = answer(await ask(command({ node: "echo" }))).attrs.sessionid as string;
    const last = answer(
      await ask(command({ node: "echo", sessionid, action: "execute" }, submit({}))),
    );
    assert.equal(last.attrs.status, "completed");
    assert.equal(last.getChildText("note"), "admin@example.org said nothing");
  });

  test("a finished session is gone", async () => {
    const { ask } = setup();
    const sessionid = answer(await ask(command({ node: "echo" }))).attrs.sessionid as string;
    await ask(command({ node: "echo", sessionid, action: "complete" }, submit({ n: "1" })));
    const f = failure(
      await ask(command({ node: "echo", sessionid, action: "complete" }, submit({}))),
    );
    assert.deepEqual([f.condition, f.specific], ["bad-request", "bad-sessionid"]);
  });

  test("a command that answers at once is completed, with a sessionid and its result", async () => {
    const { ask } = setup();
    const reply = answer(await ask(command({ node: "instant" })));
    assert.equal(reply.attrs.status, "completed");
    assert.ok(reply.attrs.sessionid);
    assert.equal(reply.getChild("x", NS_DATA)?.attrs.type, "result");
  });

  test("a StanzaError of the command goes out as it is", async () => {
    const { ask } = setup();
    const f = failure(await ask(command({ node: "refusing" })));
    assert.deepEqual([f.condition, f.text], ["item-not-found", "no such room"]);
  });
});

describe("ad-hoc commands: bad input", () => {
  test("an unknown action is malformed-action", async () => {
    const { ask } = setup();
    const f = failure(await ask(command({ node: "echo", action: "jump" })));
    assert.deepEqual([f.condition, f.specific], ["bad-request", "malformed-action"]);
    assert.match(f.text ?? "", /jump/);
  });

  test("next, complete, prev or cancel without a session is bad-sessionid", async () => {
    const { ask } = setup();
    for (const action of ["next", "complete", "prev", "cancel"]) {
      const f = failure(await ask(command({ node: "echo", action })));
      assert.deepEqual([f.condition, f.specific], ["bad-request", "bad-sessionid"], action);
    }
  });

  test("an action the stage does not offer is bad-action (prev is never offered)", async () => {
    const { ask } = setup();
    const sessionid = answer(await ask(command({ node: "echo" }))).attrs.sessionid as string;
    for (const action of ["next", "prev"]) {
      const f = failure(await ask(command({ node: "echo", sessionid, action }, submit({}))));
      assert.deepEqual([f.condition, f.specific], ["bad-request", "bad-action"], action);
    }
  });

  test("a submission without the form is bad-payload", async () => {
    const { ask } = setup();
    const sessionid = answer(await ask(command({ node: "echo" }))).attrs.sessionid as string;
    const f = failure(await ask(command({ node: "echo", sessionid, action: "complete" })));
    assert.deepEqual([f.condition, f.specific], ["bad-request", "bad-payload"]);
    const asForm = xml("x", { xmlns: NS_DATA, type: "form" });
    const g = failure(await ask(command({ node: "echo", sessionid, action: "complete" }, asForm)));
    assert.deepEqual([g.condition, g.specific], ["bad-request", "bad-payload"]);
  });

  test("a bad field is bad-request naming the field; the session stays to correct it", async () => {
    const { ask } = setup();
    const sessionid = answer(await ask(command({ node: "echo" }))).attrs.sessionid as string;
    const f = failure(
      await ask(command({ node: "echo", sessionid, action: "complete" }, submit({ n: "eleven" }))),
    );
    assert.deepEqual([f.condition, f.type, f.specific], ["bad-request", "modify", "bad-payload"]);
    assert.equal(f.text, "field 'n': 'eleven' is not a whole number");
    const retry = answer(
      await ask(command({ node: "echo", sessionid, action: "complete" }, submit({ n: "3" }))),
    );
    assert.equal(retry.attrs.status, "completed");
  });

  test("an empty sessionid is bad-sessionid; an unknown one too", async () => {
    const { ask } = setup();
    for (const sessionid of ["", "0123"]) {
      const f = failure(await ask(command({ node: "echo", sessionid, action: "complete" })));
      assert.deepEqual([f.condition, f.specific], ["bad-request", "bad-sessionid"]);
    }
  });
});

describe("ad-hoc commands: sessions", () => {
  test("a two-stage command carries its state from next to complete", async () => {
    const { ask } = setup();
    const first = answer(await ask(command({ node: "two" })));
    assert.equal(first.getChild("actions")!.attrs.execute, "next");
    const sessionid = first.attrs.sessionid as string;
    const second = answer(
      await ask(command({ node: "two", sessionid, action: "next" }, submit({ a: "x" }))),
    );
    assert.equal(second.attrs.status, "executing");
    assert.equal(second.getChild("actions")!.attrs.execute, "complete");
    const done = answer(
      await ask(command({ node: "two", sessionid, action: "complete" }, submit({ b: "y" }))),
    );
    assert.equal(done.getChildText("note"), "x+y");
  });

  test("a step still running refuses another request on its session", async () => {
    const { ask, registry } = setup();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let runs = 0;
    registry.add<null>({
      node: "slow",
      name: "Slow",
      start: () => ({
        status: "executing",
        form: { type: "form" },
        actions: ["complete"],
        state: null,
      }),
      submit: async () => {
        runs++;
        await gate;
        return { status: "completed" };
      },
    });
    const sessionid = answer(await ask(command({ node: "slow" }))).attrs.sessionid as string;
    const step = { node: "slow", sessionid, action: "complete" };
    const first = ask(command(step, submit({})));
    const second = failure(await ask(command(step, submit({}))));
    assert.deepEqual([second.condition, second.type], ["unexpected-request", "wait"]);
    open();
    assert.equal(answer(await first).attrs.status, "completed");
    assert.equal(runs, 1);
  });

  test("cancel ends a session with status canceled", async () => {
    const { ask } = setup();
    const sessionid = answer(await ask(command({ node: "two" }))).attrs.sessionid as string;
    const canceled = answer(await ask(command({ node: "two", sessionid, action: "cancel" })));
    assert.deepEqual([canceled.attrs.status, canceled.attrs.sessionid], ["canceled", sessionid]);
    const f = failure(
      await ask(command({ node: "two", sessionid, action: "next" }, submit({ a: "x" }))),
    );
    assert.equal(f.specific, "bad-sessionid");
  });

  test("a session belongs to the device that opened it, and to its node", async () => {
    const { ask } = setup();
    const sessionid = answer(await ask(command({ node: "two" }))).attrs.sessionid as string;
    const otherDevice = "admin@example.org/desktop";
    const f = failure(
      await ask(
        command({ node: "two", sessionid, action: "next" }, submit({ a: "x" })),
        otherDevice,
      ),
    );
    assert.equal(f.specific, "bad-sessionid");
    const g = failure(
      await ask(command({ node: "echo", sessionid, action: "complete" }, submit({}))),
    );
    assert.equal(g.specific, "bad-sessionid");
    const mine = answer(
      await ask(command({ node: "two", sessionid, action: "next" }, submit({ a: "x" }))),
    );
    assert.equal(mine.attrs.status, "executing");
  });

  test("a session unused for the timeout has expired: not-allowed, session-expired", async () => {
    const { ask, advance } = setup({ maxSessions: 10, timeoutMs: 60_000 });
    const sessionid = answer(await ask(command({ node: "two" }))).attrs.sessionid as string;
    advance(60_000);
    const f = failure(
      await ask(command({ node: "two", sessionid, action: "next" }, submit({ a: "x" }))),
    );
    assert.deepEqual(
      [f.condition, f.type, f.specific],
      ["not-allowed", "cancel", "session-expired"],
    );
  });

  test("each step renews a session's time", async () => {
    const { ask, advance } = setup({ maxSessions: 10, timeoutMs: 60_000 });
    const sessionid = answer(await ask(command({ node: "two" }))).attrs.sessionid as string;
    advance(59_000);
    await ask(command({ node: "two", sessionid, action: "next" }, submit({ a: "x" })));
    advance(59_000);
    const done = answer(
      await ask(command({ node: "two", sessionid, action: "complete" }, submit({ b: "y" }))),
    );
    assert.equal(done.attrs.status, "completed");
  });

  test("sessions are bounded in number: resource-constraint until one expires", async () => {
    const { ask, advance } = setup({ maxSessions: 2, timeoutMs: 60_000 });
    await ask(command({ node: "two" }));
    advance(30_000);
    await ask(command({ node: "two" }));
    const f = failure(await ask(command({ node: "two" })));
    assert.deepEqual([f.condition, f.type], ["resource-constraint", "wait"]);
    // A command that completes at once needs no session.
    assert.equal(answer(await ask(command({ node: "instant" }))).attrs.status, "completed");
    advance(30_000);
    assert.equal(answer(await ask(command({ node: "two" }))).attrs.status, "executing");
  });
});
