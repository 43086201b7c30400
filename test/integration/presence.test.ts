import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Element } from "@xmpp/xml";
import pg from "pg";
import { TestClient, errorCondition, xml } from "../harness/client.js";
import { eventually } from "../harness/eventually.js";
import { Daemon } from "../harness/daemon.js";
import { createRoom, setAffiliation, letComponentReadLists } from "../harness/muc.js";
import { startStack, type Stack } from "../harness/stack.js";

const NS_PRESENCE = "urn:concierge:presence:0";
const NS_IN_CALL = "urn:concierge:in-call:0";
const NS_IDLE = "urn:xmpp:idle:1";
const NS_MUC = "http://jabber.org/protocol/muc";

const people = ["admin", "alice", "bob", "carol", "staff", "client", "bot"];
const account = (name: string) => ({ username: name, password: `pw-${name}` });
let stack: Stack;
let daemon: Daemon;
let db: pg.Pool;
const connections: TestClient[] = [];

async function connect(name: string, resource: string): Promise<TestClient> {
  const c = await TestClient.connect(stack, account(name), resource);
  connections.push(c);
  return c;
}

before(async () => {
  stack = await startStack({ accounts: people.map(account) });
  db = new pg.Pool({ connectionString: stack.db.url });
  const admin = await connect("admin", "setup");
  const room = `neerc@${stack.prosody.mucDomain}`;
  await createRoom(admin, room);
  await letComponentReadLists(admin, room, stack);
  for (const name of ["alice", "bob"])
    await setAffiliation(admin, room, `${name}@localhost`, "member");
  daemon = await Daemon.start(stack, {
    name: "presence",
    logLevel: "info",
    extra: {
      presence: { liveness_interval_ms: 400, liveness_timeout_ms: 800, in_call_timeout_ms: 1_500 },
      neerc: { muc_service: stack.prosody.mucDomain },
      roompool: {
        service: stack.prosody.service,
        jid: "bot@localhost",
        password: "pw-bot",
        muc_service: stack.prosody.mucDomain,
        min_available: 1,
        max_rooms: 4,
        maintenance_interval_ms: 200,
      },
    },
  });
  await daemon.waitForLog((line) => line.msg === "rooms resynchronised");
});

after(async () => {
  for (const c of connections) await c.stop();
  await daemon?.stop();
  await db?.end();
  await stack?.stop();
});

const mirror = (user: string) => `${user.replace("@", "\\40")}@${stack.componentJid}`;

/** The combined presences of `user` a device has received, in order, as show values. */
function seen(device: TestClient, user: string): string[] {
  return device.received
    .filter((s) => s.name === "presence" && s.attrs.from === mirror(user))
    .map((s) => String(s.getChild("x", NS_PRESENCE)?.attrs.show));
}

/** Waits until `device` has seen exactly `expected` for `user`, then a little longer for extras. */
async function expectSeen(device: TestClient, user: string, expected: string[]): Promise<void> {
  await eventually(
    () => seen(device, user),
    (shows) => shows.length >= expected.length,
    `${device.jid} seeing ${user}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.deepEqual(seen(device, user), expected);
}

function setPresence(device: TestClient, show: string | undefined, idle = false): Promise<void> {
  const children: Element[] = [];
  if (show) children.push(xml("show", {}, show));
  if (idle) children.push(xml("idle", { xmlns: NS_IDLE, since: new Date().toISOString() }));
  return device.xmpp.send(xml("presence", { to: stack.componentJid }, ...children));
}

describe("combined presence across a user's devices", () => {
  let bob: TestClient;
  const alice: TestClient[] = [];

  test("a device that sends presence first gets everyone it may see, its own user last", async () => {
    bob = await connect("bob", "desk");
    await setPresence(bob, undefined);
    const self = await bob.waitFor(
      (s) => s.name === "presence" && s.attrs.from === mirror("bob@localhost"),
    );
    const marker = self.getChild("x", NS_PRESENCE)!;
    assert.equal(marker.attrs.self, "true");
    assert.equal(marker.attrs.show, "online");
    assert.deepEqual(seen(bob, "alice@localhost"), [], "alice is offline: not in the dump");
  });

  test("three devices: observers see the combined value once per real change", async () => {
    for (const resource of ["phone", "laptop", "tablet"])
      alice.push(await connect("alice", resource));
    const [a1, a2, a3] = alice as [TestClient, TestClient, TestClient];
    const steps: Array<[TestClient, string | undefined, boolean]> = [
      [a1, undefined, false], // online
      [a2, undefined, false], // still online
      [a3, undefined, false], // still online
      [a1, "away", true], // idle on one device: others are active → online
      [a2, "dnd", false], // chosen by hand → dnd
      [a3, "xa", true], // idle: a2's choice stands → dnd
      [a2, "away", true], // every device idle → the chattiest idle state: away
      [a1, undefined, false], // back from idle to its earlier choice → online
      [a3, "chat", false], // a new choice → chat
    ];
    for (const [device, show, idle] of steps) {
      await setPresence(device, show, idle);
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    await a3.xmpp.send(xml("presence", { to: stack.componentJid, type: "unavailable" }));
    await expectSeen(bob, "alice@localhost", ["online", "dnd", "away", "online", "chat", "online"]);
  });

  test("a user's own devices get the combined value marked as their own", () => {
    const [a1] = alice as [TestClient];
    const own = a1.received.filter(
      (s) => s.name === "presence" && s.attrs.from === mirror("alice@localhost"),
    );
    assert.ok(own.length > 0);
    for (const p of own) assert.equal(p.getChild("x", NS_PRESENCE)?.attrs.self, "true");
    // The dump to a1 came first; a1 then saw every later change of alice's combined presence.
    assert.deepEqual(seen(a1, "bob@localhost"), ["online"]);
  });

  test("a device that vanishes without a goodbye stops counting within the timeout", async () => {
    const [a1] = alice as [TestClient];
    bob.received.length = 0;
    await setPresence(a1, "chat");
    await expectSeen(bob, "alice@localhost", ["chat"]);
    // Stop reading: the server still thinks the device is there, but it answers nothing.
    (a1.xmpp.socket as unknown as { pause(): void }).pause();
    const started = Date.now();
    await eventually(
      () => seen(bob, "alice@localhost"),
      (s) => s.length === 2,
      "alice after a1 froze",
    );
    assert.deepEqual(seen(bob, "alice@localhost"), ["chat", "away"]);
    assert.ok(Date.now() - started < 5_000, "dropped within interval + timeout");
    (a1.xmpp.socket as unknown as { resume(): void }).resume();
  });

  test("the last device going offline makes the user offline for observers", async () => {
    bob.received.length = 0;
    await alice[1]!.stop();
    await expectSeen(bob, "alice@localhost", ["offline"]);
    const last = bob.received.filter((s) => s.attrs.from === mirror("alice@localhost")).at(-1)!;
    assert.equal(last.attrs.type, "unavailable");
  });

  test("someone outside the room sees nothing of its members", async () => {
    const carol = await connect("carol", "x");
    await setPresence(carol, undefined);
    await carol.waitFor((s) => s.name === "presence" && s.attrs.from === mirror("carol@localhost"));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(seen(carol, "bob@localhost"), []);
  });
});

describe("the in-call flag of a pool room", () => {
  let room: string;
  let staff: TestClient;
  let client: TestClient;

  const inCallOf = async () =>
    (
      await db.query<{ in_call: boolean }>("SELECT in_call FROM roompool_rooms WHERE jid = $1", [
        room,
      ])
    ).rows[0]?.in_call;
  const beat = (device: TestClient, active?: boolean) =>
    device.xmpp.send(
      xml(
        "message",
        { to: stack.componentJid },
        xml("in-call", {
          xmlns: NS_IN_CALL,
          room,
          ...(active === false ? { active: "false" } : {}),
        }),
      ),
    );
  const flags = (device: TestClient) =>
    device.received
      .map((s) => s.getChild("in-call", NS_IN_CALL))
      .filter((x): x is Element => x !== undefined && x.attrs.room === room)
      .map((x) => x.attrs.active as string);

  async function join(device: TestClient, nick: string, password: string) {
    await device.xmpp.send(
      xml(
        "presence",
        { to: `${room}/${nick}` },
        xml("x", { xmlns: NS_MUC }, xml("password", {}, password)),
      ),
    );
    await device.waitFor((s) => s.name === "presence" && s.attrs.from === `${room}/${nick}`);
  }

  before(async () => {
    staff = await connect("staff", "web");
    client = await connect("client", "web");
    const claimed = await db.query<{ room_jid: string; room_password: string }>(
      "SELECT * FROM roompool_claim_staff('s1', 'staff')",
    );
    room = claimed.rows[0]!.room_jid;
    await join(staff, "staff", claimed.rows[0]!.room_password);
    const deadline = Date.now() + 8_000;
    while (
      (
        await db.query("SELECT 1 FROM roompool_rooms WHERE jid = $1 AND status = 'staff_waiting'", [
          room,
        ])
      ).rowCount === 0
    ) {
      if (Date.now() > deadline) throw new Error("staff never waited");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const second = await db.query<{ room_jid: string; room_password: string }>(
      "SELECT * FROM roompool_claim_client('c1', 'client')",
    );
    await join(client, "client", second.rows[0]!.room_password);
  });

  test("one participant beating is not a call", async () => {
    await beat(staff);
    const reply = await staff.request(
      xml(
        "iq",
        { type: "get", to: stack.componentJid },
        xml("in-call", { xmlns: NS_IN_CALL, room }),
      ),
    );
    assert.equal(reply.attrs.type, "result", reply.toString());
    assert.equal(reply.getChild("in-call", NS_IN_CALL)?.attrs.active, "false");
    assert.equal(await inCallOf(), false);
  });

  test("two participants beating turn the flag on: broadcast and recorded", async () => {
    await beat(client);
    await eventually(
      () => flags(staff),
      (f) => f.includes("true"),
      "staff told of the call",
    );
    await eventually(
      () => flags(client),
      (f) => f.includes("true"),
      "client told of the call",
    );
    await eventually(inCallOf, (inCall) => inCall === true, "in_call recorded");
  });

  test("when one stops beating the flag goes off after the timeout", async () => {
    const keepBeating = setInterval(() => void beat(staff), 300);
    try {
      await eventually(
        () => flags(staff),
        (f) => f.at(-1) === "false",
        "flag off",
      );
    } finally {
      clearInterval(keepBeating);
    }
    assert.deepEqual(flags(staff), ["true", "false"]);
    // The broadcast and the database write are concurrent: the row follows the broadcast.
    await eventually(inCallOf, (inCall) => inCall === false, "in_call cleared");
  });

  test("strangers and malformed heartbeats get errors", async () => {
    const carol = await connect("carol", "beats");
    const ask = (payload: Element) =>
      carol.request(xml("iq", { type: "get", to: stack.componentJid }, payload));
    assert.equal(
      errorCondition(await ask(xml("in-call", { xmlns: NS_IN_CALL, room }))),
      "forbidden",
    );
    assert.equal(errorCondition(await ask(xml("in-call", { xmlns: NS_IN_CALL }))), "bad-request");
    assert.equal(
      errorCondition(await ask(xml("in-call", { xmlns: NS_IN_CALL, room: "nowhere@x" }))),
      "item-not-found",
    );
  });
});
