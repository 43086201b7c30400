import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Element } from "@xmpp/xml";
import pg from "pg";
import { TestClient, errorCondition, xml } from "../harness/client.js";
import { eventually } from "../harness/eventually.js";
import { Daemon } from "../harness/daemon.js";
import { startStack, testServerKind, type Stack } from "../harness/stack.js";

const NS_ACTIVITY = "http://laptop.org/xmpp/activity";
const NS_BUDDY = "http://laptop.org/xmpp/buddy";
const NS_ACTIVITY_PROPS = "http://laptop.org/xmpp/activity-properties";
const NS_BUDDY_PROPS = "http://laptop.org/xmpp/buddy-properties";
const NS_CURRENT_ACTIVITY = "http://laptop.org/xmpp/current-activity";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_CAPS = "http://jabber.org/protocol/caps";
const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";

const names = ["laptop", "laptop2", "laptop3", "querier", "owner", "guest", "prober"];
const account = (name: string) => ({ username: name, password: `pw-${name}` });
const olpcConfig = { olpc: { max_view_size: 5 } };
let stack: Stack;
let daemon: Daemon;
let db: pg.Pool;
const clients = new Map<string, TestClient>();
const client = (name: string) => clients.get(name)!;

async function startDaemon(): Promise<Daemon> {
  const started = await Daemon.start(stack, { name: "olpc-data", extra: olpcConfig });
  await started.waitOnline();
  return started;
}

before(async () => {
  stack = await startStack({ accounts: names.map(account) });
  db = new pg.Pool({ connectionString: stack.db.url });
  for (const name of names) clients.set(name, await TestClient.connect(stack, account(name)));
  daemon = await startDaemon();
});

after(async () => {
  for (const c of clients.values()) await c.stop();
  await daemon?.stop();
  await db?.end();
  await stack?.stop();
});

/** Polls `read` until `check` holds; fails with the last value after the deadline. */
const ask = (from: string, payload: Element) =>
  client(from).request(xml("iq", { type: "get", to: stack.componentJid }, payload));
const send = (from: string, stanza: Element) => client(from).xmpp.send(stanza);
const prop = (type: string, name: string, value: string) => xml("property", { type, name }, value);
const fromComponent = (type?: string) => (s: Element) =>
  s.name === "presence" && s.attrs.from === stack.componentJid && s.attrs.type === type;

/** The `<buddy/>` a buddy query returns for `jid`, if any. */
async function findBuddy(from: string, jid: string): Promise<Element | undefined> {
  const reply = await ask(from, xml("query", { xmlns: NS_BUDDY }, xml("buddy", { jid })));
  assert.equal(reply.attrs.type, "result", reply.toString());
  return reply.getChild("query", NS_BUDDY)?.getChild("buddy");
}

/** The `<activity/>` a query by id returns, if any. */
async function findActivity(from: string, id: string): Promise<Element | undefined> {
  const reply = await ask(from, xml("query", { xmlns: NS_ACTIVITY }, xml("activity", { id })));
  assert.equal(reply.attrs.type, "result", reply.toString());
  return reply.getChild("query", NS_ACTIVITY)?.getChild("activity");
}

function propertiesOf(item: Element | undefined, ns: string): Record<string, string> {
  const entries = item?.getChild("properties", ns)?.getChildren("property") ?? [];
  return Object.fromEntries(entries.map((p) => [String(p.attrs.name), p.getText()]));
}
const participantsOf = (activity: Element | undefined) =>
  (activity?.getChildren("buddy") ?? []).map((b) => String(b.attrs.jid)).sort();

/** What Gabble's Gadget.Publish(true) does: subscribe, then accept the index's subscription. */
async function subscribe(name: string): Promise<void> {
  const to = stack.componentJid;
  await send(name, xml("presence", { to }));
  await send(name, xml("presence", { to, type: "subscribe" }));
  await client(name).waitFor(fromComponent("subscribe"));
  await send(name, xml("presence", { to, type: "subscribed" }));
}

async function publish(name: string, node: string, payload: Element): Promise<void> {
  const reply = await client(name).request(
    xml(
      "iq",
      { type: "set" },
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", {}, payload))),
    ),
  );
  assert.equal(reply.attrs.type, "result", reply.toString());
}

const buddyProperties = (...props: Element[]) =>
  xml("properties", { xmlns: NS_BUDDY_PROPS }, ...props);

/**
 * Open on ejabberd 23.01 (issue 13): it fetches Concierge's caps (and gets the +notify
 * features) once the laptop is subscribed, yet sends the laptop's PEP events only to the
 * laptop itself, so nothing learned through PEP reaches the index there. Run, reported as todo.
 */
const pepOnEjabberd = {
  todo:
    testServerKind() === "ejabberd" &&
    "ejabberd 23.01 does not forward the laptop's PEP events to the component (issue 13)",
};

describe("data learned through PEP on the real server", () => {
  test(
    "a subscribed laptop's PEP items reach buddy queries and result sets",
    pepOnEjabberd,
    async () => {
      await subscribe("laptop");
      await publish(
        "laptop",
        NS_BUDDY_PROPS,
        buddyProperties(prop("str", "color", "#005FE4,#00A0FF")),
      );
      // mod_pep learns our +notify features from our caps (the presence that counts answers the
      // probe Prosody sends once the laptop approves us), asks disco#info, then forwards.
      const buddy = await eventually(
        () => findBuddy("querier", "laptop@localhost"),
        (b) => propertiesOf(b, NS_BUDDY_PROPS).color !== undefined,
        "laptop's properties in a buddy query",
      );
      assert.deepEqual(propertiesOf(buddy, NS_BUDDY_PROPS), { color: "#005FE4,#00A0FF" });

      // The query opened a result set: a current-activity published next reaches the querier.
      const room = `act1@${stack.prosody.mucDomain}`;
      await publish(
        "laptop",
        NS_CURRENT_ACTIVITY,
        xml("activity", { xmlns: NS_CURRENT_ACTIVITY, type: "act1", room }),
      );
      const change = await client("querier").waitFor(
        (s) => s.getChild("change", NS_BUDDY)?.attrs.jid === "laptop@localhost",
        10_000,
      );
      assert.equal(change.attrs.from, stack.componentJid);
      const current = change
        .getChild("change", NS_BUDDY)!
        .getChild("activity", NS_CURRENT_ACTIVITY);
      assert.equal(current?.attrs.type, "act1");
      assert.equal(current?.attrs.room, room);
    },
  );

  test("unsubscribing removes the buddy from results", async () => {
    await send("laptop", xml("presence", { to: stack.componentJid, type: "unsubscribe" }));
    await eventually(
      () => findBuddy("querier", "laptop@localhost"),
      (b) => b === undefined,
      "laptop still listed",
    );
  });
});

describe("an invitation into an activity's room", () => {
  const roomOf = (local: string) => `${local}@${stack.prosody.mucDomain}`;
  const inRoom = (room: string, nick: string, type?: string) => (s: Element) =>
    s.name === "presence" && s.attrs.from === `${room}/${nick}` && s.attrs.type === type;
  const join = async (name: string, room: string) => {
    await send(name, xml("presence", { to: `${room}/${name}` }, xml("x", { xmlns: NS_MUC })));
    return client(name).waitFor(inRoom(room, name));
  };
  const leave = (name: string, room: string) =>
    send(name, xml("presence", { to: `${room}/${name}`, type: "unavailable" }));

  /** Creates the room (owner stays in it) and submits `whois`; "moderators" is Prosody's default. */
  async function createRoom(room: string, whois: "anyone" | "moderators") {
    await join("owner", room);
    const field = (name: string, value: string) =>
      xml("field", { var: name }, xml("value", {}, value));
    const form = xml(
      "x",
      { xmlns: "jabber:x:data", type: "submit" },
      field("FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig"),
      field("muc#roomconfig_whois", whois),
    );
    const reply = await client("owner").request(
      xml("iq", { type: "set", to: room }, xml("query", { xmlns: NS_MUC_OWNER }, form)),
    );
    assert.equal(reply.attrs.type, "result", reply.toString());
  }

  /** Gabble's sequence when an activity turns public: a pseudo-invitation, then a MUC invite. */
  async function share(room: string, id: string) {
    const properties = xml(
      "properties",
      { xmlns: NS_ACTIVITY_PROPS, room, activity: id },
      prop("str", "type", "org.laptop.Chat"),
      prop("bool", "private", "0"),
    );
    await send("owner", xml("message", { to: stack.componentJid }, properties));
    const invite = xml("invite", { to: stack.componentJid }, xml("reason", {}, "Share activity"));
    await send("owner", xml("message", { to: room }, xml("x", { xmlns: NS_MUC_USER }, invite)));
    return client("owner").waitFor(inRoom(room, "inspector"), 10_000);
  }

  test("the component joins as inspector and tracks the room's members", async () => {
    const room = roomOf("act9");
    await createRoom(room, "anyone");
    const inspector = await share(room, "act9");
    const item = inspector.getChild("x", NS_MUC_USER)?.getChild("item");
    assert.equal(item?.attrs.jid, stack.componentJid);

    await join("guest", room);
    const activity = await eventually(
      () => findActivity("querier", "act9"),
      (a) => participantsOf(a).length === 2,
      "act9's participants",
    );
    assert.equal(activity?.attrs.room, room);
    assert.deepEqual(participantsOf(activity), ["guest@localhost", "owner@localhost"]);
    assert.deepEqual(propertiesOf(activity, NS_ACTIVITY_PROPS), {
      private: "0",
      type: "org.laptop.Chat",
    });
  });

  test("when everyone leaves, the activity closes and the inspector leaves", async () => {
    const room = roomOf("act9");
    for (const name of ["owner", "guest"]) await leave(name, room);
    await eventually(
      () => findActivity("querier", "act9"),
      (a) => a === undefined,
      "act9 still open",
    );
    await eventually(
      async () => (await db.query("SELECT room FROM olpc_rooms")).rowCount,
      (count) => count === 0,
      "rooms the index would rejoin",
    );
    // Whoever enters now gets the occupant list (before their own presence): no inspector.
    const self = await join("prober", room);
    const earlier = client("prober").received.slice(0, client("prober").received.indexOf(self));
    assert.equal(earlier.find(inRoom(room, "inspector")), undefined);
    await leave("prober", room);
  });

  test("a room that hides real JIDs keeps the members the laptops announced", async () => {
    const room = roomOf("anon1");
    await createRoom(room, "moderators");
    await share(room, "anon1");
    await join("guest", room);
    // Non-moderators (the guest, the inspector) see occupants without their JIDs.
    const seen = client("guest").received.find(inRoom(room, "inspector"));
    assert.ok(seen, "the guest sees the inspector");
    assert.equal(seen?.getChild("x", NS_MUC_USER)?.getChild("item")?.attrs.jid, undefined);
    await client("owner").waitFor(inRoom(room, "guest"));
    // A change from the owner queues behind whatever the occupants' presences did to the index.
    const tags = xml(
      "properties",
      { xmlns: NS_ACTIVITY_PROPS, room, activity: "anon1" },
      prop("bool", "private", "0"),
      prop("str", "tags", "quiet"),
    );
    await send("owner", xml("message", { to: stack.componentJid }, tags));
    const activity = await eventually(
      () => findActivity("querier", "anon1"),
      (a) => propertiesOf(a, NS_ACTIVITY_PROPS).tags === "quiet",
      "anon1's tags",
    );
    assert.deepEqual(participantsOf(activity), ["owner@localhost"]);
    // Occupants without JIDs did not empty the activity, so the inspector is still there.
    const self = await join("prober", room);
    const earlier = client("prober").received.slice(0, client("prober").received.indexOf(self));
    assert.ok(earlier.find(inRoom(room, "inspector")), "the inspector left the room");
    for (const name of ["owner", "guest", "prober"]) await leave(name, room);
  });
});

describe("a daemon restart", () => {
  const persistRoom = () => `persist@${stack.prosody.mucDomain}`;

  test(
    "buddies and activities survive; subscribed buddies are probed back online",
    pepOnEjabberd,
    async () => {
      await subscribe("laptop2");
      await publish(
        "laptop2",
        NS_BUDDY_PROPS,
        buddyProperties(prop("str", "color", "#112233,#445566")),
      );
      await eventually(
        () => findBuddy("querier", "laptop2@localhost"),
        (b) => propertiesOf(b, NS_BUDDY_PROPS).color !== undefined,
        "laptop2's properties",
      );
      // laptop3 only sends directed presence and sets its properties straight at the index.
      await send("laptop3", xml("presence", { to: stack.componentJid }));
      const set = await client("laptop3").request(
        xml(
          "iq",
          { type: "set", to: stack.componentJid },
          buddyProperties(prop("str", "color", "#778899,#AABBCC")),
        ),
      );
      assert.equal(set.attrs.type, "result", set.toString());
      assert.ok(await findBuddy("querier", "laptop3@localhost"));
      await send(
        "laptop2",
        xml(
          "message",
          { to: stack.componentJid },
          xml(
            "properties",
            { xmlns: NS_ACTIVITY_PROPS, room: persistRoom(), activity: "persist1" },
            prop("str", "type", "org.laptop.Write"),
            prop("bool", "private", "0"),
          ),
        ),
      );
      await eventually(
        () => findActivity("querier", "persist1"),
        (a) => a !== undefined,
        "persist1",
      );

      await daemon.stop();
      // The farewell: subscribers are told the component went away.
      await client("laptop2").waitFor(fromComponent("unavailable"));
      for (const name of ["laptop2", "laptop3"]) client(name).received.length = 0;
      // Hold the buddies table until the component is online, so the link comes up before the
      // index is read (as it may on any start): nothing may act on the index before it is loaded.
      const lock = await db.connect();
      await lock.query("BEGIN; LOCK TABLE olpc_buddies IN ACCESS EXCLUSIVE MODE");
      try {
        daemon = await startDaemon();
      } finally {
        await lock.query("COMMIT");
        lock.release();
      }

      // Known buddies are greeted with available presence carrying caps (for mod_pep).
      for (const name of ["laptop2", "laptop3"]) {
        const hello = await client(name).waitFor(fromComponent(undefined), 10_000);
        assert.ok(hello.getChild("c", NS_CAPS), hello.toString());
      }
      const buddy = await eventually(
        () => findBuddy("querier", "laptop2@localhost"),
        (b) => b !== undefined,
        "laptop2 after the restart",
      );
      assert.deepEqual(propertiesOf(buddy, NS_BUDDY_PROPS), { color: "#112233,#445566" });
      const activity = await findActivity("querier", "persist1");
      assert.equal(activity?.attrs.room, persistRoom());
      assert.deepEqual(participantsOf(activity), ["laptop2@localhost"]);
      assert.deepEqual(propertiesOf(activity, NS_ACTIVITY_PROPS), {
        private: "0",
        type: "org.laptop.Write",
      });

      // laptop3 is not subscribed, so nobody probed it: offline to the index until it speaks again.
      assert.equal(await findBuddy("querier", "laptop3@localhost"), undefined);
      await send("laptop3", xml("presence", { to: stack.componentJid }));
      const back = await eventually(
        () => findBuddy("querier", "laptop3@localhost"),
        (b) => b !== undefined,
        "laptop3 after its presence",
      );
      assert.deepEqual(propertiesOf(back, NS_BUDDY_PROPS), { color: "#778899,#AABBCC" });
    },
  );
});

describe("bad input through the real server", () => {
  const setProperties = (...props: Element[]) =>
    client("laptop3").request(
      xml("iq", { type: "set", to: stack.componentJid }, buddyProperties(...props)),
    );

  test("unknown property type and bad int value are bad-request", async () => {
    const unknown = await setProperties(prop("float", "x", "1.5"));
    assert.equal(errorCondition(unknown), "bad-request", unknown.toString());
    const badInt = await setProperties(prop("int", "n", "twelve"));
    assert.equal(errorCondition(badInt), "bad-request", badInt.toString());
    const criteria = await ask(
      "querier",
      xml(
        "query",
        { xmlns: NS_ACTIVITY },
        xml("activity", {}, xml("property", { type: "int", name: "n" }, "1e3")),
      ),
    );
    assert.equal(errorCondition(criteria), "bad-request", criteria.toString());
  });

  test(
    "a view over max_view_size is policy-violation; the daemon keeps answering",
    pepOnEjabberd,
    async () => {
      const view = await ask(
        "querier",
        xml("view", { xmlns: NS_ACTIVITY, id: "1", size: "6" }, xml("activity")),
      );
      assert.equal(errorCondition(view), "policy-violation", view.toString());
      const fits = await ask(
        "querier",
        xml("view", { xmlns: NS_ACTIVITY, id: "1", size: "5" }, xml("activity")),
      );
      assert.equal(fits.attrs.type, "result", fits.toString());
      const buddy = await findBuddy("querier", "laptop3@localhost");
      assert.deepEqual(propertiesOf(buddy, NS_BUDDY_PROPS), { color: "#778899,#AABBCC" });
    },
  );
});
