import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Element } from "@xmpp/xml";
import type { IndexEvent } from "../../src/olpc/index.js";
import type { ActivityCriteria, BuddyCriteria } from "../../src/olpc/match.js";
import type { Activity, Buddy } from "../../src/olpc/model.js";
import { plan, planPresence, type Plan, type World } from "../../src/olpc/notices.js";
import type { Property } from "../../src/olpc/properties.js";
import {
  activitiesRemoved,
  activityChanged,
  activityElement,
  addedElement,
  buddiesRemoved,
  buddyChanged,
  buddyElement,
  draftActivityChanged,
  draftActivityEvent,
  membershipChanged,
} from "../../src/olpc/replies.js";
import type { ViewTarget } from "../../src/olpc/requests.js";
import { Watchers, type Watch } from "../../src/olpc/watchers.js";

const text = (element: Element) => element.toString();
const str = (name: string, value: string): Property => ({ name, type: "str", value });
const CHAT = str("type", "chat");
const DRAW = str("type", "draw");
const PRIVATE: Property = { name: "private", type: "bool", value: "1" };

function activity(id: string, properties: Property[] = [CHAT], participants = ["b@x"]): Activity {
  return { id, room: `${id}@muc.x`, properties, participants };
}

const BUDDY: Buddy = { jid: "b@x", properties: [str("color", "#fff")] };

/** Public unless PRIVATE; b@x and c@x are online; b@x has properties. */
function world(online = new Set(["b@x", "c@x"])): World {
  return {
    visible: (a) => !a.properties.includes(PRIVATE),
    online: (jid) => online.has(jid),
    buddyProperties: (jid) => (jid === BUDDY.jid ? BUDDY.properties : undefined),
  };
}

interface WatchOptions {
  viewId?: string;
  items?: string[];
  size?: number;
  random?: boolean;
  activityCriteria?: ActivityCriteria;
  buddyCriteria?: BuddyCriteria;
}

function open(watchers: Watchers, device: string, target: ViewTarget, options: WatchOptions) {
  const w: Watch = {
    device,
    viewer: device.slice(0, device.indexOf("/")),
    target,
    viewId: options.viewId,
    size: options.size ?? Number.POSITIVE_INFINITY,
    random: options.random ?? false,
    items: new Set(options.items ?? []),
    ...(options.activityCriteria ? { activityCriteria: options.activityCriteria } : {}),
    ...(options.buddyCriteria ? { buddyCriteria: options.buddyCriteria } : {}),
  };
  watchers.open(w);
  return w;
}

/** The plan as text: "device payload" per notice, "+/- device view item" per change. */
function show({ notices, changes }: Plan) {
  return {
    notices: notices.map(({ device, payload }) => `${device} ${payload.toString()}`),
    changes: changes.map(
      ({ watch, item, held }) => `${held ? "+" : "-"} ${watch.device} ${watch.viewId} ${item}`,
    ),
  };
}

/** Plans `event` and checks that planning left the watches untouched. */
function planned(event: IndexEvent, watchers: Watchers, w: World = world()) {
  const before = snapshot(watchers);
  const result = show(plan(event, watchers, w));
  assert.deepEqual(snapshot(watchers), before, "plan reads the watches, never changes them");
  return result;
}

function snapshot(watchers: Watchers) {
  return (["activity", "buddy"] as const).map((target) =>
    [...watchers.views(target)].map((w) => [w.device, w.viewId, [...w.items]]),
  );
}

describe("plan: activities", () => {
  test("a new activity enters the views it matches while they have room", () => {
    const watchers = new Watchers();
    const chats = { activityCriteria: { properties: [CHAT] } };
    open(watchers, "v@x/1", "activity", { viewId: "1", size: 5, ...chats });
    open(watchers, "v@x/2", "activity", { viewId: "2", size: 1, items: ["z"], ...chats });
    open(watchers, "v@x/3", "activity", { viewId: "3", size: 5, random: true });
    open(watchers, "v@x/4", "activity", { viewId: "4", size: 5, activityCriteria: { id: "q" } });
    open(watchers, "v@x/5", "activity", { items: ["z"], ...chats }); // a draft result set
    const added = activity("p");
    assert.deepEqual(planned({ kind: "activity-added", activity: added }, watchers), {
      notices: [
        `v@x/1 ${text(addedElement("activity", "1", [activityElement(added, world().buddyProperties)]))}`,
      ],
      changes: ["+ v@x/1 1 p"],
    });
  });

  test("a private activity enters no view", () => {
    const watchers = new Watchers();
    open(watchers, "v@x/1", "activity", { viewId: "1", size: 5, activityCriteria: {} });
    const hidden = activity("p", [CHAT, PRIVATE]);
    assert.deepEqual(planned({ kind: "activity-added", activity: hidden }, watchers), {
      notices: [],
      changes: [],
    });
  });

  test("changed properties reach every holder; views drop what stops matching", () => {
    const watchers = new Watchers();
    const chats = { activityCriteria: { properties: [CHAT] } };
    open(watchers, "d@x/1", "activity", { items: ["p"], ...chats });
    open(watchers, "v@x/1", "activity", { viewId: "1", size: 5, items: ["p"], ...chats });
    open(watchers, "v@x/2", "activity", { viewId: "2", size: 5, items: ["p"], random: true });
    open(watchers, "v@x/3", "activity", { viewId: "3", size: 5, activityCriteria: {} });
    const changed = activity("p", [DRAW]);
    const element = activityElement(changed, world().buddyProperties);
    assert.deepEqual(planned({ kind: "activity-changed", activity: changed }, watchers), {
      notices: [
        `d@x/1 ${text(draftActivityChanged("p", [DRAW]))}`,
        `v@x/1 ${text(activityChanged("1", changed))}`,
        `v@x/2 ${text(activityChanged("2", changed))}`,
        `v@x/1 ${text(activitiesRemoved("1", [changed]))}`,
        `v@x/3 ${text(addedElement("activity", "3", [element]))}`,
      ],
      changes: ["- v@x/1 1 p", "+ v@x/3 3 p"],
    });
  });

  test("an activity turning private leaves the views holding it (a random one keeps it)", () => {
    const watchers = new Watchers();
    open(watchers, "v@x/1", "activity", { viewId: "1", size: 5, items: ["p"] });
    open(watchers, "v@x/2", "activity", { viewId: "2", size: 5, items: ["p"], random: true });
    const hidden = activity("p", [CHAT, PRIVATE]);
    const { changes } = planned({ kind: "activity-changed", activity: hidden }, watchers);
    assert.deepEqual(changes, ["- v@x/1 1 p"]);
  });

  test("joins and leaves: draft events, view membership with the joiner's properties", () => {
    const watchers = new Watchers();
    open(watchers, "d@x/1", "activity", { items: ["p"] });
    open(watchers, "v@x/1", "activity", { viewId: "1", size: 5, items: ["p"] });
    const after = activity("p", [CHAT], ["b@x", "c@x"]);
    assert.deepEqual(planned({ kind: "joined", activity: after, jid: "b@x" }, watchers), {
      notices: [
        `d@x/1 ${text(draftActivityEvent("p", { joined: "b@x" }))}`,
        `v@x/1 ${text(membershipChanged("1", after.room, { joined: [BUDDY] }))}`,
      ],
      changes: [],
    });
    const unknown = planned({ kind: "joined", activity: after, jid: "c@x" }, watchers).notices[1];
    assert.equal(
      unknown,
      `v@x/1 ${text(membershipChanged("1", after.room, { joined: [{ jid: "c@x", properties: [] }] }))}`,
    );
    assert.deepEqual(planned({ kind: "left", activity: after, jid: "c@x" }, watchers), {
      notices: [
        `d@x/1 ${text(draftActivityEvent("p", { left: "c@x" }))}`,
        `v@x/1 ${text(membershipChanged("1", after.room, { left: ["c@x"] }))}`,
      ],
      changes: [],
    });
  });

  test("a join can bring an activity into a view that looks for its participants", () => {
    const watchers = new Watchers();
    const criteria = { activityCriteria: { participants: ["c@x"] } };
    open(watchers, "v@x/1", "activity", { viewId: "1", size: 5, ...criteria });
    const after = activity("p", [CHAT], ["b@x", "c@x"]);
    const { changes } = planned({ kind: "joined", activity: after, jid: "c@x" }, watchers);
    assert.deepEqual(changes, ["+ v@x/1 1 p"]);
    const before = activity("p", [CHAT], ["b@x"]);
    const holding = new Watchers();
    open(holding, "v@x/1", "activity", { viewId: "1", size: 5, items: ["p"], ...criteria });
    assert.deepEqual(
      planned({ kind: "left", activity: before, jid: "c@x" }, holding).changes,
      ["- v@x/1 1 p"],
      "and a leave takes it out again",
    );
  });

  test("a closed activity leaves every result set and view holding it", () => {
    const watchers = new Watchers();
    open(watchers, "d@x/1", "activity", { items: ["p", "q"] });
    open(watchers, "v@x/1", "activity", { viewId: "1", size: 5, items: ["p"], random: true });
    open(watchers, "v@x/2", "activity", { viewId: "2", size: 5, items: ["q"] });
    const gone = activity("p");
    assert.deepEqual(planned({ kind: "activity-closed", activity: gone }, watchers), {
      notices: [
        `d@x/1 ${text(draftActivityEvent("p", { closed: true }))}`,
        `v@x/1 ${text(activitiesRemoved("1", [gone]))}`,
      ],
      changes: ["- d@x/1 undefined p", "- v@x/1 1 p"],
    });
  });
});

describe("plan: buddies", () => {
  test("a buddy's change reaches its holders with what changed", () => {
    const watchers = new Watchers();
    open(watchers, "d@x/1", "buddy", { items: ["b@x"] });
    open(watchers, "v@x/1", "buddy", { viewId: "1", size: 5, items: ["b@x"], random: true });
    const current = { id: "p", room: "p@muc.x" };
    const changed: Buddy = { ...BUDDY, currentActivity: current };
    const event = (properties: boolean, currentActivity: boolean): IndexEvent => ({
      kind: "buddy-changed",
      buddy: changed,
      properties,
      currentActivity,
    });
    assert.deepEqual(planned(event(true, false), watchers).notices, [
      `d@x/1 ${text(buddyChanged("b@x", { properties: BUDDY.properties }))}`,
      `v@x/1 ${text(buddyChanged("b@x", { properties: BUDDY.properties }, "1"))}`,
    ]);
    assert.deepEqual(planned(event(false, true), watchers).notices, [
      `d@x/1 ${text(buddyChanged("b@x", { currentActivity: current }))}`,
      `v@x/1 ${text(buddyChanged("b@x", { currentActivity: current }, "1"))}`,
    ]);
    const left: IndexEvent = {
      kind: "buddy-changed",
      buddy: BUDDY,
      properties: false,
      currentActivity: true,
    };
    assert.deepEqual(planned(left, watchers).notices, [
      `d@x/1 ${text(buddyChanged("b@x", { currentActivity: null }))}`,
      `v@x/1 ${text(buddyChanged("b@x", { currentActivity: null }, "1"))}`,
    ]);
  });

  test("buddy views gain an online buddy that starts to match and lose one that stops", () => {
    const watchers = new Watchers();
    const colored = { buddyCriteria: { properties: [str("color", "#fff")] } };
    open(watchers, "v@x/1", "buddy", { viewId: "1", size: 5, ...colored });
    open(watchers, "v@x/2", "buddy", { viewId: "2", size: 0, ...colored });
    open(watchers, "v@x/3", "buddy", {
      viewId: "3",
      size: 5,
      items: ["b@x"],
      buddyCriteria: { alias: "zed" },
    });
    const event: IndexEvent = {
      kind: "buddy-changed",
      buddy: BUDDY,
      properties: true,
      currentActivity: false,
    };
    const { notices, changes } = planned(event, watchers);
    assert.deepEqual(notices.slice(-2), [
      `v@x/1 ${text(addedElement("buddy", "1", [buddyElement(BUDDY)]))}`,
      `v@x/3 ${text(buddiesRemoved("3", ["b@x"]))}`,
    ]);
    assert.deepEqual(changes, ["+ v@x/1 1 b@x", "- v@x/3 3 b@x"]);
  });

  test("an offline buddy enters no view", () => {
    const watchers = new Watchers();
    open(watchers, "v@x/1", "buddy", { viewId: "1", size: 5, buddyCriteria: {} });
    const event: IndexEvent = {
      kind: "buddy-changed",
      buddy: BUDDY,
      properties: true,
      currentActivity: false,
    };
    assert.deepEqual(planned(event, watchers, world(new Set())), { notices: [], changes: [] });
  });

  test("a removed buddy leaves every watch; only views are told", () => {
    const watchers = new Watchers();
    open(watchers, "d@x/1", "buddy", { items: ["b@x"] });
    open(watchers, "v@x/1", "buddy", { viewId: "1", size: 5, items: ["b@x"], random: true });
    assert.deepEqual(planned({ kind: "buddy-removed", jid: "b@x" }, watchers), {
      notices: [`v@x/1 ${text(buddiesRemoved("1", ["b@x"]))}`],
      changes: ["- d@x/1 undefined b@x", "- v@x/1 1 b@x"],
    });
  });
});

describe("planPresence", () => {
  test("offline: the buddy leaves every watch, as if removed", () => {
    const watchers = new Watchers();
    open(watchers, "d@x/1", "buddy", { items: ["b@x"] });
    open(watchers, "v@x/1", "buddy", { viewId: "1", size: 5, items: ["b@x"] });
    const plan = show(planPresence(BUDDY, "b@x", watchers, world(new Set())));
    assert.deepEqual(plan, {
      notices: [`v@x/1 ${text(buddiesRemoved("1", ["b@x"]))}`],
      changes: ["- d@x/1 undefined b@x", "- v@x/1 1 b@x"],
    });
  });

  test("online: views that match take the buddy; an unknown buddy changes nothing", () => {
    const watchers = new Watchers();
    open(watchers, "v@x/1", "buddy", { viewId: "1", size: 5, buddyCriteria: {} });
    assert.deepEqual(show(planPresence(BUDDY, "b@x", watchers, world())), {
      notices: [`v@x/1 ${text(addedElement("buddy", "1", [buddyElement(BUDDY)]))}`],
      changes: ["+ v@x/1 1 b@x"],
    });
    assert.deepEqual(show(planPresence(undefined, "c@x", watchers, world())), {
      notices: [],
      changes: [],
    });
  });
});
