import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Element } from "@xmpp/xml";
import { TestClient, errorCondition, xml } from "../harness/client.js";
import { eventually } from "../harness/eventually.js";
import { Daemon } from "../harness/daemon.js";
import { startStack, type Stack } from "../harness/stack.js";

const NS_A = "http://laptop.org/xmpp/activity";
const NS_B = "http://laptop.org/xmpp/buddy";
const NS_AP = "http://laptop.org/xmpp/activity-properties";
const NS_BP = "http://laptop.org/xmpp/buddy-properties";
const NS_RSM = "http://jabber.org/protocol/rsm";
const NS_AMP = "http://jabber.org/protocol/amp";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";

const people = ["host", "joe", "gabble", "bob"];
const account = (name: string) => ({ username: name, password: `pw-${name}` });
let stack: Stack;
let daemon: Daemon;
const clients = new Map<string, TestClient>();
const client = (name: string) => clients.get(name)!;
const room = (id: string) => `${id}@${stack.prosody.mucDomain}`;

const prop = (type: string, name: string, value: string) => xml("property", { type, name }, value);

async function online(name: string, resource = "xo"): Promise<TestClient> {
  const c = await TestClient.connect(stack, account(name), resource);
  await c.xmpp.send(xml("presence", { to: stack.componentJid }));
  clients.set(name, c);
  return c;
}

function ask(name: string, payload: Element): Promise<Element> {
  return client(name).request(xml("iq", { type: "get", to: stack.componentJid }, payload));
}

function tell(name: string, ...payload: Element[]): Promise<void> {
  return client(name).xmpp.send(xml("message", { to: stack.componentJid }, ...payload));
}

/** The index notices a client received (messages from the component carrying an AMP rule). */
function notices(name: string): Element[] {
  return client(name).received.filter(
    (s) => s.name === "message" && s.attrs.from === stack.componentJid && s.getChild("amp", NS_AMP),
  );
}

const activitiesIn = (reply: Element, container = "query") =>
  reply.getChild(container)?.getChildren("activity") ?? [];

async function countOfType(type: string): Promise<number> {
  const reply = await ask(
    "joe",
    xml(
      "query",
      { xmlns: NS_A },
      xml("activity", {}, prop("str", "type", type)),
      rsm({ max: "0" }),
    ),
  );
  return Number(reply.getChild("query")?.getChild("set", NS_RSM)?.getChildText("count"));
}

function rsm(fields: Record<string, string>): Element {
  return xml(
    "set",
    { xmlns: NS_RSM },
    ...Object.entries(fields).map(([name, value]) => xml(name, {}, value)),
  );
}

before(async () => {
  stack = await startStack({ accounts: people.map(account) });
  daemon = await Daemon.start(stack, {
    name: "olpc",
    logLevel: "info",
    extra: { olpc: { max_view_size: 50, max_page_size: 100 } },
  });
  await daemon.waitOnline();
  for (const name of people) await online(name);
  // The seed's activity, and 250 "Paint" activities for paging, all hosted by `host`.
  await tell(
    "host",
    xml(
      "properties",
      { xmlns: NS_AP, activity: "abcde123", room: room("abcde123") },
      prop("str", "type", "org.laptop.Connect"),
      prop("str", "tags", "news"),
    ),
  );
  for (let i = 0; i < 250; i++) {
    const id = `paint${String(i).padStart(3, "0")}`;
    await tell(
      "host",
      xml(
        "properties",
        { xmlns: NS_AP, activity: id, room: room(id) },
        prop("str", "type", "org.laptop.Paint"),
      ),
    );
  }
  await eventually(
    () => countOfType("org.laptop.Paint"),
    (n) => n === 250,
    "250 activities indexed",
  );
  await client("bob").request(
    xml(
      "iq",
      { type: "set", to: stack.componentJid },
      xml(
        "properties",
        { xmlns: NS_BP },
        prop("str", "color", "#005FE4,#00A0FF"),
        prop("str", "nick", "Bob"),
      ),
    ),
  );
});

after(async () => {
  for (const c of clients.values()) await c.stop();
  await daemon?.stop();
  await stack?.stop();
});

describe("discovery", () => {
  test("identity collaboration/gadget with the buddy and activity features", async () => {
    const reply = await ask("joe", xml("query", { xmlns: NS_DISCO_INFO }));
    const query = reply.getChild("query")!;
    assert.ok(
      query
        .getChildren("identity")
        .some((i) => i.attrs.category === "collaboration" && i.attrs.type === "gadget"),
    );
    const features = query.getChildren("feature").map((f) => f.attrs.var as string);
    for (const ns of [NS_A, NS_B, `${NS_BP}+notify`]) assert.ok(features.includes(ns), ns);
  });
});

describe("the seed's examples, as written", () => {
  test("activities by properties: the Connect activity with its properties and buddies", async () => {
    const reply = await ask(
      "joe",
      xml("query", { xmlns: NS_A }, xml("activity", {}, prop("str", "type", "org.laptop.Connect"))),
    );
    assert.equal(reply.attrs.type, "result", reply.toString());
    const [activity, ...rest] = activitiesIn(reply);
    assert.equal(rest.length, 0);
    assert.equal(activity!.attrs.id, "abcde123");
    assert.equal(activity!.attrs.room, room("abcde123"));
    const props = activity!.getChild("properties", NS_AP)!.getChildren("property");
    assert.deepEqual(
      props.map((p) => [String(p.attrs.type), String(p.attrs.name), p.text()]),
      [
        ["str", "tags", "news"],
        ["str", "type", "org.laptop.Connect"],
      ],
    );
    assert.deepEqual(
      activity!.getChildren("buddy").map((b) => String(b.attrs.jid)),
      ["host@localhost"],
    );
  });

  test("an activity by id", async () => {
    const reply = await ask(
      "joe",
      xml("query", { xmlns: NS_A }, xml("activity", { id: "abcde123" })),
    );
    assert.deepEqual(
      activitiesIn(reply).map((a) => String(a.attrs.id)),
      ["abcde123"],
    );
    const none = await ask("joe", xml("query", { xmlns: NS_A }, xml("activity", { id: "nope" })));
    assert.deepEqual(activitiesIn(none), []);
  });

  test("a buddy by jid, with the draft's bare <buddy/> request", async () => {
    const reply = await ask("joe", xml("buddy", { xmlns: NS_B, jid: "bob@localhost" }));
    assert.equal(reply.attrs.type, "result", reply.toString());
    const buddy = reply.getChild("buddy", NS_B)!;
    assert.equal(buddy.attrs.jid, "bob@localhost");
    const color = buddy
      .getChild("properties", NS_BP)!
      .getChildren("property")
      .find((p) => p.attrs.name === "color");
    assert.equal(color?.text(), "#005FE4,#00A0FF");
    const wrapped = await ask(
      "joe",
      xml("query", { xmlns: NS_B }, xml("buddy", { jid: "bob@localhost" })),
    );
    assert.deepEqual(
      wrapped
        .getChild("query")!
        .getChildren("buddy")
        .map((b) => String(b.attrs.jid)),
      ["bob@localhost"],
    );
  });
});

describe("RSM paging through 250 activities", () => {
  const query = (set: Element) =>
    ask(
      "joe",
      xml(
        "query",
        { xmlns: NS_A },
        xml("activity", {}, prop("str", "type", "org.laptop.Paint")),
        set,
      ),
    );
  const setOf = (reply: Element) => reply.getChild("query")!.getChild("set", NS_RSM)!;

  test("forward page by page with first index, last and count", async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (let pageNo = 0; pageNo < 6; pageNo++) {
      const reply = await query(rsm({ max: "50", ...(after ? { after } : {}) }));
      const ids = activitiesIn(reply).map((a) => String(a.attrs.id));
      const set = setOf(reply);
      assert.equal(set.getChildText("count"), "250");
      if (pageNo === 5) {
        assert.deepEqual(ids, []);
        assert.equal(set.getChild("first"), undefined);
        break;
      }
      assert.equal(ids.length, 50);
      assert.equal(set.getChild("first")!.attrs.index, String(pageNo * 50));
      assert.equal(set.getChildText("first"), ids[0]);
      assert.equal(set.getChildText("last"), ids.at(-1));
      seen.push(...ids);
      after = ids.at(-1);
    }
    assert.equal(new Set(seen).size, 250);
    assert.deepEqual(seen, [...seen].sort());
  });

  test("the last page with an empty <before/>, then backwards, and by index", async () => {
    const last = await query(xml("set", { xmlns: NS_RSM }, xml("max", {}, "30"), xml("before")));
    assert.equal(setOf(last).getChild("first")!.attrs.index, "220");
    assert.equal(setOf(last).getChildText("last"), "paint249");
    const before = await query(rsm({ max: "30", before: "paint220" }));
    assert.equal(setOf(before).getChildText("first"), "paint190");
    const byIndex = await query(rsm({ max: "5", index: "100" }));
    assert.equal(setOf(byIndex).getChildText("first"), "paint100");
  });

  test("a stale uid gets item-not-found", async () => {
    assert.equal(
      errorCondition(await query(rsm({ max: "10", after: "gone-uid" }))),
      "item-not-found",
    );
    assert.equal(
      errorCondition(await query(rsm({ max: "10", before: "gone-uid" }))),
      "item-not-found",
    );
  });
});

describe("notifications follow each client's result sets and views", () => {
  const connect = () =>
    ask(
      "joe",
      xml("query", { xmlns: NS_A }, xml("activity", {}, prop("str", "type", "org.laptop.Connect"))),
    );

  test("a buddy's change, a join, a leave and a close: exactly the notices each set calls for", async () => {
    // joe (draft): an activity result set and a buddy result set; gabble: two views.
    await connect();
    await ask("joe", xml("query", { xmlns: NS_B }, xml("buddy", { jid: "bob@localhost" })));
    const view1 = await ask(
      "gabble",
      xml(
        "view",
        { xmlns: NS_A, id: "1", size: "10" },
        xml(
          "activity",
          {},
          xml("properties", { xmlns: NS_AP }, prop("str", "type", "org.laptop.Connect")),
        ),
      ),
    );
    assert.deepEqual(
      activitiesIn(view1, "view").map((a) => String(a.attrs.id)),
      ["abcde123"],
    );
    const view2 = await ask(
      "gabble",
      xml("view", { xmlns: NS_B, id: "2", size: "10" }, xml("buddy", { alias: "bob" })),
    );
    assert.deepEqual(
      view2
        .getChild("view")!
        .getChildren("buddy")
        .map((b) => String(b.attrs.jid)),
      ["bob@localhost"],
    );
    client("joe").received.length = 0;
    client("gabble").received.length = 0;

    await client("bob").request(
      xml(
        "iq",
        { type: "set", to: stack.componentJid },
        xml(
          "properties",
          { xmlns: NS_BP },
          prop("str", "color", "#FF0000,#00FF00"),
          prop("str", "nick", "Bob"),
        ),
      ),
    );
    await tell("bob", xml("activity", { xmlns: NS_A, activity: "abcde123" }, xml("joined")));
    await eventually(
      () => notices("gabble").length,
      (n) => n >= 2,
      "gabble told of change and join",
    );
    await tell("bob", xml("activity", { xmlns: NS_A, activity: "abcde123" }, xml("left")));
    await eventually(
      () => notices("joe").length,
      (n) => n >= 3,
      "joe told bob left",
    );
    await tell("host", xml("activity", { xmlns: NS_A, activity: "abcde123" }, xml("left")));
    await eventually(
      () => notices("joe").length,
      (n) => n >= 4,
      "joe's four notices",
    );
    await eventually(
      () => notices("gabble").length,
      (n) => n >= 4,
      "gabble's four notices",
    );
    await new Promise((resolve) => setTimeout(resolve, 300));

    const joe = notices("joe");
    assert.deepEqual(joe.map(summary), [
      `change ${NS_B} jid=bob@localhost`,
      `activity ${NS_A} activity=abcde123 joined=bob@localhost`,
      `activity ${NS_A} activity=abcde123 left=bob@localhost`,
      `activity ${NS_A} activity=abcde123 left=host@localhost`,
      `activity ${NS_A} activity=abcde123 closed`,
    ]);
    const gabble = notices("gabble");
    assert.deepEqual(gabble.map(summary), [
      `change ${NS_B} jid=bob@localhost id=2`,
      `activity ${NS_A} room=${room("abcde123")} view=1 joined=bob@localhost`,
      `activity ${NS_A} room=${room("abcde123")} view=1 left=bob@localhost`,
      `activity ${NS_A} room=${room("abcde123")} view=1 left=host@localhost`,
      `removed ${NS_A} id=1`,
    ]);
    // The draft's type "notice" is no RFC 6121 message type: Prosody passes it on, ejabberd
    // 23.01's parser reads an unknown type as normal and sends the message without one.
    const delivered = stack.prosody.kind === "prosody" ? "notice" : undefined;
    for (const notice of [...joe, ...gabble]) assert.equal(notice.attrs.type, delivered);
    const rule = joe[0]!.getChild("amp", NS_AMP)!.getChild("rule")!;
    assert.deepEqual(rule.attrs, { condition: "deliver-at", value: "stored", action: "error" });
  });

  test("nothing after a view is closed or its client goes offline", async () => {
    await ask(
      "gabble",
      xml(
        "view",
        { xmlns: NS_A, id: "3", size: "10" },
        xml(
          "activity",
          {},
          xml("properties", { xmlns: NS_AP }, prop("str", "type", "org.laptop.Paint")),
        ),
      ),
    );
    await ask("joe", xml("query", { xmlns: NS_A }, xml("activity", { id: "paint001" })));
    await tell("gabble", xml("close", { xmlns: NS_A, id: "3" }));
    await client("joe").stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    client("gabble").received.length = 0;
    const joe = await online("joe");
    await tell(
      "host",
      xml(
        "properties",
        { xmlns: NS_AP, activity: "paint001", room: room("paint001") },
        prop("str", "type", "org.laptop.Paint"),
        prop("str", "tags", "late"),
      ),
    );
    // A later change that reaches someone shows the earlier one was processed.
    await eventually(
      () => countTagged("late"),
      (n) => n === 1,
      "the change applied",
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(notices("gabble").map(summary), []);
    assert.deepEqual(joe.received.filter((s) => s.getChild("amp", NS_AMP)).map(summary), []);
  });
});

async function countTagged(tag: string): Promise<number> {
  const reply = await ask(
    "gabble",
    xml("query", { xmlns: NS_A }, xml("activity", {}, prop("str", "tags", tag))),
  );
  return activitiesIn(reply).length;
}

describe("bad input", () => {
  const view = (attrs: Record<string, string>, ...children: Element[]) =>
    ask("joe", xml("view", { xmlns: NS_A, ...attrs }, xml("activity", {}, ...children)));

  test("each gets the right error and the index keeps answering", async () => {
    const badType = await ask(
      "joe",
      xml("query", { xmlns: NS_A }, xml("activity", {}, prop("float", "x", "1.5"))),
    );
    assert.equal(errorCondition(badType), "bad-request");
    const badInt = await ask(
      "joe",
      xml("query", { xmlns: NS_A }, xml("activity", {}, prop("int", "x", "ten"))),
    );
    assert.equal(errorCondition(badInt), "bad-request");
    assert.equal(errorCondition(await view({ size: "5" })), "bad-request", "no view id");
    assert.equal(errorCondition(await view({ id: "9", size: "51" })), "policy-violation");
    const badRsm = await ask(
      "joe",
      xml("query", { xmlns: NS_A }, xml("activity"), rsm({ max: "-1" })),
    );
    assert.equal(errorCondition(badRsm), "bad-request");
    const reply = await ask(
      "joe",
      xml("query", { xmlns: NS_A }, xml("activity", { id: "paint002" })),
    );
    assert.equal(reply.attrs.type, "result");
  });
});

/** One line per notice: element, namespace, attributes that matter, and what it says. */
function summary(message: Element): string {
  const payload = message.children.find(
    (c): c is Element => typeof c !== "string" && c.name !== "amp",
  )!;
  const attrs = ["jid", "activity", "room", "view", "id"]
    .filter((name) => payload.attrs[name] !== undefined)
    .map((name) => `${name}=${String(payload.attrs[name])}`);
  const inner = payload.children
    .filter((c): c is Element => typeof c !== "string")
    .filter((c) => ["joined", "left", "closed"].includes(c.name))
    .map((c) => (c.attrs.jid ? `${c.name}=${String(c.attrs.jid)}` : c.name));
  return [payload.name, String(payload.attrs.xmlns), ...attrs, ...inner].join(" ");
}
