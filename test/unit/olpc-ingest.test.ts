import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Parser, type Element } from "@xmpp/xml";
import {
  NS_ACTIVITIES,
  NS_ACTIVITY_PROPS,
  NS_BUDDY_PROPS,
  NS_CURRENT_ACTIVITY,
  NS_MUC_USER,
  NS_NICK,
  NS_PUBSUB,
  NS_PUBSUB_EVENT,
} from "../../src/olpc/namespaces.js";
import {
  DEFAULT_LIMITS,
  parseActivityProperties,
  parseCurrentActivity,
  parseMessage,
  parsePepItems,
  parsePepPayload,
  type OlpcLimits,
} from "../../src/olpc/protocol.js";
import { StanzaError, type StanzaErrorCondition } from "../../src/xmpp/stanza-error.js";

const LIMITS: OlpcLimits = { ...DEFAULT_LIMITS };

function parseXml(text: string): Element {
  const parser = new Parser();
  let root: Element | undefined;
  parser.on("start", (element: Element) => (root = element));
  parser.on("element", (element: Element) => root?.append(element));
  parser.write(text.trim());
  parser.end("");
  assert.ok(root, "the text holds an element");
  return root;
}

function assertRefused(run: () => unknown, condition: StanzaErrorCondition, text: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof StanzaError, `expected a StanzaError, got ${String(error)}`);
    assert.equal(error.condition, condition);
    assert.match(error.text ?? "", text);
    return true;
  });
}

function pepEvent(node: string, item: string, from = "alice@localhost"): Element {
  return parseXml(`<message from="${from}" to="gadget.localhost">
    <event xmlns="${NS_PUBSUB_EVENT}"><items node="${node}">${item}</items></event></message>`);
}

const color = (value: string) => `<property type="str" name="color">${value}</property>`;

describe("PEP notifications (the nodes Gabble publishes)", () => {
  test("buddy-properties (change-notifications.py)", () => {
    const message = pepEvent(
      NS_BUDDY_PROPS,
      `<item><properties xmlns="${NS_BUDDY_PROPS}">${color("#005FE4,#00A0FF")}</properties></item>`,
    );
    assert.deepEqual(parseMessage(message, LIMITS), [
      {
        kind: "pep",
        update: {
          kind: "buddy-properties",
          properties: [{ name: "color", type: "str", value: "#005FE4,#00A0FF" }],
        },
      },
    ]);
  });

  test("buddy-properties with a key, as docs/olpc.xml publishes it", () => {
    const message = pepEvent(
      NS_BUDDY_PROPS,
      `<item><properties xmlns="${NS_BUDDY_PROPS}">
        <property type="str" name="ip4-address">10.0.0.123</property>
        <property type="bytes" name="key">QmFzZTY0QmFzZTY0</property>
        ${color("#005FE4,#00A0FF")}</properties></item>`,
    );
    const [item] = parseMessage(message, LIMITS);
    assert.deepEqual(
      item?.kind === "pep" && item.update.kind === "buddy-properties" && item.update.properties,
      [
        { name: "color", type: "str", value: "#005FE4,#00A0FF" },
        { name: "ip4-address", type: "str", value: "10.0.0.123" },
        { name: "key", type: "bytes", value: "QmFzZTY0QmFzZTY0" },
      ],
    );
  });

  test("current-activity: the id is in 'type' (current-activity.py)", () => {
    const message = pepEvent(
      NS_CURRENT_ACTIVITY,
      `<item><activity xmlns="${NS_CURRENT_ACTIVITY}" room="room2@conference.localhost" type="activity2"/></item>`,
    );
    assert.deepEqual(parseMessage(message, LIMITS), [
      {
        kind: "pep",
        update: {
          kind: "current-activity",
          currentActivity: { id: "activity2", room: "room2@conference.localhost" },
        },
      },
    ]);
  });

  test("current-activity: 'id' when there is no 'type'; empty means none", () => {
    const element = (attrs: string) =>
      parseXml(`<activity xmlns="${NS_CURRENT_ACTIVITY}" ${attrs}/>`);
    assert.deepEqual(parseCurrentActivity(element('id="a3" room="r@c"'), LIMITS), {
      id: "a3",
      room: "r@c",
    });
    assert.deepEqual(parseCurrentActivity(element('type="a" id="b" room="r@c"'), LIMITS), {
      id: "a",
      room: "r@c",
    });
    assert.equal(parseCurrentActivity(element('type="" room=""'), LIMITS), undefined);
    assert.equal(parseCurrentActivity(element('type="a"'), LIMITS), undefined);
    assert.equal(parseCurrentActivity(element('room="r@c"'), LIMITS), undefined);
    assertRefused(
      () => parseCurrentActivity(element('type="a" room="not a room"'), LIMITS),
      "jid-malformed",
      /'room'/,
    );
  });

  test("activities: <activities><activity type room/>… (docs/olpc.xml)", () => {
    const message = pepEvent(
      NS_ACTIVITIES,
      `<item><activities xmlns="${NS_ACTIVITIES}">
        <activity room="aaaa@conference.jabber.laptop.org" type="aaaa"/>
        <activity room="bbbb@conference.jabber.laptop.org" type="bbbb"/>
      </activities></item>`,
    );
    assert.deepEqual(parseMessage(message, LIMITS), [
      {
        kind: "pep",
        update: {
          kind: "activities",
          activities: [
            { id: "aaaa", room: "aaaa@conference.jabber.laptop.org" },
            { id: "bbbb", room: "bbbb@conference.jabber.laptop.org" },
          ],
        },
      },
    ]);
  });

  test("activity-properties: <activities><properties activity room>… (docs/olpc.xml)", () => {
    const message = pepEvent(
      NS_ACTIVITY_PROPS,
      `<item><activities xmlns="${NS_ACTIVITY_PROPS}">
        <properties xmlns="${NS_ACTIVITY_PROPS}" activity="aaaa" room="aaaa@conference.jabber.laptop.org">
          <property type="str" name="type">org.laptop.Connect</property>
          <property type="str" name="name">Connect Activity</property>
          <property type="str" name="tags"></property>
          ${color("#005FE4,#00A0FF")}
          <property type="bool" name="private">0</property>
        </properties>
      </activities></item>`,
    );
    const [item] = parseMessage(message, LIMITS);
    assert.ok(item?.kind === "pep" && item.update.kind === "activity-properties");
    assert.deepEqual(item.update.activities, [
      {
        id: "aaaa",
        room: "aaaa@conference.jabber.laptop.org",
        properties: [
          { name: "color", type: "str", value: "#005FE4,#00A0FF" },
          { name: "name", type: "str", value: "Connect Activity" },
          { name: "private", type: "bool", value: "0" },
          { name: "tags", type: "str", value: "" },
          { name: "type", type: "str", value: "org.laptop.Connect" },
        ],
      },
    ]);
  });

  test("nick (XEP-0172): Sugar's alias", () => {
    const nick = (text: string) =>
      parsePepPayload(NS_NICK, parseXml(`<nick xmlns="${NS_NICK}">${text}</nick>`), LIMITS);
    assert.deepEqual(nick("Tom"), { kind: "nick", nick: "Tom" });
    assert.deepEqual(nick(""), { kind: "nick", nick: undefined });
  });

  test("retractions, purges and deletions clear the node", () => {
    const retracted = pepEvent(NS_CURRENT_ACTIVITY, `<retract id="current"/>`);
    assert.deepEqual(parseMessage(retracted, LIMITS), [
      { kind: "pep", update: { kind: "current-activity", currentActivity: undefined } },
    ]);
    const purged = parseXml(`<message from="a@b"><event xmlns="${NS_PUBSUB_EVENT}">
      <purge node="${NS_ACTIVITIES}"/><delete node="${NS_BUDDY_PROPS}"/><purge node="urn:x"/>
      <delete node="${NS_NICK}"/><purge node="${NS_ACTIVITY_PROPS}"/></event></message>`);
    assert.deepEqual(
      parseMessage(purged, LIMITS).map((item) => item.kind === "pep" && item.update),
      [
        { kind: "activities", activities: [] },
        { kind: "buddy-properties", properties: [] },
        { kind: "nick", nick: undefined },
        { kind: "activity-properties", activities: [] },
      ],
    );
  });

  test("unknown nodes and items without payload are nothing", () => {
    assert.deepEqual(
      parseMessage(pepEvent("urn:xmpp:avatar:metadata", "<item><x/></item>"), LIMITS),
      [],
    );
    assert.deepEqual(parseMessage(pepEvent(NS_BUDDY_PROPS, `<item id="1"/>`), LIMITS), []);
  });

  test("the last item with a payload wins", () => {
    const update = parsePepItems(
      parseXml(`<items node="${NS_NICK}"><item><nick xmlns="${NS_NICK}">a</nick></item>
        <item><nick xmlns="${NS_NICK}">b</nick></item></items>`),
      LIMITS,
    );
    assert.deepEqual(update, { kind: "nick", nick: "b" });
  });

  test("a pubsub query result's <items/> reads the same (current-activity.py)", () => {
    const reply = parseXml(`<iq type="result" from="alice@localhost">
      <pubsub xmlns="${NS_PUBSUB}"><items node="${NS_CURRENT_ACTIVITY}"><item id="itemID">
      <activity xmlns="${NS_CURRENT_ACTIVITY}" room="room1@conference.localhost" type="activity1"/>
      </item></items></pubsub></iq>`);
    const items = reply.getChild("pubsub", NS_PUBSUB)?.getChild("items");
    assert.ok(items);
    assert.deepEqual(parsePepItems(items, LIMITS), {
      kind: "current-activity",
      currentActivity: { id: "activity1", room: "room1@conference.localhost" },
    });
  });

  test("malformed payloads are refused", () => {
    assertRefused(
      () => parsePepPayload(NS_BUDDY_PROPS, parseXml(`<properties xmlns="urn:x"/>`), LIMITS),
      "bad-request",
      /holds <properties xmlns='http:\/\/laptop.org\/xmpp\/buddy-properties'\/>/,
    );
    assertRefused(
      () =>
        parsePepPayload(
          NS_ACTIVITIES,
          parseXml(`<activities xmlns="${NS_ACTIVITIES}"><activity room="r@c"/></activities>`),
          LIMITS,
        ),
      "bad-request",
      /<activity\/> needs the 'type'/,
    );
    assertRefused(
      () =>
        parsePepPayload(
          NS_ACTIVITIES,
          parseXml(`<activities xmlns="${NS_ACTIVITIES}"><junk/></activities>`),
          LIMITS,
        ),
      "bad-request",
      /unexpected <junk\/> in <activities\/>/,
    );
    const many = Array.from({ length: 3 }, (_, i) => `<activity type="a${i}" room="r${i}@c"/>`);
    assertRefused(
      () =>
        parsePepPayload(
          NS_ACTIVITIES,
          parseXml(`<activities xmlns="${NS_ACTIVITIES}">${many.join("")}</activities>`),
          { ...LIMITS, maxBuddyActivities: 2 },
        ),
      "policy-violation",
      /at most 2 activities per buddy/,
    );
    assertRefused(
      () =>
        parseMessage(
          pepEvent(
            NS_BUDDY_PROPS,
            `<item><properties xmlns="${NS_BUDDY_PROPS}">
        <property type="int" name="n">x</property></properties></item>`,
          ),
          LIMITS,
        ),
      "bad-request",
      /property "n" must be an int/,
    );
  });
});

describe("activity properties sent by laptops", () => {
  test("a pseudo-invitation carries room and activity (olpc-muc-invitation.py)", () => {
    const message = parseXml(`<message from="bob@localhost/Telepathy" to="gadget.localhost">
      <properties xmlns="${NS_ACTIVITY_PROPS}" room="chat@conf.localhost" activity="foo_id">
        <property type="str" name="color">#ffff00,#00ffff</property>
        <property type="bool" name="private">1</property>
      </properties></message>`);
    assert.deepEqual(parseMessage(message, LIMITS), [
      {
        kind: "activity-properties",
        update: {
          id: "foo_id",
          room: "chat@conf.localhost",
          properties: [
            { name: "color", type: "str", value: "#ffff00,#00ffff" },
            { name: "private", type: "bool", value: "1" },
          ],
        },
      },
    ]);
  });

  test("a room broadcast without 'room' is about the room it came from", () => {
    const message = parseXml(`<message type="groupchat" from="chat@conf.localhost/bob">
      <properties xmlns="${NS_ACTIVITY_PROPS}" activity="foo_id">
        <property type="str" name="title">Badger badger badger</property>
      </properties></message>`);
    const [item] = parseMessage(message, LIMITS);
    assert.ok(item?.kind === "activity-properties");
    assert.equal(item.update.room, "chat@conf.localhost");
  });

  test("without 'room' outside a room, or without 'activity', it is refused", () => {
    const element = (attrs: string) =>
      parseXml(`<properties xmlns="${NS_ACTIVITY_PROPS}" ${attrs}/>`);
    assertRefused(
      () => parseActivityProperties(element('activity="a"'), LIMITS),
      "bad-request",
      /<properties\/> needs the 'room'/,
    );
    assertRefused(
      () => parseActivityProperties(element('room="r@c"'), LIMITS),
      "bad-request",
      /needs the 'activity'/,
    );
    assert.deepEqual(parseActivityProperties(element('activity="a"'), LIMITS, "r@c"), {
      id: "a",
      room: "r@c",
      properties: [],
    });
  });

  test("an uninvitation names the activity and room (docs/olpc.xml)", () => {
    const message = parseXml(`<message from="1111@jabber.laptop.org/Telepathy">
      <uninvite xmlns="${NS_ACTIVITY_PROPS}" id="aaaa" room="aaaa@conference.jabber.laptop.org"/>
      </message>`);
    assert.deepEqual(parseMessage(message, LIMITS), [
      { kind: "uninvite", activity: { id: "aaaa", room: "aaaa@conference.jabber.laptop.org" } },
    ]);
  });
});

describe("invitations into rooms", () => {
  test("the room relays the laptop's invitation (gadget-invite.py)", () => {
    const message = parseXml(`<message from="myroom@conference.localhost" to="gadget.localhost">
      <x xmlns="${NS_MUC_USER}"><invite from="test@localhost/Resource"><reason>Share activity</reason></invite></x>
      </message>`);
    assert.deepEqual(parseMessage(message, LIMITS), [
      {
        kind: "muc-invite",
        invite: {
          room: "myroom@conference.localhost",
          inviter: "test@localhost",
          reason: "Share activity",
        },
      },
    ]);
  });

  test("an <x/> without invitation is nothing; without 'from' the room is unknown", () => {
    const status = parseXml(
      `<message from="r@c"><x xmlns="${NS_MUC_USER}"><status code="104"/></x></message>`,
    );
    assert.deepEqual(parseMessage(status, LIMITS), []);
    const anonymous = parseXml(`<message><x xmlns="${NS_MUC_USER}"><invite/></x></message>`);
    assertRefused(() => parseMessage(anonymous, LIMITS), "bad-request", /needs the 'from'/);
  });
});

describe("parseMessage", () => {
  test("ignores what it does not know, keeps document order", () => {
    const message = parseXml(`<message from="chat@conf.localhost/bob" type="groupchat">
      <body>hello</body><amp xmlns="http://jabber.org/protocol/amp"/>
      <close xmlns="http://laptop.org/xmpp/buddy" id="2"/>
      <uninvite xmlns="${NS_ACTIVITY_PROPS}" id="a" room="a@c"/></message>`);
    assert.deepEqual(
      parseMessage(message, LIMITS).map((item) => item.kind),
      ["close", "uninvite"],
    );
  });

  test("draft membership: 'id' works as well as 'activity'; exactly one of joined/left", () => {
    const membership = (inner: string, attrs = 'id="x1"') =>
      parseMessage(
        parseXml(
          `<message from="a@b"><activity xmlns="http://laptop.org/xmpp/activity" ${attrs}>${inner}</activity></message>`,
        ),
        LIMITS,
      );
    assert.deepEqual(membership("<joined/>"), [
      { kind: "draft-membership", change: "joined", activity: "x1" },
    ]);
    assert.deepEqual(membership(`<joined jid="ignored@x"/>`, 'activity="a" room="r@c"'), [
      { kind: "draft-membership", change: "joined", activity: "a", room: "r@c" },
    ]);
    assertRefused(
      () => membership("<joined/><left/>"),
      "bad-request",
      /exactly one <joined\/> or <left\/>/,
    );
    assertRefused(() => membership(""), "bad-request", /exactly one/);
    assertRefused(() => membership("<closed/>"), "bad-request", /exactly one/);
    assertRefused(() => membership("<left/>", 'room="bad room"'), "jid-malformed", /'room'/);
  });
});
