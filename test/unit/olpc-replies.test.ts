import assert from "node:assert/strict";
import { describe, test } from "node:test";
import xml, { Parser, type Element } from "@xmpp/xml";
import type { Activity } from "../../src/olpc/model.js";
import {
  NS_ACTIVITY,
  NS_ACTIVITY_PROPS,
  NS_AMP,
  NS_BUDDY,
  NS_BUDDY_PROPS,
  NS_CURRENT_ACTIVITY,
  NS_RSM,
} from "../../src/olpc/namespaces.js";
import type { Property } from "../../src/olpc/properties.js";
import {
  AMP_RULE,
  DEFAULT_LIMITS,
  activitiesRemoved,
  activityChanged,
  activityElement,
  addedElement,
  ampElement,
  bareBuddyResult,
  buddiesRemoved,
  buddyChanged,
  buddyElement,
  closeElement,
  currentActivityElement,
  draftActivityChanged,
  draftActivityEvent,
  membershipChanged,
  noticeMessage,
  parseClose,
  queryResult,
  viewResult,
} from "../../src/olpc/protocol.js";
import { serializedOnce } from "../../src/olpc/replies.js";

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

/**
 * A canonical form for comparing XML: attributes sorted, whitespace-only text dropped, child
 * elements sorted (Gabble reads children into sets and hash tables, so their order is free).
 */
function canon(node: Element | string): string {
  if (typeof node === "string") return node.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const attrs = Object.entries(node.attrs as Record<string, string>)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => ` ${key}="${value}"`)
    .join("");
  const children = node.children
    .filter((child) => typeof child !== "string" || child.trim() !== "")
    .map(canon)
    .sort();
  return `<${node.name}${attrs}>${children.join("")}</${node.name}>`;
}

function assertSameXml(ours: Element, expected: string) {
  assert.equal(canon(ours), canon(parseXml(expected)));
}

const str = (name: string, value: string): Property => ({ name, type: "str", value });
const AMP = `<amp xmlns="${NS_AMP}"><rule condition="deliver-at" value="stored" action="error"/></amp>`;

const buddyProps = new Map<string, Property[]>([
  ["lucien@localhost", [str("color", "#AABBCC,#CCBBAA")]],
  ["fernand@localhost", [str("color", "#AABBAA,#BBAABB")]],
]);
const lookup = (jid: string) => buddyProps.get(jid);

function activity(id: string, n: number, properties: Property[], participants: string[]): Activity {
  return { id, room: `room${n}@conference.localhost`, properties, participants };
}

describe("notices", () => {
  test("carry type=notice and the AMP rule Gabble's tests send", () => {
    assert.deepEqual(AMP_RULE, { condition: "deliver-at", value: "stored", action: "error" });
    assertSameXml(ampElement(), AMP);
    const message = noticeMessage(
      "gadget.localhost",
      "alice@localhost",
      closeElement("buddy", "1"),
    );
    assertSameXml(
      message,
      `<message from="gadget.localhost" to="alice@localhost" type="notice">
        <close xmlns="${NS_BUDDY}" id="1"/>${AMP}</message>`,
    );
    const several = noticeMessage(
      "g",
      "a@b",
      [closeElement("buddy", "1"), closeElement("activity", "2")],
      "headline",
    );
    assert.equal(several.attrs.type, "headline");
    assert.equal(several.children.length, 3);
    assert.equal((several.children.at(-1) as Element).name, "amp", "the rule comes last");
  });
});

describe("results, as Gabble's tests have the gadget answer", () => {
  test("random activity view (util.py send_reply_to_activity_view_request)", () => {
    const view = viewResult("activity", [
      activityElement(
        activity(
          "activity1",
          1,
          [str("color", "#005FE4,#00A0FF")],
          ["jean@localhost", "lucien@localhost"],
        ),
        lookup,
      ),
    ]);
    assertSameXml(
      view,
      `<view xmlns="${NS_ACTIVITY}">
        <activity room="room1@conference.localhost" id="activity1">
          <properties xmlns="${NS_ACTIVITY_PROPS}"><property type="str" name="color">#005FE4,#00A0FF</property></properties>
          <buddy jid="lucien@localhost"><properties xmlns="${NS_BUDDY_PROPS}"><property type="str" name="color">#AABBCC,#CCBBAA</property></properties></buddy>
          <buddy jid="jean@localhost"/>
        </activity></view>`,
    );
  });

  test("an activity with no properties and no participants is bare", () => {
    assertSameXml(
      activityElement(activity("activity3", 3, [], [])),
      `<activity room="room3@conference.localhost" id="activity3"/>`,
    );
  });

  test("buddy view and buddy lookup (olpc-buddy-search.py)", () => {
    const charles = { jid: "charles@localhost", properties: [str("color", "#AAAAAA,#BBBBBB")] };
    const bob = { jid: "bob@localhost", properties: [str("color", "#005FE4,#00A0FF")] };
    const colour = (value: string) =>
      `<properties xmlns="${NS_BUDDY_PROPS}"><property type="str" name="color">${value}</property></properties>`;
    assertSameXml(
      viewResult("buddy", [buddyElement(charles), buddyElement(bob)]),
      `<view xmlns="${NS_BUDDY}"><buddy jid="charles@localhost">${colour("#AAAAAA,#BBBBBB")}</buddy>
        <buddy jid="bob@localhost">${colour("#005FE4,#00A0FF")}</buddy></view>`,
    );
    assertSameXml(
      queryResult("buddy", [buddyElement(bob)]),
      `<query xmlns="${NS_BUDDY}"><buddy jid="bob@localhost">${colour("#005FE4,#00A0FF")}</buddy></query>`,
    );
    assertSameXml(
      bareBuddyResult(bob),
      `<buddy xmlns="${NS_BUDDY}" jid="bob@localhost">${colour("#005FE4,#00A0FF")}</buddy>`,
    );
    assertSameXml(
      buddyElement({ jid: "fred@localhost", properties: [] }),
      `<buddy jid="fred@localhost"/>`,
    );
  });

  test("a draft query result ends with the RSM set", () => {
    const result = queryResult("activity", [activityElement(activity("a", 1, [], []))], {
      first: { uid: "a", index: 0 },
      last: "a",
      count: 1,
    });
    assertSameXml(
      result,
      `<query xmlns="${NS_ACTIVITY}"><activity id="a" room="room1@conference.localhost"/>
        <set xmlns="${NS_RSM}"><first index="0">a</first><last>a</last><count>1</count></set></query>`,
    );
    assert.equal((result.children.at(-1) as Element).name, "set");
    assertSameXml(queryResult("buddy", []), `<query xmlns="${NS_BUDDY}"/>`);
  });
});

describe("view notifications, as Gabble's tests have the gadget send them", () => {
  test("activity added to view 1 (olpc-activity-search.py)", () => {
    const added = addedElement("activity", "1", [
      activityElement(
        activity(
          "activity4",
          4,
          [str("color", "#DDEEDD,#EEDDEE")],
          ["fernand@localhost", "jean@localhost"],
        ),
        lookup,
      ),
    ]);
    assertSameXml(
      noticeMessage("gadget.localhost", "alice@localhost", added),
      `<message from="gadget.localhost" to="alice@localhost" type="notice">${AMP}
        <added xmlns="${NS_ACTIVITY}" id="1">
          <activity id="activity4" room="room4@conference.localhost">
            <properties xmlns="${NS_ACTIVITY_PROPS}"><property type="str" name="color">#DDEEDD,#EEDDEE</property></properties>
            <buddy jid="fernand@localhost"><properties xmlns="${NS_BUDDY_PROPS}"><property type="str" name="color">#AABBAA,#BBAABB</property></properties></buddy>
            <buddy jid="jean@localhost"/>
          </activity></added></message>`,
    );
  });

  test("activity properties changed", () => {
    assertSameXml(
      activityChanged("1", {
        id: "activity1",
        room: "room1@conference.localhost",
        properties: [str("tags", "game"), str("color", "#AABBAA,#BBAABB")],
      }),
      `<change xmlns="${NS_ACTIVITY}" activity="activity1" room="room1@conference.localhost" id="1">
        <properties xmlns="${NS_ACTIVITY_PROPS}"><property type="str" name="tags">game</property>
        <property type="str" name="color">#AABBAA,#BBAABB</property></properties></change>`,
    );
  });

  test("Marcel joined, then left, activity 1", () => {
    assertSameXml(
      membershipChanged("1", "room1@conference.localhost", {
        joined: [{ jid: "marcel@localhost", properties: [str("color", "#CCCCCC,#DDDDDD")] }],
      }),
      `<activity xmlns="${NS_ACTIVITY}" room="room1@conference.localhost" view="1">
        <joined jid="marcel@localhost"><properties xmlns="${NS_BUDDY_PROPS}">
        <property type="str" name="color">#CCCCCC,#DDDDDD</property></properties></joined></activity>`,
    );
    assertSameXml(
      membershipChanged("1", "room1@conference.localhost", { left: ["marcel@localhost"] }),
      `<activity xmlns="${NS_ACTIVITY}" room="room1@conference.localhost" view="1"><left jid="marcel@localhost"/></activity>`,
    );
    assertSameXml(
      membershipChanged("1", "r@c", {
        joined: [{ jid: "a@b", properties: [] }],
        left: ["c@d", "e@f"],
      }),
      `<activity xmlns="${NS_ACTIVITY}" room="r@c" view="1"><joined jid="a@b"/><left jid="c@d"/><left jid="e@f"/></activity>`,
    );
  });

  test("activity removed from view 1", () => {
    assertSameXml(
      activitiesRemoved("1", [{ id: "activity1", room: "room1@conference.localhost" }]),
      `<removed xmlns="${NS_ACTIVITY}" id="1"><activity id="activity1" room="room1@conference.localhost"/></removed>`,
    );
  });

  test("buddy added to and removed from view 0", () => {
    assertSameXml(
      addedElement("buddy", "0", [
        buddyElement({ jid: "oscar@localhost", properties: [str("color", "#000000,#AAAAAA")] }),
      ]),
      `<added xmlns="${NS_BUDDY}" id="0"><buddy jid="oscar@localhost"><properties xmlns="${NS_BUDDY_PROPS}">
        <property type="str" name="color">#000000,#AAAAAA</property></properties></buddy></added>`,
    );
    assertSameXml(
      buddiesRemoved("0", ["bob@localhost"]),
      `<removed xmlns="${NS_BUDDY}" id="0"><buddy jid="bob@localhost"/></removed>`,
    );
  });

  test("buddy properties changed in view 0", () => {
    assertSameXml(
      buddyChanged("bob@localhost", { properties: [str("color", "#FFFFFF,#AAAAAA")] }, "0"),
      `<change xmlns="${NS_BUDDY}" jid="bob@localhost" id="0"><properties xmlns="${NS_BUDDY_PROPS}">
        <property type="str" name="color">#FFFFFF,#AAAAAA</property></properties></change>`,
    );
  });

  test("current activity changed: 'type' (current-activity.py) and 'id' (util.py) both set", () => {
    assertSameXml(
      buddyChanged(
        "bob@localhost",
        { currentActivity: { id: "activity3", room: "room3@conference.localhost" } },
        "0",
      ),
      `<change xmlns="${NS_BUDDY}" jid="bob@localhost" id="0">
        <activity xmlns="${NS_CURRENT_ACTIVITY}" type="activity3" id="activity3" room="room3@conference.localhost"/>
        </change>`,
    );
    assertSameXml(
      currentActivityElement(undefined),
      `<activity xmlns="${NS_CURRENT_ACTIVITY}" id="" type="" room=""/>`,
    );
    assertSameXml(
      buddyChanged("bob@localhost", { currentActivity: null }, "0"),
      `<change xmlns="${NS_BUDDY}" jid="bob@localhost" id="0">
        <activity xmlns="${NS_CURRENT_ACTIVITY}" id="" type="" room=""/></change>`,
    );
    assertSameXml(buddyChanged("a@b", {}), `<change xmlns="${NS_BUDDY}" jid="a@b"/>`);
  });

  test("<close/> round-trips through the parser", () => {
    for (const target of ["activity", "buddy"] as const) {
      assert.deepEqual(parseClose(closeElement(target, "5"), DEFAULT_LIMITS), {
        kind: "close",
        target,
        viewId: "5",
      });
    }
  });
});

/** The seed's notifications, `xmlns="..."` filled in and its typos (`abcde123""`) fixed. */
describe("the wiki draft's notifications", () => {
  test("change announcement", () => {
    assertSameXml(
      draftActivityChanged("abcde123", [str("tags", "news, france")]),
      `<change xmlns="${NS_ACTIVITY}">
         <properties xmlns="${NS_ACTIVITY_PROPS}" activity="abcde123">
           <property type="str" name="tags">news, france</property>
         </properties>
       </change>`,
    );
  });

  test("joined, left, closed", () => {
    assertSameXml(
      draftActivityEvent("abcde123", { joined: "bob@jabber.laptop.org" }),
      `<activity xmlns="${NS_ACTIVITY}" activity="abcde123"><joined jid="bob@jabber.laptop.org" /></activity>`,
    );
    assertSameXml(
      draftActivityEvent("abcde123", { left: "bob@jabber.laptop.org" }),
      `<activity xmlns="${NS_ACTIVITY}" activity="abcde123"><left jid="bob@jabber.laptop.org" /></activity>`,
    );
    assertSameXml(
      draftActivityEvent("abcde123", { closed: true }),
      `<activity xmlns="${NS_ACTIVITY}" activity="abcde123"><closed/></activity>`,
    );
  });

  test("buddy changed: the seed's <properties/> inherits its namespace, ours is buddy-properties", () => {
    assertSameXml(
      buddyChanged("bob@jabber.laptop.org", { properties: [str("color", "#005FE4,#00A0FF")] }),
      `<change xmlns="${NS_BUDDY}" jid="bob@jabber.laptop.org">
         <properties xmlns="${NS_BUDDY_PROPS}">
           <property type="str" name="color">#005FE4,#00A0FF</property>
         </properties>
       </change>`,
    );
  });

  test("the whole notice, as the seed shows it plus the AMP rule", () => {
    assertSameXml(
      noticeMessage(
        "index.jabber.laptop.org",
        "joe@jabber.laptop.org",
        draftActivityEvent("abcde123", { closed: true }),
      ),
      `<message type="notice" from="index.jabber.laptop.org" to="joe@jabber.laptop.org">
         <activity xmlns="${NS_ACTIVITY}" activity="abcde123"><closed/></activity>${AMP}
       </message>`,
    );
  });
});

describe("serializedOnce", () => {
  test("writes the same text as the element, inside a reply too, and keeps its tree", () => {
    const built = () =>
      xml("activity", { id: "a<&", room: "r@x" }, xml("buddy", { jid: "b@x" }, "t&"));
    const once = serializedOnce(built());
    assert.equal(once.toString(), built().toString());
    assert.equal(once.toString(), built().toString(), "the second write repeats the first");
    const reply = xml("query", { xmlns: "urn:x" }, once);
    assert.equal(reply.toString(), xml("query", { xmlns: "urn:x" }, built()).toString());
    assert.equal(once.getChild("buddy")?.attrs.jid, "b@x");
  });
});
