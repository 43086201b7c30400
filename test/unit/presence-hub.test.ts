import assert from "node:assert/strict";
import { describe, it } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { pino } from "pino";
import type { PresenceChange } from "../../src/presence/book.js";
import { PresenceHub } from "../../src/presence/hub.js";
import { NS_PRESENCE, escapeLocal, mirrorJid } from "../../src/presence/stanzas.js";
import { NS_IDLE } from "../../src/xmpp/namespaces.js";
import { NS_STANZAS } from "../../src/xmpp/namespaces.js";
import type { BareJid, FullJid } from "../../src/xmpp/jid.js";
import { Router } from "../../src/xmpp/router.js";
import { FakeWire, MemoryContacts } from "../harness/presence-fakes.js";

const COMPONENT = "presence.example.org";
const ALICE = "alice@example.org" as BareJid;
const BOB = "bob@example.org" as BareJid;
const CAROL = "carol@example.org" as BareJid;
const DAVE = "dave@example.org" as BareJid;
const ALICE_PHONE = `${ALICE}/phone` as FullJid;
const ALICE_LAPTOP = `${ALICE}/laptop` as FullJid;
const BOB_PHONE = `${BOB}/phone` as FullJid;
const CAROL_PHONE = `${CAROL}/phone` as FullJid;
const DAVE_PHONE = `${DAVE}/phone` as FullJid;
const ROOM = "room@muc.example.org" as BareJid;
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";

interface Events {
  changes: PresenceChange[];
  gone: string[];
  contacts: string[];
  forgotten: string[];
}

function setup() {
  const wire = new FakeWire();
  const replies: Element[] = [];
  const log = pino({ level: "silent" });
  const router = new Router((element) => void replies.push(element), log);
  const contacts = new MemoryContacts();
  const hub = new PresenceHub({
    wire,
    componentJid: COMPONENT,
    contacts: contacts.store,
    log,
  });
  hub.install(router);
  const events: Events = { changes: [], gone: [], contacts: [], forgotten: [] };
  hub.on("change", (change) => events.changes.push(change));
  hub.on("deviceGone", (user, device) => events.gone.push(`${user} ${device}`));
  hub.on("contact", (user, subscribed) => events.contacts.push(`${user} ${subscribed}`));
  hub.on("forgotten", (key) => events.forgotten.push(key));

  /** Dispatches stanzas, lets async handlers finish, and waits for the outbox. */
  async function receive(...stanzas: Element[]): Promise<void> {
    for (const stanza of stanzas) router.dispatch(stanza);
    await flush();
  }

  async function flush(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await hub.idle();
  }

  /** Brings devices online with their own presence and forgets what that sent. */
  async function online(...devices: string[]): Promise<void> {
    await receive(...devices.map((device) => available(device)));
    wire.take();
    events.changes.length = 0;
  }

  return { wire, replies, router, contacts, hub, events, receive, flush, online };
}

function available(from: string, show?: string, ...extra: Element[]): Element {
  const children = show ? [xml("show", {}, show), ...extra] : extra;
  return xml("presence", { from, to: COMPONENT }, ...children);
}

function typed(from: string, type: string, to = COMPONENT, ...children: Element[]): Element {
  return xml("presence", { from, to, type }, ...children);
}

function errorMessage(from: string, condition: string): Element {
  return xml(
    "message",
    { from, to: COMPONENT, type: "error", id: "m1" },
    xml("error", { type: "cancel" }, xml(condition, { xmlns: NS_STANZAS })),
  );
}

/** A combined presence sent by the hub, in short: "to: user show [self]". */
function describePresence(element: Element): string {
  assert.equal(element.name, "presence", element.toString());
  const marker = element.getChild("x", NS_PRESENCE);
  assert.ok(marker, `no presence marker in ${element.toString()}`);
  const user = String(marker.attrs.jid);
  const show = String(marker.attrs.show);
  assert.equal(element.attrs.from, mirrorJid(user, COMPONENT));
  assert.equal(element.attrs.type, show === "offline" ? "unavailable" : undefined);
  return `${String(element.attrs.to)}: ${user} ${show}${marker.attrs.self === "true" ? " self" : ""}`;
}

const describeAll = (elements: Element[]) => elements.map(describePresence);
const sortedDescriptions = (elements: Element[]) => describeAll(elements).sort();

describe("PresenceHub", () => {
  it("registers its disco feature", () => {
    const { router } = setup();
    assert.ok(router.features.includes(NS_PRESENCE));
  });

  describe("a new listening device", () => {
    it("gets everyone it may see who is not offline, then its own user, marked self", async () => {
      const { hub, wire, online, receive } = setup();
      hub.setGroup(ROOM, [ALICE, BOB, CAROL, DAVE]);
      await online(BOB_PHONE);
      await receive(available(CAROL_PHONE, "away"));
      wire.take();

      await receive(available(ALICE_PHONE, "dnd"));
      const toPhone = wire.sent.filter((element) => element.attrs.to === ALICE_PHONE);
      const described = describeAll(toPhone);
      assert.deepEqual(described.slice(0, -1).sort(), [
        `${ALICE_PHONE}: ${BOB} online`,
        `${ALICE_PHONE}: ${CAROL} away`,
      ]);
      assert.equal(described.at(-1), `${ALICE_PHONE}: ${ALICE} dnd self`, "own presence last");
      assert.equal(
        toPhone.filter((element) => element.getChild("x", NS_PRESENCE)?.attrs.self === "true")
          .length,
        1,
        "the device does not also get its own change",
      );
    });

    it("with nothing visible gets only its own presence", async () => {
      const { wire, receive } = setup();
      await receive(available(ALICE_PHONE));
      assert.deepEqual(describeAll(wire.sent), [`${ALICE_PHONE}: ${ALICE} online self`]);
    });

    it("a second device of a user gets the dump, the first gets nothing if nothing changed", async () => {
      const { hub, wire, online, receive } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(ALICE_PHONE, BOB_PHONE);
      await receive(available(ALICE_LAPTOP));
      assert.deepEqual(describeAll(wire.sent), [
        `${ALICE_LAPTOP}: ${BOB} online`,
        `${ALICE_LAPTOP}: ${ALICE} online self`,
      ]);
    });

    it("a second device that changes the combined presence tells the others, not itself", async () => {
      const { hub, wire, online, receive } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(ALICE_PHONE, BOB_PHONE);
      await receive(available(ALICE_LAPTOP, "xa"));
      assert.deepEqual(sortedDescriptions(wire.sent), [
        `${ALICE_LAPTOP}: ${ALICE} xa self`,
        `${ALICE_LAPTOP}: ${BOB} online`,
        `${ALICE_PHONE}: ${ALICE} xa self`,
        `${BOB_PHONE}: ${ALICE} xa`,
      ]);
    });

    it("a device first seen in a room gets the dump when it sends presence itself", async () => {
      const { hub, wire, online, receive } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(BOB_PHONE);
      hub.seenIn(ROOM, ALICE_PHONE, { show: "online", idle: false });
      await hub.idle();
      wire.take();
      await receive(available(ALICE_PHONE));
      assert.deepEqual(describeAll(wire.sent), [
        `${ALICE_PHONE}: ${BOB} online`,
        `${ALICE_PHONE}: ${ALICE} online self`,
      ]);
    });
  });

  describe("changes", () => {
    it("go to the viewers' listening devices and to the user's own devices", async () => {
      const { hub, wire, online, receive, events } = setup();
      hub.setGroup(ROOM, [ALICE, BOB, CAROL]);
      await online(ALICE_PHONE, ALICE_LAPTOP, BOB_PHONE, DAVE_PHONE);
      // carol's device is only known from a room: it does not listen.
      hub.seenIn("elsewhere@muc.example.org", CAROL_PHONE, { show: "online", idle: false });
      await hub.idle();
      wire.take();
      events.changes.length = 0;

      await receive(available(ALICE_PHONE, "away"));
      assert.deepEqual(sortedDescriptions(wire.sent), [
        `${ALICE_LAPTOP}: ${ALICE} away self`,
        `${ALICE_PHONE}: ${ALICE} away self`,
        `${BOB_PHONE}: ${ALICE} away`,
      ]);
      assert.deepEqual(events.changes, [{ user: ALICE, previous: "online", current: "away" }]);
    });

    it("an idle report is a change like any other", async () => {
      const { hub, wire, online, receive } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(ALICE_PHONE, BOB_PHONE);
      await receive(available(ALICE_PHONE, "xa", xml("idle", { xmlns: NS_IDLE })));
      assert.deepEqual(sortedDescriptions(wire.sent), [
        `${ALICE_PHONE}: ${ALICE} xa self`,
        `${BOB_PHONE}: ${ALICE} xa`,
      ]);
    });

    it("no message when the combined presence does not change", async () => {
      const { hub, wire, online, receive, events } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(ALICE_PHONE, ALICE_LAPTOP, BOB_PHONE);
      await receive(available(ALICE_PHONE), available(ALICE_LAPTOP));
      assert.deepEqual(wire.sent, []);
      // Going idle at the state the other device keeps active: still online.
      await receive(available(ALICE_PHONE, "away", xml("idle", { xmlns: NS_IDLE })));
      assert.deepEqual(wire.sent, []);
      assert.deepEqual(events.changes, []);
    });

    it("unavailable from the last device sends offline and reports the device gone", async () => {
      const { hub, wire, online, receive, events } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(ALICE_PHONE, BOB_PHONE);
      await receive(typed(ALICE_PHONE, "unavailable"));
      assert.deepEqual(describeAll(wire.sent), [`${BOB_PHONE}: ${ALICE} offline`]);
      assert.deepEqual(events.gone, [`${ALICE} ${ALICE_PHONE}`]);
      assert.equal(hub.combined(ALICE), "offline");
    });

    it("unavailable from one of two devices: the other one gets the change, if any", async () => {
      const { hub, wire, online, receive, events } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(ALICE_PHONE, BOB_PHONE);
      await receive(available(ALICE_LAPTOP, "dnd"));
      wire.take();
      await receive(typed(ALICE_LAPTOP, "unavailable"));
      assert.deepEqual(sortedDescriptions(wire.sent), [
        `${ALICE_PHONE}: ${ALICE} online self`,
        `${BOB_PHONE}: ${ALICE} online`,
      ]);
      assert.deepEqual(events.gone, [`${ALICE} ${ALICE_LAPTOP}`]);
    });

    it("presence from a bare JID is no device: available and unavailable are ignored", async () => {
      const { hub, wire, receive } = setup();
      await receive(available(ALICE), typed(ALICE, "unavailable"), typed(ALICE, "error"));
      assert.deepEqual(wire.sent, []);
      assert.equal(hub.userCount, 0);
    });

    it("a presence without from, or of an unknown type, is ignored", async () => {
      const { hub, wire, receive } = setup();
      await receive(xml("presence", { to: COMPONENT }), typed(ALICE_PHONE, "invisible"));
      assert.deepEqual(wire.sent, []);
      assert.equal(hub.userCount, 0);
    });
  });

  it("ignores MUC presence (with a muc#user x)", async () => {
    const { hub, wire, replies, receive, events } = setup();
    hub.setGroup(ROOM, [ALICE, BOB]);
    await receive(
      available(`${ROOM}/alice`, "away", xml("x", { xmlns: NS_MUC_USER })),
      available(ALICE_PHONE, undefined, xml("x", { xmlns: NS_MUC_USER }, xml("item"))),
      typed(ALICE_PHONE, "unavailable", COMPONENT, xml("x", { xmlns: NS_MUC_USER })),
    );
    assert.deepEqual(wire.sent, []);
    assert.deepEqual(replies, []);
    assert.equal(hub.userCount, 0);
    assert.deepEqual(events.changes, []);
  });

  describe("errors", () => {
    it("a presence error drops the device", async () => {
      const { hub, wire, online, receive, events } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(ALICE_PHONE, BOB_PHONE);
      hub.seenIn(ROOM, ALICE_PHONE, { show: "online", idle: false }); // a second source
      await receive(
        typed(
          ALICE_PHONE,
          "error",
          COMPONENT,
          xml("error", { type: "cancel" }, xml("remote-server-not-found", { xmlns: NS_STANZAS })),
        ),
      );
      assert.equal(hub.isOnline(ALICE_PHONE), false, "whatever its sources");
      assert.deepEqual(describeAll(wire.sent), [`${BOB_PHONE}: ${ALICE} offline`]);
      assert.deepEqual(events.gone, [`${ALICE} ${ALICE_PHONE}`]);
    });

    for (const condition of ["recipient-unavailable", "service-unavailable", "item-not-found"]) {
      it(`a message error ${condition} drops the device`, async () => {
        const { hub, wire, replies, online, receive, events } = setup();
        hub.setGroup(ROOM, [ALICE, BOB]);
        await online(ALICE_PHONE, BOB_PHONE);
        await receive(errorMessage(ALICE_PHONE, condition));
        assert.equal(hub.isOnline(ALICE_PHONE), false);
        assert.deepEqual(describeAll(wire.sent), [`${BOB_PHONE}: ${ALICE} offline`]);
        assert.deepEqual(events.gone, [`${ALICE} ${ALICE_PHONE}`]);
        assert.deepEqual(replies, [], "an error is never answered");
      });
    }

    it("a message error with another condition keeps the device", async () => {
      const { hub, wire, online, receive, events } = setup();
      await online(ALICE_PHONE);
      await receive(
        errorMessage(ALICE_PHONE, "not-acceptable"),
        errorMessage(ALICE_PHONE, "forbidden"),
      );
      assert.equal(hub.isOnline(ALICE_PHONE), true);
      assert.deepEqual(wire.sent, []);
      assert.deepEqual(events.gone, []);
    });

    it("a message error from a bare JID, or a message that is no error, keeps the devices", async () => {
      const { hub, online, receive } = setup();
      await online(ALICE_PHONE);
      await receive(
        errorMessage(ALICE, "recipient-unavailable"),
        xml("message", { from: ALICE_PHONE, to: COMPONENT, type: "chat" }, xml("body", {}, "hi")),
        xml("message", { from: ALICE_PHONE, to: COMPONENT, type: "error" }),
      );
      assert.equal(hub.isOnline(ALICE_PHONE), true);
    });
  });

  describe("subscriptions", () => {
    it("subscribe: subscribed, subscribe and available back, and the contact is stored", async () => {
      const { wire, contacts, receive, events } = setup();
      await receive(typed(ALICE, "subscribe"));
      assert.deepEqual(
        wire.sent.map((element) => element.attrs),
        [
          { from: COMPONENT, to: ALICE, type: "subscribed" },
          { from: COMPONENT, to: ALICE, type: "subscribe" },
          { from: COMPONENT, to: ALICE },
        ],
      );
      assert.deepEqual([...contacts.jids], [ALICE]);
      assert.deepEqual(events.contacts, [`${ALICE} true`]);
    });

    it("subscribe from a device stores the bare JID", async () => {
      const { wire, contacts, receive } = setup();
      await receive(typed(ALICE_PHONE, "subscribe"));
      assert.deepEqual([...contacts.jids], [ALICE]);
      assert.deepEqual(
        wire.sent.map((element) => String(element.attrs.to)),
        [ALICE, ALICE, ALICE],
      );
    });

    it("unsubscribe: unsubscribed and unsubscribe back, and the contact is removed", async () => {
      const { wire, contacts, receive, events } = setup();
      await receive(typed(ALICE, "subscribe"));
      wire.take();
      await receive(typed(ALICE, "unsubscribe"));
      assert.deepEqual(
        wire.sent.map((element) => element.attrs),
        [
          { from: COMPONENT, to: ALICE, type: "unsubscribed" },
          { from: COMPONENT, to: ALICE, type: "unsubscribe" },
        ],
      );
      assert.deepEqual([...contacts.jids], []);
      assert.deepEqual(events.contacts, [`${ALICE} true`, `${ALICE} false`]);
    });

    it("unsubscribed: the contact is removed, nothing is sent", async () => {
      const { wire, contacts, receive, events } = setup();
      await receive(typed(ALICE, "subscribe"));
      wire.take();
      await receive(typed(ALICE, "unsubscribed"));
      assert.deepEqual(wire.sent, []);
      assert.deepEqual([...contacts.jids], []);
      assert.deepEqual(events.contacts, [`${ALICE} true`, `${ALICE} false`]);
    });

    it("subscribed from the user changes nothing", async () => {
      const { wire, contacts, receive, events } = setup();
      await receive(typed(ALICE, "subscribed"));
      assert.deepEqual(wire.sent, []);
      assert.deepEqual(contacts.calls, []);
      assert.deepEqual(events.contacts, []);
    });

    it("announce: available and a probe to every contact; farewell: unavailable", async () => {
      const { hub, wire, contacts } = setup();
      contacts.jids.add(BOB).add(ALICE);
      await hub.announce();
      await hub.idle();
      assert.deepEqual(
        wire.take().map((element) => element.attrs),
        [
          { from: COMPONENT, to: ALICE },
          { from: COMPONENT, to: ALICE, type: "probe" },
          { from: COMPONENT, to: BOB },
          { from: COMPONENT, to: BOB, type: "probe" },
        ],
      );
      await hub.farewell();
      assert.deepEqual(
        wire.sent.map((element) => element.attrs),
        [
          { from: COMPONENT, to: ALICE, type: "unavailable" },
          { from: COMPONENT, to: BOB, type: "unavailable" },
        ],
      );
    });
  });

  describe("probes", () => {
    it("a probe to the component is answered with the component's presence", async () => {
      const { wire, receive } = setup();
      await receive(typed(ALICE_PHONE, "probe"));
      assert.deepEqual(
        wire.sent.map((element) => element.attrs),
        [{ from: COMPONENT, to: ALICE_PHONE }],
      );
    });

    it("a probe to a mirror JID the prober may see is answered with its combined presence", async () => {
      const { hub, wire, online, receive } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(ALICE_PHONE, BOB_PHONE);
      await receive(available(ALICE_PHONE, "chat"));
      wire.take();
      await receive(typed(BOB_PHONE, "probe", mirrorJid(ALICE, COMPONENT)));
      assert.deepEqual(describeAll(wire.sent), [`${BOB_PHONE}: ${ALICE} chat`]);
    });

    it("an entitled probe of an offline user gets unavailable", async () => {
      const { hub, wire, receive } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await receive(typed(BOB_PHONE, "probe", mirrorJid(ALICE, COMPONENT)));
      assert.deepEqual(describeAll(wire.sent), [`${BOB_PHONE}: ${ALICE} offline`]);
    });

    it("a probe of one's own mirror JID is answered, marked self", async () => {
      const { wire, online, receive } = setup();
      await online(ALICE_PHONE);
      await receive(typed(ALICE_LAPTOP, "probe", mirrorJid(ALICE, COMPONENT)));
      assert.deepEqual(describeAll(wire.sent), [`${ALICE_LAPTOP}: ${ALICE} online self`]);
    });

    it("a probe from someone not entitled gets nothing", async () => {
      const { hub, wire, replies, online, receive } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      hub.addViewer("watch", CAROL, [DAVE]);
      await online(ALICE_PHONE);
      await receive(
        typed(CAROL_PHONE, "probe", mirrorJid(ALICE, COMPONENT)),
        typed(DAVE_PHONE, "probe", mirrorJid(CAROL, COMPONENT)), // one-way: dave does not see carol
        typed(CAROL_PHONE, "probe", `nobody@${COMPONENT}`),
      );
      assert.deepEqual(wire.sent, []);
      assert.deepEqual(replies, []);
    });

    it("a probe from a one-way watcher is answered", async () => {
      const { hub, wire, online, receive } = setup();
      hub.addViewer("watch", CAROL, [DAVE]);
      await online(DAVE_PHONE);
      await receive(typed(CAROL_PHONE, "probe", mirrorJid(DAVE, COMPONENT)));
      assert.deepEqual(describeAll(wire.sent), [`${CAROL_PHONE}: ${DAVE} online`]);
    });

    it("escaped characters in the mirror JID are unescaped", async () => {
      const odd = "o\\27brien@example.org" as BareJid;
      const { hub, wire, online, receive } = setup();
      hub.setGroup(ROOM, [odd, BOB]);
      await online(`${odd}/desk` as FullJid);
      await receive(typed(BOB_PHONE, "probe", `${escapeLocal(odd)}@${COMPONENT}`));
      assert.deepEqual(describeAll(wire.sent), [`${BOB_PHONE}: ${odd} online`]);
    });
  });

  describe("relations", () => {
    it("setRoom sends newly entitled viewers the presence of those not offline", async () => {
      const { hub, wire, online } = setup();
      await online(ALICE_PHONE, ALICE_LAPTOP, BOB_PHONE);
      hub.setGroup(ROOM, [ALICE, BOB, CAROL]); // carol is offline
      await hub.idle();
      assert.deepEqual(sortedDescriptions(wire.take()), [
        `${ALICE_LAPTOP}: ${BOB} online`,
        `${ALICE_PHONE}: ${BOB} online`,
        `${BOB_PHONE}: ${ALICE} online`,
      ]);

      // The same room again grants nothing new.
      hub.setGroup(ROOM, [ALICE, BOB, CAROL]);
      await hub.idle();
      assert.deepEqual(wire.take(), []);

      // A second room with the same pairs grants nothing either.
      hub.setGroup("other@muc.example.org", [BOB, ALICE]);
      await hub.idle();
      assert.deepEqual(wire.take(), []);
    });

    it("a member who comes online later reaches the others by the change, not by setRoom", async () => {
      const { hub, wire, online, receive } = setup();
      await online(ALICE_PHONE);
      hub.setGroup(ROOM, [ALICE, BOB]);
      await hub.idle();
      assert.deepEqual(wire.take(), [], "bob is offline and has no devices");
      await receive(available(BOB_PHONE));
      assert.deepEqual(sortedDescriptions(wire.sent), [
        `${ALICE_PHONE}: ${BOB} online`,
        `${BOB_PHONE}: ${ALICE} online`,
        `${BOB_PHONE}: ${BOB} online self`,
      ]);
    });

    it("a watch grants one way only", async () => {
      const { hub, wire, online } = setup();
      await online(ALICE_PHONE, BOB_PHONE);
      hub.addViewer("watch", ALICE, [BOB]);
      await hub.idle();
      assert.deepEqual(describeAll(wire.sent), [`${ALICE_PHONE}: ${BOB} online`]);
    });

    it("after a room is forgotten, its members see each other go offline, then nothing", async () => {
      const { hub, wire, online, receive, events } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(ALICE_PHONE, BOB_PHONE);
      hub.forgetGroup(ROOM);
      assert.deepEqual(events.forgotten, [ROOM]);
      assert.equal(hub.members(ROOM), undefined);
      await hub.idle();
      // Nobody keeps the last state they saw of someone they may no longer see.
      assert.deepEqual(describeAll(wire.take()), [
        `${ALICE_PHONE}: ${BOB} offline`,
        `${BOB_PHONE}: ${ALICE} offline`,
      ]);
      await receive(available(ALICE_PHONE, "away"));
      assert.deepEqual(describeAll(wire.sent), [`${ALICE_PHONE}: ${ALICE} away self`]);
    });

    it("forgotten is emitted while listeners can still read the room's members", () => {
      const { hub } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      let seen: string[] | undefined;
      hub.on("forgotten", (key) => (seen = [...(hub.members(key) ?? [])].sort()));
      hub.forgetGroup(ROOM);
      assert.deepEqual(seen, [ALICE, BOB]);
      assert.equal(hub.members(ROOM), undefined);
    });

    it("forget emits forgotten even for an unknown key", () => {
      const { hub, events } = setup();
      hub.forgetGroup("nothing");
      assert.deepEqual(events.forgotten, ["nothing"]);
    });
  });

  describe("devices seen in rooms", () => {
    it("seenIn reports a device to viewers; 'left' takes it offline and reports it gone", async () => {
      const { hub, wire, online, events } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(BOB_PHONE);

      hub.seenIn(ROOM, ALICE_PHONE, { show: "away", idle: false });
      await hub.idle();
      assert.deepEqual(describeAll(wire.take()), [`${BOB_PHONE}: ${ALICE} away`]);

      hub.seenIn(ROOM, ALICE_PHONE, "left");
      await hub.idle();
      assert.deepEqual(describeAll(wire.take()), [`${BOB_PHONE}: ${ALICE} offline`]);
      assert.deepEqual(events.gone, [`${ALICE} ${ALICE_PHONE}`]);
    });

    it("a device leaving one source but still shown by another is not gone", async () => {
      const { hub, wire, online, events } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(ALICE_PHONE, BOB_PHONE);
      hub.seenIn(ROOM, ALICE_PHONE, { show: "online", idle: false });
      hub.seenIn(ROOM, ALICE_PHONE, "left");
      await hub.idle();
      assert.deepEqual(wire.sent, []);
      assert.deepEqual(events.gone, []);
      assert.equal(hub.isOnline(ALICE_PHONE), true);
    });

    it("sourceGone takes the room's devices out, reporting those gone and the changes", async () => {
      const { hub, wire, online, events } = setup();
      hub.setGroup(ROOM, [ALICE, BOB, CAROL]);
      await online(BOB_PHONE, DAVE_PHONE);
      hub.seenIn(ROOM, ALICE_PHONE, { show: "online", idle: false });
      hub.seenIn(ROOM, ALICE_LAPTOP, { show: "online", idle: false });
      hub.seenIn(ROOM, BOB_PHONE, { show: "online", idle: false }); // also direct
      hub.seenIn(ROOM, CAROL_PHONE, { show: "xa", idle: false });
      await hub.idle();
      wire.take();
      events.changes.length = 0;

      hub.sourceGone(ROOM);
      await hub.idle();
      assert.deepEqual(events.gone.sort(), [
        `${ALICE} ${ALICE_LAPTOP}`,
        `${ALICE} ${ALICE_PHONE}`,
        `${CAROL} ${CAROL_PHONE}`,
      ]);
      assert.deepEqual(
        events.changes
          .map((change) => `${change.user} ${change.previous}→${change.current}`)
          .sort(),
        [`${ALICE} online→offline`, `${CAROL} xa→offline`],
      );
      assert.deepEqual(sortedDescriptions(wire.sent), [
        `${BOB_PHONE}: ${ALICE} offline`,
        `${BOB_PHONE}: ${CAROL} offline`,
      ]);
      assert.equal(hub.isOnline(BOB_PHONE), true);
      assert.equal(hub.isOnline(DAVE_PHONE), true);
    });

    it("dropDevice removes a device whatever its sources and reports it gone", async () => {
      const { hub, wire, online, events } = setup();
      hub.setGroup(ROOM, [ALICE, BOB]);
      await online(ALICE_PHONE, BOB_PHONE);
      hub.seenIn(ROOM, ALICE_PHONE, { show: "online", idle: false });
      hub.dropDevice(ALICE_PHONE);
      await hub.idle();
      assert.deepEqual(describeAll(wire.sent), [`${BOB_PHONE}: ${ALICE} offline`]);
      assert.deepEqual(events.gone, [`${ALICE} ${ALICE_PHONE}`]);
    });
  });
});
