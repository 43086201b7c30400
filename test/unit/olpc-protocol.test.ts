import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Parser, type Element } from "@xmpp/xml";
import {
  NS_ACTIVITY,
  NS_ACTIVITY_PROPS,
  NS_BUDDY,
  NS_BUDDY_PROPS,
  NS_RSM,
} from "../../src/olpc/namespaces.js";
import {
  DEFAULT_LIMITS,
  parseActivityQuery,
  parseBuddyView,
  parseClose,
  parseIqRequest,
  parseMessage,
  type OlpcLimits,
} from "../../src/olpc/protocol.js";
import { StanzaError, type StanzaErrorCondition } from "../../src/xmpp/stanza-error.js";

const LIMITS: OlpcLimits = { ...DEFAULT_LIMITS, maxViewSize: 20, maxPageSize: 10 };

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

/** The first child element of a stanza written as text. */
function payloadOf(text: string): Element {
  const [payload] = parseXml(text).children.filter((c): c is Element => typeof c !== "string");
  assert.ok(payload);
  return payload;
}

function request(text: string, limits = LIMITS) {
  return parseIqRequest(payloadOf(text), limits);
}

function assertRefused(run: () => unknown, condition: StanzaErrorCondition, text: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof StanzaError, `expected a StanzaError, got ${String(error)}`);
    assert.equal(error.condition, condition);
    assert.match(error.text ?? "", text);
    return true;
  });
}

/** The seed's examples, with `xmlns="..."` replaced by the namespace each one means. */
describe("the wiki draft's requests, as written in the seed", () => {
  test("an XO searches for all instances of the Connect activity", () => {
    const seed = ` <iq type="get" from="joe@jabber.laptop.org" to="index.jabber.laptop.org">
   <query xmlns="${NS_ACTIVITY}">
     <activity>
       <property type="str" name="type">org.laptop.Connect</property>
     </activity>
   </query>
 </iq>`;
    assert.deepEqual(request(seed), {
      kind: "activity-query",
      criteria: { properties: [{ name: "type", type: "str", value: "org.laptop.Connect" }] },
      rsm: { present: false, max: 10 },
    });
  });

  test("an XO searches for an activity by id", () => {
    const seed = ` <iq type="get" from="joe@jabber.laptop.org" to="index.jabber.laptop.org">
   <query xmlns="${NS_ACTIVITY}">
     <activity id="abcde123" />
   </query>
 </iq>`;
    assert.deepEqual(request(seed), {
      kind: "activity-query",
      criteria: { id: "abcde123" },
      rsm: { present: false, max: 10 },
    });
  });

  test("buddy by JID: <buddy/> as the iq's child (the seed leaves out its xmlns)", () => {
    const seed = ` <iq type="get" from="joe@jabber.laptop.org" to="index.jabber.laptop.org">
   <buddy xmlns="${NS_BUDDY}" jid="bob@jabber.laptop.org" />
 </iq>`;
    assert.deepEqual(request(seed), {
      kind: "buddy-query",
      criteria: { jid: "bob@jabber.laptop.org" },
      rsm: { present: false, max: 10 },
      wrapper: "buddy",
    });
  });

  test("join announcement: the seed's example names no activity, so it is refused", () => {
    // The seed closes <message> with </iq>; the intended stanza is a message.
    const seed = ` <message type="notice" from="joe@jabber.laptop.org" to="index.jabber.laptop.org">
   <activity xmlns="${NS_ACTIVITY}">
      <joined />
   </activity>
 </message>`;
    assertRefused(() => parseMessage(parseXml(seed), LIMITS), "bad-request", /say which activity/);
  });

  test("join and leave announcements that name the activity", () => {
    const joined = parseXml(`<message type="notice" from="joe@jabber.laptop.org">
      <activity xmlns="${NS_ACTIVITY}" activity="abcde123"><joined/></activity></message>`);
    assert.deepEqual(parseMessage(joined, LIMITS), [
      { kind: "draft-membership", change: "joined", activity: "abcde123" },
    ]);
    const left = parseXml(`<message from="joe@jabber.laptop.org">
      <activity xmlns="${NS_ACTIVITY}" room="Room@Conference.Laptop.org"><left/></activity>
      </message>`);
    assert.deepEqual(parseMessage(left, LIMITS), [
      { kind: "draft-membership", change: "left", room: "room@conference.laptop.org" },
    ]);
  });
});

describe("draft queries", () => {
  test("RSM <set/> as a sibling of <activity/> inside <query/>", () => {
    const parsed = request(`<iq type="get"><query xmlns="${NS_ACTIVITY}">
      <activity><property type="str" name="type">org.laptop.Chat</property></activity>
      <set xmlns="${NS_RSM}"><max>5</max><after>a7</after></set></query></iq>`);
    assert.equal(parsed.kind, "activity-query");
    assert.deepEqual(parsed.kind === "activity-query" && parsed.rsm, {
      present: true,
      max: 5,
      after: "a7",
    });
  });

  test("an empty query (or empty <activity/>) selects every activity", () => {
    assert.deepEqual(request(`<iq><query xmlns="${NS_ACTIVITY}"/></iq>`), {
      kind: "activity-query",
      criteria: {},
      rsm: { present: false, max: 10 },
    });
    assert.deepEqual(
      parseActivityQuery(
        payloadOf(`<iq><query xmlns="${NS_ACTIVITY}"><activity/></query></iq>`),
        LIMITS,
      ).criteria,
      {},
    );
  });

  test("Gabble-style <properties/> and <buddy/> participants are accepted in a query too", () => {
    const parsed = request(`<iq><query xmlns="${NS_ACTIVITY}"><activity>
      <properties xmlns="${NS_ACTIVITY_PROPS}"><property type="bool" name="private">false</property></properties>
      <buddy jid="bob@localhost/Telepathy"/><buddy jid="alice@localhost"/><buddy jid="bob@localhost"/>
      </activity></query></iq>`);
    assert.deepEqual(parsed.kind === "activity-query" && parsed.criteria, {
      participants: ["alice@localhost", "bob@localhost"],
      properties: [{ name: "private", type: "bool", value: "0" }],
    });
  });

  test("Gabble's buddy lookup <query><buddy jid/></query> (olpc-buddy-search.py)", () => {
    assert.deepEqual(
      request(`<iq type="get" to="gadget.localhost" id="x">
        <query xmlns="${NS_BUDDY}"><buddy jid="bob@localhost"/></query></iq>`),
      {
        kind: "buddy-query",
        criteria: { jid: "bob@localhost" },
        rsm: { present: false, max: 10 },
        wrapper: "query",
      },
    );
  });

  test("a buddy query by properties and alias, with RSM", () => {
    const parsed = request(`<iq><query xmlns="${NS_BUDDY}"><buddy alias="tom">
      <properties xmlns="${NS_BUDDY_PROPS}"><property type="str" name="color">#AABBCC,#001122</property></properties>
      </buddy><set xmlns="${NS_RSM}"><before/></set></query></iq>`);
    assert.deepEqual(parsed, {
      kind: "buddy-query",
      criteria: {
        alias: "tom",
        properties: [{ name: "color", type: "str", value: "#AABBCC,#001122" }],
      },
      rsm: { present: true, max: 10, before: "" },
      wrapper: "query",
    });
  });

  test("malformed queries are bad-request, naming what is wrong", () => {
    assertRefused(
      () => request(`<iq><query xmlns="${NS_ACTIVITY}"><activity/><activity/></query></iq>`),
      "bad-request",
      /one <activity\/>.*not <activity\/>/,
    );
    assertRefused(
      () => request(`<iq><query xmlns="${NS_ACTIVITY}"><set/></query></iq>`),
      "bad-request",
      /not <set\/>/,
    );
    assertRefused(
      () =>
        request(`<iq><query xmlns="${NS_ACTIVITY}"><activity>
          <property type="str" name="a">1</property>
          <properties xmlns="${NS_ACTIVITY_PROPS}"/></activity></query></iq>`),
      "bad-request",
      /not both/,
    );
    assertRefused(
      () => request(`<iq><query xmlns="${NS_ACTIVITY}"><activity><tag/></activity></query></iq>`),
      "bad-request",
      /unexpected <tag\/> in <activity\/>/,
    );
    assertRefused(
      () =>
        request(`<iq><query xmlns="${NS_ACTIVITY}"><activity>
          <property type="float" name="ratio">1</property></activity></query></iq>`),
      "bad-request",
      /property "ratio" has unknown type/,
    );
    assertRefused(
      () => request(`<iq><query xmlns="${NS_BUDDY}"><buddy jid="not a jid"/></query></iq>`),
      "jid-malformed",
      /<buddy\/> 'jid'/,
    );
    assertRefused(
      () => request(`<iq><query xmlns="${NS_ACTIVITY}"><activity><buddy/></activity></query></iq>`),
      "bad-request",
      /<buddy\/> needs the 'jid'/,
    );
    assertRefused(
      () => request(`<iq><query xmlns="${NS_BUDDY}"><buddy jid=""/></query></iq>`),
      "bad-request",
      /<buddy\/> needs the 'jid' attribute/,
    );
    assertRefused(
      () => request(`<iq><query xmlns="urn:other"/></iq>`),
      "feature-not-implemented",
      /<query\/> in urn:other/,
    );
  });

  test("size limits are policy violations", () => {
    const buddies = Array.from({ length: 3 }, (_, i) => `<buddy jid="b${i}@localhost"/>`).join("");
    assertRefused(
      () =>
        request(`<iq><query xmlns="${NS_ACTIVITY}"><activity>${buddies}</activity></query></iq>`, {
          ...LIMITS,
          maxCriteriaBuddies: 2,
        }),
      "policy-violation",
      /at most 2 buddies/,
    );
    assertRefused(
      () =>
        request(
          `<iq><query xmlns="${NS_ACTIVITY}"><activity id="${"x".repeat(9)}"/></query></iq>`,
          {
            ...LIMITS,
            maxIdLength: 8,
          },
        ),
      "policy-violation",
      /'id' is longer than 8/,
    );
    assertRefused(
      () =>
        request(
          `<iq><query xmlns="${NS_ACTIVITY}"><activity>
          <property type="str" name="t">${"x".repeat(20)}</property></activity></query></iq>`,
          {
            ...LIMITS,
            maxValueBytes: 10,
          },
        ),
      "policy-violation",
      /property "t": the value is longer than 10 bytes/,
    );
  });
});

/** The `<view/>` requests Gabble sends (tests/twisted/olpc/olpc-*-search.py). */
describe("Gabble's view requests", () => {
  test("random activities: <view id size><activity/></view>", () => {
    assert.deepEqual(
      request(`<iq type="get" to="gadget.localhost" id="q1">
        <view xmlns="${NS_ACTIVITY}" id="1" size="3"><activity/></view></iq>`),
      { kind: "activity-view", viewId: "1", size: 3, criteria: {}, random: true },
    );
  });

  test("activities by properties (view 2)", () => {
    assert.deepEqual(
      request(`<iq type="get"><view xmlns="${NS_ACTIVITY}" id="2" size="5"><activity>
        <properties xmlns="${NS_ACTIVITY_PROPS}"><property type="str" name="color">#AABBCC,#001122</property></properties>
        </activity></view></iq>`),
      {
        kind: "activity-view",
        viewId: "2",
        size: 5,
        criteria: { properties: [{ name: "color", type: "str", value: "#AABBCC,#001122" }] },
        random: false,
      },
    );
  });

  test("activities by participants (view 3) and by both (view 4)", () => {
    assert.deepEqual(
      request(`<iq type="get"><view xmlns="${NS_ACTIVITY}" id="3" size="5"><activity>
        <buddy jid="alice@localhost"/><buddy jid="bob@localhost"/></activity></view></iq>`),
      {
        kind: "activity-view",
        viewId: "3",
        size: 5,
        criteria: { participants: ["alice@localhost", "bob@localhost"] },
        random: false,
      },
    );
    const both = request(`<iq type="get"><view xmlns="${NS_ACTIVITY}" id="4" size="5"><activity>
      <properties xmlns="${NS_ACTIVITY_PROPS}"><property type="str" name="color">#AABBCC,#001122</property></properties>
      <buddy jid="alice@localhost"/><buddy jid="bob@localhost"/></activity></view></iq>`);
    assert.deepEqual(both.kind === "activity-view" && both.criteria, {
      participants: ["alice@localhost", "bob@localhost"],
      properties: [{ name: "color", type: "str", value: "#AABBCC,#001122" }],
    });
  });

  test("random buddies, by properties, by alias, by both (olpc-buddy-search.py)", () => {
    const view = (inner: string, size = "10") =>
      request(
        `<iq type="get"><view xmlns="${NS_BUDDY}" id="7" size="${size}">${inner}</view></iq>`,
      );
    assert.deepEqual(view("<buddy/>", "3"), {
      kind: "buddy-view",
      viewId: "7",
      size: 3,
      criteria: {},
      random: true,
    });
    const color = `<properties xmlns="${NS_BUDDY_PROPS}"><property type="str" name="color">#AABBCC,#001122</property></properties>`;
    assert.deepEqual(view(`<buddy>${color}</buddy>`), {
      kind: "buddy-view",
      viewId: "7",
      size: 10,
      criteria: { properties: [{ name: "color", type: "str", value: "#AABBCC,#001122" }] },
      random: false,
    });
    assert.deepEqual(view(`<buddy alias="tom"/>`), {
      kind: "buddy-view",
      viewId: "7",
      size: 10,
      criteria: { alias: "tom" },
      random: false,
    });
    assert.deepEqual(
      parseBuddyView(
        payloadOf(
          `<iq><view xmlns="${NS_BUDDY}" id="4" size="5"><buddy alias="jean">${color}</buddy></view></iq>`,
        ),
        LIMITS,
      ).criteria,
      { alias: "jean", properties: [{ name: "color", type: "str", value: "#AABBCC,#001122" }] },
    );
    assert.equal((view(`<buddy alias=" "/>`) as { random: boolean }).random, true, "blank alias");
  });

  test("2008 forms: <random max/> and a bare <view id size/> are random views", () => {
    assert.deepEqual(
      request(`<iq><view xmlns="${NS_BUDDY}" id="0"><random max="3"/></view></iq>`),
      {
        kind: "buddy-view",
        viewId: "0",
        size: 3,
        criteria: {},
        random: true,
      },
    );
    assert.deepEqual(request(`<iq><view xmlns="${NS_ACTIVITY}" id="0" size="1"/></iq>`), {
      kind: "activity-view",
      viewId: "0",
      size: 1,
      criteria: {},
      random: true,
    });
    const both = request(
      `<iq><view xmlns="${NS_ACTIVITY}" id="0" size="2"><random max="3"/></view></iq>`,
    );
    assert.equal(both.kind === "activity-view" && both.size, 2, "size wins over max");
  });

  test("size: over the limit refused, the limit when missing, 0 allowed", () => {
    const size = (attr: string) => {
      const parsed = request(
        `<iq><view xmlns="${NS_ACTIVITY}" id="1"${attr}><activity/></view></iq>`,
      );
      return parsed.kind === "activity-view" ? parsed.size : -1;
    };
    assertRefused(() => size(' size="1000"'), "policy-violation", /at most 20 items/);
    assert.equal(size(' size="20"'), 20);
    assert.equal(size(""), 20);
    assert.equal(size(' size="0"'), 0);
    assertRefused(() => size(' size="-1"'), "bad-request", /view 'size' must be a non-negative/);
    assertRefused(() => size(' size="many"'), "bad-request", /'many'/);
  });

  test("malformed views are bad-request", () => {
    assertRefused(
      () => request(`<iq><view xmlns="${NS_ACTIVITY}" size="3"><activity/></view></iq>`),
      "bad-request",
      /<view\/> needs the 'id'/,
    );
    assertRefused(
      () => request(`<iq><view xmlns="${NS_ACTIVITY}" id="" size="3"/></iq>`),
      "bad-request",
      /needs the 'id'/,
    );
    assertRefused(
      () => request(`<iq><view xmlns="${NS_ACTIVITY}" id="1"><activity/><activity/></view></iq>`),
      "bad-request",
      /a view takes one <activity\/>/,
    );
    assertRefused(
      () => request(`<iq><view xmlns="${NS_BUDDY}" id="1"><activity/></view></iq>`),
      "bad-request",
      /unexpected <activity\/> in <view\/>/,
    );
    assertRefused(
      () => request(`<iq><view xmlns="${NS_BUDDY}" id="1"><buddy><foo/></buddy></view></iq>`),
      "bad-request",
      /unexpected <foo\/> in <buddy\/>/,
    );
    assertRefused(
      () =>
        request(
          `<iq><view xmlns="${NS_ACTIVITY}" id="1"><activity><buddy jid="@x"/></activity></view></iq>`,
        ),
      "jid-malformed",
      /@x.* is not a valid JID/,
    );
    assertRefused(
      () => request(`<iq><view xmlns="${NS_ACTIVITY}" id="${"9".repeat(300)}"/></iq>`),
      "policy-violation",
      /'id' is longer than 256/,
    );
  });
});

describe("close", () => {
  test("Gabble's <message><close xmlns id/></message> for each kind of view", () => {
    const activity = parseXml(`<message to="gadget.localhost" from="test@localhost/Telepathy">
      <close xmlns="${NS_ACTIVITY}" id="1"/></message>`);
    assert.deepEqual(parseMessage(activity, LIMITS), [
      { kind: "close", target: "activity", viewId: "1" },
    ]);
    const buddy = payloadOf(`<message><close xmlns="${NS_BUDDY}" id="0"/></message>`);
    assert.deepEqual(parseClose(buddy, LIMITS), { kind: "close", target: "buddy", viewId: "0" });
  });

  test("a close without id, or in another namespace, is bad-request", () => {
    assertRefused(
      () => parseClose(payloadOf(`<message><close xmlns="${NS_BUDDY}"/></message>`), LIMITS),
      "bad-request",
      /<close\/> needs the 'id'/,
    );
    assertRefused(
      () => parseClose(payloadOf(`<message><close xmlns="urn:x" id="1"/></message>`), LIMITS),
      "bad-request",
      /expected <close/,
    );
  });
});
