import xml, { Element } from "@xmpp/xml";
import type { Activity, ActivityRef, Buddy } from "./model.js";
import {
  NS_ACTIVITY,
  NS_ACTIVITY_PROPS,
  NS_AMP,
  NS_BUDDY,
  NS_BUDDY_PROPS,
  NS_CURRENT_ACTIVITY,
} from "./namespaces.js";
import { serializeProperties, type Property } from "./properties.js";
import type { ViewTarget } from "./requests.js";
import { serializeRsm, type RsmPage } from "./rsm.js";

/**
 * What the index sends: query and view results, view and draft notifications. Shapes are those
 * Gabble's Twisted tests send as "gadget" (tests/twisted/olpc/*.py); an empty property set is
 * left out, as those tests do.
 */

export type BuddyLike = Pick<Buddy, "jid" | "properties">;
/** The properties the index holds for a participant, if it knows the buddy. */
export type BuddyProperties = (jid: string) => readonly Property[] | undefined;

/** XEP-0079 rule on every notification: error rather than store offline. */
export const AMP_RULE = { condition: "deliver-at", value: "stored", action: "error" } as const;
/** Gabble accepts any type; "notice" is what the draft and Gabble's tests use. */
export const NOTICE_TYPE = "notice";

export function ampElement(): Element {
  return xml("amp", { xmlns: NS_AMP }, xml("rule", { ...AMP_RULE }));
}

/** `<message type=notice from to>payload…<amp><rule …/></amp></message>`. */
export function noticeMessage(
  from: string,
  to: string,
  payload: Element | readonly Element[],
  type: string = NOTICE_TYPE,
): Element {
  const payloads: readonly Element[] = payload instanceof Element ? [payload] : payload;
  return xml("message", { type, from, to }, ...payloads, ampElement());
}

/** `<properties xmlns=ns>…</properties>` in a list, or nothing when there are none. */
function propertiesIfAny(properties: readonly Property[], xmlns: string): Element[] {
  return properties.length > 0 ? [serializeProperties(properties, xmlns)] : [];
}

/** `<buddy jid>[<properties xmlns=buddy-properties/>]</buddy>` (or `<joined/>`, etc.). */
export function buddyElement(
  buddy: BuddyLike,
  name = "buddy",
  attrs: Record<string, string> = {},
): Element {
  return xml(
    name,
    { ...attrs, jid: buddy.jid },
    ...propertiesIfAny(buddy.properties, NS_BUDDY_PROPS),
  );
}

/** `<activity id room>[<properties xmlns=activity-properties/>]<buddy jid>…</buddy>…</activity>`. */
export function activityElement(
  activity: Activity,
  buddyProperties: BuddyProperties = () => undefined,
): Element {
  return xml(
    "activity",
    { id: activity.id, room: activity.room },
    ...propertiesIfAny(activity.properties, NS_ACTIVITY_PROPS),
    ...activity.participants.map((jid) =>
      buddyElement({ jid, properties: [...(buddyProperties(jid) ?? [])] }),
    ),
  );
}

/** Draft result: `<query xmlns>items…[<set xmlns=rsm/>]</query>`. */
export function queryResult(
  target: ViewTarget,
  items: readonly Element[],
  rsm?: Omit<RsmPage<unknown>, "items">,
): Element {
  const query = xml("query", { xmlns: namespaceOf(target) }, ...items);
  if (rsm) query.append(serializeRsm(rsm));
  return query;
}

/** The draft's bare-`<buddy/>` request is answered in kind: `<buddy xmlns=buddy jid>…`. */
export function bareBuddyResult(buddy: BuddyLike): Element {
  return buddyElement(buddy, "buddy", { xmlns: NS_BUDDY });
}

/** View result: `<view xmlns>items…</view>` (Gabble's tests answer with a bare `<view/>`). */
export function viewResult(target: ViewTarget, items: readonly Element[]): Element {
  return xml("view", { xmlns: namespaceOf(target) }, ...items);
}

/** `<added xmlns id=VIEW>items…</added>`: activities or buddies entering a view. */
export function addedElement(
  target: ViewTarget,
  viewId: string,
  items: readonly Element[],
): Element {
  return xml("added", { xmlns: namespaceOf(target), id: viewId }, ...items);
}

/** `<removed xmlns=activity id=VIEW><activity id room/>…` (also how a closed one leaves). */
export function activitiesRemoved(viewId: string, activities: readonly ActivityRef[]): Element {
  return xml(
    "removed",
    { xmlns: NS_ACTIVITY, id: viewId },
    ...activities.map((activity) => xml("activity", { id: activity.id, room: activity.room })),
  );
}

/** `<removed xmlns=buddy id=VIEW><buddy jid/>…</removed>`. */
export function buddiesRemoved(viewId: string, jids: readonly string[]): Element {
  return xml(
    "removed",
    { xmlns: NS_BUDDY, id: viewId },
    ...jids.map((jid) => xml("buddy", { jid })),
  );
}

/** `<change xmlns=activity activity=ID room=ROOM id=VIEW><properties …/></change>`. */
export function activityChanged(
  viewId: string,
  activity: ActivityRef & { properties: readonly Property[] },
): Element {
  return xml(
    "change",
    { xmlns: NS_ACTIVITY, activity: activity.id, room: activity.room, id: viewId },
    serializeProperties(activity.properties, NS_ACTIVITY_PROPS),
  );
}

/** `<activity xmlns=activity room view=VIEW><joined jid>[props]</joined><left jid/></activity>`. */
export function membershipChanged(
  viewId: string,
  room: string,
  change: { joined?: readonly BuddyLike[]; left?: readonly string[] },
): Element {
  return xml(
    "activity",
    { xmlns: NS_ACTIVITY, room, view: viewId },
    ...(change.joined ?? []).map((buddy) => buddyElement(buddy, "joined")),
    ...(change.left ?? []).map((jid) => xml("left", { jid })),
  );
}

/**
 * `<activity xmlns=current-activity id type room/>`: Gabble reads `type` (as in PEP) and falls
 * back to `id` (the gadget's spelling), so both carry the id; empty attributes mean "none".
 */
export function currentActivityElement(current: ActivityRef | undefined): Element {
  const id = current?.id ?? "";
  return xml("activity", { xmlns: NS_CURRENT_ACTIVITY, id, type: id, room: current?.room ?? "" });
}

/**
 * `<change xmlns=buddy jid [id=VIEW]>[<properties/>][<activity xmlns=current-activity/>]`. With
 * a view id it is the view notification; without, the draft's buddy change.
 */
export function buddyChanged(
  jid: string,
  change: { properties?: readonly Property[]; currentActivity?: ActivityRef | null },
  viewId?: string,
): Element {
  const element = xml("change", {
    xmlns: NS_BUDDY,
    jid,
    ...(viewId === undefined ? {} : { id: viewId }),
  });
  if (change.properties) element.append(serializeProperties(change.properties, NS_BUDDY_PROPS));
  if (change.currentActivity !== undefined) {
    element.append(currentActivityElement(change.currentActivity ?? undefined));
  }
  return element;
}

/** Draft: `<change xmlns=activity><properties xmlns=activity-properties activity=ID>…`. */
export function draftActivityChanged(activityId: string, properties: readonly Property[]): Element {
  return xml(
    "change",
    { xmlns: NS_ACTIVITY },
    serializeProperties(properties, NS_ACTIVITY_PROPS, { activity: activityId }),
  );
}

export type DraftActivityEvent = { joined: string } | { left: string } | { closed: true };

/** Draft: `<activity xmlns=activity activity=ID><joined jid/>|<left jid/>|<closed/></activity>`. */
export function draftActivityEvent(activityId: string, event: DraftActivityEvent): Element {
  const child =
    "joined" in event
      ? xml("joined", { jid: event.joined })
      : "left" in event
        ? xml("left", { jid: event.left })
        : xml("closed");
  return xml("activity", { xmlns: NS_ACTIVITY, activity: activityId }, child);
}

/** `<close xmlns id/>`, as a laptop sends it (for tests and clients). */
export function closeElement(target: ViewTarget, viewId: string): Element {
  return xml("close", { xmlns: namespaceOf(target), id: viewId });
}

function namespaceOf(target: ViewTarget): string {
  return target === "activity" ? NS_ACTIVITY : NS_BUDDY;
}

/**
 * The element with its serialization kept after the first write: for an element many replies
 * share and nobody changes (an activity as results list it), later writes repeat the text.
 */
export function serializedOnce(element: Element): Element {
  const writeTree = element.write.bind(element);
  let text: string | undefined;
  element.write = (writer) => {
    if (text === undefined) {
      let written = "";
      writeTree((part) => void (written += part));
      text = written;
    }
    writer(text);
  };
  return element;
}
