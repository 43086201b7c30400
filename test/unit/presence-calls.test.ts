import assert from "node:assert/strict";
import { describe, it } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { pino } from "pino";
import { CallFlags, NS_IN_CALL } from "../../src/presence/calls.js";
import { PresenceHub } from "../../src/presence/hub.js";
import { NS_STANZAS } from "../../src/xmpp/namespaces.js";
import type { BareJid, FullJid } from "../../src/xmpp/jid.js";
import { Router } from "../../src/xmpp/router.js";
import { FakeWire, MemoryContacts } from "../harness/presence-fakes.js";

const COMPONENT = "presence.example.org";
const ALICE = "alice@example.org" as BareJid;
const BOB = "bob@example.org" as BareJid;
const CAROL = "carol@example.org" as BareJid;
const MALLORY = "mallory@example.org" as BareJid;
const ALICE_PHONE = `${ALICE}/phone` as FullJid;
const ALICE_LAPTOP = `${ALICE}/laptop` as FullJid;
const BOB_PHONE = `${BOB}/phone` as FullJid;
const CAROL_PHONE = `${CAROL}/phone` as FullJid;
const MALLORY_PHONE = `${MALLORY}/phone` as FullJid;
const ROOM = "room@muc.example.org" as BareJid;
const OTHER_ROOM = "other@muc.example.org";
const TIMEOUT = 50;

interface LogLine {
  level: number;
  msg: string;
}

function setup() {
  const wire = new FakeWire();
  const replies: Element[] = [];
  const lines: LogLine[] = [];
  const log = pino(
    { level: "info" },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  const router = new Router((element) => void replies.push(element), log);
  const contacts = new MemoryContacts().store;
  const hub = new PresenceHub({ wire, componentJid: COMPONENT, contacts, log });
  const clock = { now: 0 };
  const calls = new CallFlags({
    hub,
    componentJid: COMPONENT,
    timeoutMs: TIMEOUT,
    log,
    now: () => clock.now,
  });
  hub.install(router);
  calls.install(router);
  const recorded: string[] = [];
  calls.addRecorder((room, active) => {
    recorded.push(`${room} ${active}`);
    return Promise.resolve();
  });

  async function receive(...stanzas: Element[]): Promise<void> {
    for (const stanza of stanzas) router.dispatch(stanza);
    await flush();
  }

  async function flush(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await hub.idle();
  }

  return { wire, replies, lines, router, hub, calls, clock, recorded, receive, flush };
}

function beat(from: string, room: string | undefined, active?: "true" | "false"): Element {
  const attrs: Record<string, string> = { xmlns: NS_IN_CALL };
  if (room !== undefined) attrs.room = room;
  if (active !== undefined) attrs.active = active;
  return xml("message", { from, to: COMPONENT, id: "b1" }, xml("in-call", attrs));
}

function ask(from: string, room: string | undefined): Element {
  const attrs: Record<string, string> = { xmlns: NS_IN_CALL };
  if (room !== undefined) attrs.room = room;
  return xml("iq", { type: "get", id: "q1", from, to: COMPONENT }, xml("in-call", attrs));
}

/** A headline flag message in short: "to: room active". */
function describeFlag(element: Element): string {
  assert.equal(element.name, "message", element.toString());
  assert.equal(element.attrs.type, "headline");
  assert.equal(element.attrs.from, COMPONENT);
  const flag = element.getChild("in-call", NS_IN_CALL);
  assert.ok(flag, `no in-call flag in ${element.toString()}`);
  return `${String(element.attrs.to)}: ${String(flag.attrs.room)} ${String(flag.attrs.active)}`;
}

const flags = (elements: Element[]) => elements.map(describeFlag).sort();

function errorCondition(reply: Element): string {
  assert.equal(reply.attrs.type, "error", reply.toString());
  const condition = reply
    .getChild("error")
    ?.children.find((child): child is Element => typeof child !== "string");
  assert.ok(condition, reply.toString());
  assert.equal(condition.attrs.xmlns, NS_STANZAS);
  return condition.name;
}

describe("CallFlags: a member coming online", () => {
  it("gets the flags of the calls in its rooms with its first presence, and only then", async () => {
    const { hub, wire, receive, calls } = setup();
    hub.setGroup(ROOM, [ALICE, BOB, CAROL]);
    hub.setGroup(OTHER_ROOM, [CAROL, MALLORY]); // no call there
    await receive(beat(ALICE_PHONE, ROOM), beat(BOB_PHONE, ROOM));
    wire.take();

    await receive(xml("presence", { from: CAROL_PHONE, to: COMPONENT }));
    const sent = wire.take().filter((s) => s.name === "message");
    assert.deepEqual(flags(sent), [`${CAROL_PHONE}: ${ROOM} true`]);

    await receive(xml("presence", { from: CAROL_PHONE, to: COMPONENT }, xml("show", {}, "away")));
    assert.deepEqual(
      wire.take().filter((s) => s.name === "message"),
      [],
      "a later presence is no new login",
    );
    calls.stop();
  });

  it("a member of no room with a call gets no flag", async () => {
    const { hub, wire, receive, calls } = setup();
    hub.setGroup(ROOM, [ALICE, BOB]);
    await receive(xml("presence", { from: CAROL_PHONE, to: COMPONENT }));
    assert.deepEqual(
      wire.take().filter((s) => s.name === "message"),
      [],
    );
    calls.stop();
  });
});

describe("CallFlags", () => {
  it("registers its disco feature", () => {
    const { router, calls } = setup();
    assert.ok(router.features.includes(NS_IN_CALL));
    calls.stop();
  });

  describe("heartbeats", () => {
    it("two members' beats turn the flag on, and every member device hears of it", async () => {
      const { hub, wire, recorded, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB, CAROL]);
      // Every member gets one headline at the bare JID, which the server hands to each online
      // resource, known to the hub (alice's two, bob's one) or not (carol's).
      hub.seenIn(ROOM, ALICE_PHONE, { show: "online", idle: false });
      hub.seenIn(ROOM, ALICE_LAPTOP, { show: "online", idle: false });
      hub.seenIn(ROOM, BOB_PHONE, { show: "online", idle: false });
      await hub.idle();
      wire.take();

      await receive(beat(ALICE_PHONE, ROOM));
      assert.deepEqual(wire.take(), [], "one user is no call");
      assert.deepEqual(recorded, []);

      await receive(beat(BOB_PHONE, ROOM));
      assert.deepEqual(flags(wire.take()), [
        `${ALICE}: ${ROOM} true`,
        `${BOB}: ${ROOM} true`,
        `${CAROL}: ${ROOM} true`,
      ]);
      assert.deepEqual(recorded, [`${ROOM} true`]);

      // More beats while the call goes on change nothing.
      await receive(beat(ALICE_PHONE, ROOM), beat(BOB_PHONE, ROOM, "true"));
      assert.deepEqual(wire.sent, []);
      assert.deepEqual(recorded, [`${ROOM} true`]);
      calls.stop();
    });

    it("beats are never answered", async () => {
      const { hub, replies, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(beat(ALICE_PHONE, ROOM), beat(BOB_PHONE, ROOM), beat(BOB_PHONE, ROOM, "false"));
      assert.deepEqual(replies, []);
      calls.stop();
    });

    it("active=false hangs up: the flag goes off", async () => {
      const { hub, wire, recorded, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(beat(ALICE_PHONE, ROOM), beat(BOB_PHONE, ROOM));
      wire.take();
      await receive(beat(BOB_PHONE, ROOM, "false"));
      assert.deepEqual(flags(wire.sent), [`${ALICE}: ${ROOM} false`, `${BOB}: ${ROOM} false`]);
      assert.deepEqual(recorded, [`${ROOM} true`, `${ROOM} false`]);
      calls.stop();
    });

    it("two devices of one user make no call", async () => {
      const { hub, wire, recorded, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(beat(ALICE_PHONE, ROOM), beat(ALICE_LAPTOP, ROOM));
      assert.deepEqual(wire.sent, []);
      assert.deepEqual(recorded, []);
      calls.stop();
    });

    it("rooms are independent", async () => {
      const { hub, wire, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      hub.setGroup(OTHER_ROOM, [ALICE, CAROL]);
      await receive(beat(ALICE_PHONE, ROOM), beat(CAROL_PHONE, OTHER_ROOM));
      assert.deepEqual(wire.sent, []);
      await receive(beat(ALICE_PHONE, OTHER_ROOM));
      assert.deepEqual(flags(wire.sent), [
        `${ALICE}: ${OTHER_ROOM} true`,
        `${CAROL}: ${OTHER_ROOM} true`,
      ]);
      calls.stop();
    });
  });

  describe("addresses", () => {
    // O'Brien's address as servers keep it: XEP-0106-escaped, since RFC 7622 forbids ' there.
    const OBRIEN = "o\\27brien@example.org" as BareJid;
    const OBRIEN_DESK = `${OBRIEN}/desk` as FullJid;

    it("a member whose local part holds an XEP-0106 escape may beat and ask", async () => {
      const { hub, wire, replies, recorded, receive, calls } = setup();
      hub.setGroup(ROOM, [OBRIEN, BOB]);
      // Room names are JIDs: any spelling of the room's name is the room.
      const shouted = ROOM.toUpperCase();
      await receive(beat(OBRIEN_DESK, shouted), beat(BOB_PHONE, ROOM), ask(OBRIEN_DESK, ROOM));
      assert.equal(replies.length, 1, replies.map(String).join("\n"));
      assert.equal(replies[0]?.attrs.type, "result");
      assert.equal(replies[0]?.getChild("in-call", NS_IN_CALL)?.attrs.active, "true");
      assert.deepEqual(flags(wire.sent), [`${BOB}: ${ROOM} true`, `${OBRIEN}: ${ROOM} true`]);
      assert.deepEqual(recorded, [`${ROOM} true`]);
      calls.stop();
    });

    it("that member's device going away in the hub ends the call", async () => {
      const { hub, wire, receive, calls } = setup();
      hub.setGroup(ROOM, [OBRIEN, BOB]);
      await receive(xml("presence", { from: OBRIEN_DESK, to: COMPONENT }));
      await receive(beat(OBRIEN_DESK, ROOM), beat(BOB_PHONE, ROOM));
      wire.take();
      await receive(xml("presence", { from: OBRIEN_DESK, to: COMPONENT, type: "unavailable" }));
      assert.deepEqual(flags(wire.sent), [`${BOB}: ${ROOM} false`, `${OBRIEN}: ${ROOM} false`]);
      calls.stop();
    });

    it("a beat without a from address is refused without a reply", async () => {
      const { hub, wire, replies, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      const stanza = beat(ALICE_PHONE, ROOM);
      delete stanza.attrs.from;
      await receive(stanza, beat(BOB_PHONE, ROOM));
      assert.deepEqual(replies, []);
      assert.deepEqual(wire.sent, []);
      calls.stop();
    });
  });

  describe("the iq", () => {
    it("answers with the room's flag", async () => {
      const { hub, replies, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(ask(ALICE_PHONE, ROOM));
      await receive(beat(ALICE_PHONE, ROOM), beat(BOB_PHONE, ROOM));
      await receive(ask(ALICE_PHONE, ROOM));
      assert.equal(replies.length, 2);
      for (const [i, active] of ["false", "true"].entries()) {
        const reply = replies[i]!;
        assert.equal(reply.attrs.type, "result");
        assert.equal(reply.attrs.to, ALICE_PHONE);
        assert.equal(reply.attrs.id, "q1");
        assert.deepEqual(reply.getChild("in-call", NS_IN_CALL)?.attrs, {
          xmlns: NS_IN_CALL,
          room: ROOM,
          active,
        });
      }
      calls.stop();
    });
  });

  describe("errors", () => {
    const cases: Array<[from: string, room: string | undefined, condition: string]> = [
      [ALICE_PHONE, undefined, "bad-request"],
      [ALICE_PHONE, "", "bad-request"],
      [ALICE_PHONE, "unknown@muc.example.org", "item-not-found"],
      [MALLORY_PHONE, ROOM, "forbidden"],
    ];

    for (const kind of ["message", "iq"] as const) {
      for (const [from, room, condition] of cases) {
        it(`${kind} from ${from} with room ${JSON.stringify(room)}: ${condition}`, async () => {
          const { hub, wire, replies, recorded, receive, calls } = setup();
          hub.setGroup(ROOM, [ALICE, BOB]);
          await receive(kind === "message" ? beat(from, room) : ask(from, room));
          assert.equal(replies.length, 1);
          const reply = replies[0]!;
          assert.equal(reply.name, kind);
          assert.equal(reply.attrs.to, from);
          assert.equal(reply.attrs.from, COMPONENT);
          assert.equal(errorCondition(reply), condition);
          assert.deepEqual(wire.sent, []);
          assert.deepEqual(recorded, []);
          calls.stop();
        });
      }
    }

    it("errors are stanzas, not log lines", async () => {
      const { hub, replies, lines, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(beat(MALLORY_PHONE, ROOM), ask(MALLORY_PHONE, undefined));
      assert.equal(replies.length, 2);
      assert.deepEqual(lines, []);
      calls.stop();
    });
    it("a refused beat does not count towards a call", async () => {
      const { hub, wire, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(beat(ALICE_PHONE, ROOM), beat(MALLORY_PHONE, ROOM));
      assert.deepEqual(wire.sent, []);
      calls.stop();
    });
  });

  describe("recorders", () => {
    it("every recorder is called with each change", async () => {
      const { hub, calls, recorded, receive } = setup();
      const second: Array<[string, boolean]> = [];
      calls.addRecorder((room, active) => {
        second.push([room, active]);
        return Promise.resolve();
      });
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(
        beat(ALICE_PHONE, ROOM),
        beat(BOB_PHONE, ROOM),
        beat(ALICE_PHONE, ROOM, "false"),
      );
      assert.deepEqual(recorded, [`${ROOM} true`, `${ROOM} false`]);
      assert.deepEqual(second, [
        [ROOM, true],
        [ROOM, false],
      ]);
      calls.stop();
    });

    it("a failing recorder is logged and does not stop the broadcast or the others", async () => {
      const { hub, calls, wire, recorded, lines, receive } = setup();
      const order: string[] = [];
      // Registered after the setup's recorder; another one follows it.
      calls.addRecorder(() => {
        order.push("failing");
        return Promise.reject(new Error("database down"));
      });
      calls.addRecorder(() => {
        order.push("last");
        return Promise.resolve();
      });
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(beat(ALICE_PHONE, ROOM), beat(BOB_PHONE, ROOM));
      assert.deepEqual(recorded, [`${ROOM} true`]);
      assert.deepEqual(order, ["failing", "last"]);
      assert.equal(wire.sent.length, 2);
      const errors = lines.filter((line) => line.level === 50);
      assert.deepEqual(
        errors.map((line) => line.msg),
        ["could not record the in-call flag"],
      );
      calls.stop();
    });
  });

  describe("devices and rooms going away", () => {
    it("a device gone from the hub leaves every call it was in", async () => {
      const { hub, wire, recorded, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      hub.setGroup(OTHER_ROOM, [ALICE, CAROL]);
      await receive(
        beat(ALICE_PHONE, ROOM),
        beat(BOB_PHONE, ROOM),
        beat(ALICE_PHONE, OTHER_ROOM),
        beat(CAROL_PHONE, OTHER_ROOM),
      );
      wire.take();
      recorded.length = 0;

      hub.dropDevice(ALICE_PHONE); // e.g. an error showed the phone is offline
      await hub.idle();
      assert.deepEqual(flags(wire.sent), [
        `${ALICE}: ${OTHER_ROOM} false`,
        `${ALICE}: ${ROOM} false`,
        `${BOB}: ${ROOM} false`,
        `${CAROL}: ${OTHER_ROOM} false`,
      ]);
      assert.deepEqual(recorded, [`${OTHER_ROOM} false`, `${ROOM} false`]);
      calls.stop();
    });

    it("unavailable presence from a device in a call turns the flag off", async () => {
      const { hub, wire, recorded, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(xml("presence", { from: BOB_PHONE, to: COMPONENT }));
      await receive(beat(ALICE_PHONE, ROOM), beat(BOB_PHONE, ROOM));
      wire.take();
      await receive(xml("presence", { from: BOB_PHONE, to: COMPONENT, type: "unavailable" }));
      assert.deepEqual(flags(wire.sent), [`${ALICE}: ${ROOM} false`, `${BOB}: ${ROOM} false`]);
      assert.deepEqual(recorded, [`${ROOM} true`, `${ROOM} false`]);
      calls.stop();
    });

    it("another device of the same user going away keeps the call", async () => {
      const { hub, wire, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(beat(ALICE_PHONE, ROOM), beat(BOB_PHONE, ROOM));
      wire.take();
      hub.dropDevice(ALICE_LAPTOP);
      await hub.idle();
      assert.deepEqual(wire.sent, []);
      calls.stop();
    });

    it("a forgotten room's flag goes off, to every member, and is recorded", async () => {
      const { hub, wire, recorded, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB, CAROL]);
      await receive(beat(ALICE_PHONE, ROOM), beat(BOB_PHONE, ROOM));
      wire.take();
      hub.forgetGroup(ROOM);
      await hub.idle();
      assert.deepEqual(flags(wire.sent), [
        `${ALICE}: ${ROOM} false`,
        `${BOB}: ${ROOM} false`,
        `${CAROL}: ${ROOM} false`,
      ]);
      assert.deepEqual(recorded, [`${ROOM} true`, `${ROOM} false`]);
      assert.equal(hub.members(ROOM) !== undefined, false, "the room is still forgotten");
      calls.stop();
    });

    it("a forgotten room without a call sends nothing", async () => {
      const { hub, wire, recorded, receive, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(beat(ALICE_PHONE, ROOM));
      hub.forgetGroup(ROOM);
      await hub.idle();
      assert.deepEqual(wire.sent, []);
      assert.deepEqual(recorded, []);
      calls.stop();
    });
  });

  describe("expiry", () => {
    it("the flag goes off when the beats are older than the timeout, on the timer", async () => {
      const { hub, wire, recorded, receive, clock, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      clock.now = 1_000;
      await receive(beat(ALICE_PHONE, ROOM));
      clock.now = 1_010;
      await receive(beat(BOB_PHONE, ROOM));
      wire.take();

      // The timer fires after about TIMEOUT real ms; the clock says the beats have expired.
      clock.now = 1_010 + TIMEOUT;
      await wire.something();
      await hub.idle();
      assert.deepEqual(flags(wire.sent), [`${ALICE}: ${ROOM} false`, `${BOB}: ${ROOM} false`]);
      assert.deepEqual(recorded, [`${ROOM} true`, `${ROOM} false`]);
      calls.stop();
    });

    it("nothing expires while the injected clock says the beats are fresh", async () => {
      const { hub, wire, receive, clock, calls } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      clock.now = 5;
      await receive(beat(ALICE_PHONE, ROOM), beat(BOB_PHONE, ROOM));
      wire.take();
      // Real time passes (the timer fires and re-arms), the clock does not move.
      await new Promise((resolve) => setTimeout(resolve, 3 * TIMEOUT));
      assert.deepEqual(wire.sent, []);
      // The flag is still on.
      clock.now = 5 + TIMEOUT - 1;
      await receive(beat(BOB_PHONE, ROOM));
      assert.deepEqual(wire.sent, []);
      // Only once the clock moves past both beats does the flag go off (alice's beat at 5).
      clock.now = 5 + TIMEOUT;
      await wire.something();
      await hub.idle();
      assert.deepEqual(flags(wire.sent), [`${ALICE}: ${ROOM} false`, `${BOB}: ${ROOM} false`]);
      calls.stop();
    });

    it("stop() cancels the timer", async () => {
      const { hub, wire, receive, clock, calls, recorded } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(beat(ALICE_PHONE, ROOM), beat(BOB_PHONE, ROOM));
      wire.take();
      calls.stop();
      clock.now = 10 * TIMEOUT;
      await new Promise((resolve) => setTimeout(resolve, 3 * TIMEOUT));
      assert.deepEqual(wire.sent, []);
      assert.deepEqual(recorded, [`${ROOM} true`]);
    });
  });
});
