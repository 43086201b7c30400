import type { Element } from "@xmpp/xml";
import { StanzaError } from "../xmpp/stanza-error.js";
import type { OlpcLimits } from "./limits.js";
import type { ActivityRef } from "./model.js";
import {
  NS_ACTIVITIES,
  NS_ACTIVITY_PROPS,
  NS_BUDDY_PROPS,
  NS_CURRENT_ACTIVITY,
  NS_NICK,
  NS_PUBSUB_EVENT,
} from "./namespaces.js";
import { parseProperties, type Property } from "./properties.js";
import {
  checkLength,
  childrenWithNs,
  jidAttr,
  namespaceOf,
  optionalAttr,
  requiredAttr,
  textOnly,
} from "./xml.js";

/**
 * The PEP nodes a laptop publishes (docs/olpc.xml in Gabble), as they reach the index in
 * `<event xmlns=pubsub#event>` notifications or in the `<items/>` of a pubsub query result.
 */

/** `<properties xmlns=activity-properties activity room>`: the whole set, replacing the old. */
export interface ActivityPropertiesUpdate {
  id: string;
  room: string;
  properties: Property[];
}

/** Each PEP node's content after an event, a query result or a retraction ("cleared"). */
export type PepUpdate =
  | { kind: "buddy-properties"; properties: Property[] }
  | { kind: "current-activity"; currentActivity: ActivityRef | undefined }
  | { kind: "activities"; activities: ActivityRef[] }
  | { kind: "activity-properties"; activities: ActivityPropertiesUpdate[] }
  | { kind: "nick"; nick: string | undefined };

/** `<event xmlns=pubsub#event>`: items, retractions, purges and deletions of known nodes. */
export function parsePepEvent(event: Element, limits: OlpcLimits): PepUpdate[] {
  const updates: PepUpdate[] = [];
  for (const { element } of childrenWithNs(event, NS_PUBSUB_EVENT)) {
    if (element.name === "items") {
      const update = parsePepItems(element, limits);
      if (update) updates.push(update);
    } else if (element.name === "purge" || element.name === "delete") {
      const update = cleared(requiredAttr(element, "node", 3071));
      if (update) updates.push(update);
    }
  }
  return updates;
}

/**
 * `<items node>` of a PEP event or of a pubsub query result: the last item with a payload wins
 * (PEP nodes keep one item); only retractions clear the node. Unknown nodes, and items sent
 * without payload, give undefined.
 */
export function parsePepItems(items: Element, limits: OlpcLimits): PepUpdate | undefined {
  const node = requiredAttr(items, "node", 3071);
  let payload: Element | undefined;
  let retracted = false;
  for (const { element } of childrenWithNs(items, namespaceOf(items, undefined))) {
    if (element.name === "item") {
      const [first] = childrenWithNs(element, undefined);
      if (first) payload = first.element;
    } else if (element.name === "retract") {
      retracted = true;
    }
  }
  if (payload === undefined) return retracted ? cleared(node) : undefined;
  return parsePepPayload(node, payload, limits);
}

/** The payload of one item of `node`; undefined for a node the index does not follow. */
export function parsePepPayload(
  node: string,
  payload: Element,
  limits: OlpcLimits,
): PepUpdate | undefined {
  const ns = namespaceOf(payload, undefined);
  const expect = (name: string) => {
    if (payload.name !== name || ns !== node) {
      throw new StanzaError("bad-request", `a ${node} item holds <${name} xmlns='${node}'/>`);
    }
  };
  switch (node) {
    case NS_BUDDY_PROPS:
      expect("properties");
      return { kind: "buddy-properties", properties: parseProperties(payload, limits) };
    case NS_CURRENT_ACTIVITY:
      expect("activity");
      return { kind: "current-activity", currentActivity: parseCurrentActivity(payload, limits) };
    case NS_ACTIVITIES:
      expect("activities");
      return { kind: "activities", activities: listOf(payload, "activity", limits, activityRef) };
    case NS_ACTIVITY_PROPS:
      expect("activities");
      return {
        kind: "activity-properties",
        activities: listOf(payload, "properties", limits, parseActivityProperties),
      };
    case NS_NICK: {
      expect("nick");
      const nick = textOnly(payload, "<nick/>");
      checkLength(payload, "text", nick, limits.maxIdLength);
      return { kind: "nick", nick: nick === "" ? undefined : nick };
    }
    default:
      return undefined;
  }
}

/**
 * `<activity xmlns=current-activity type room/>`; the activity id is in `type` ("for historical
 * reasons", docs/olpc.xml), `id` is read when `type` is absent. Empty means none.
 */
export function parseCurrentActivity(
  activity: Element,
  limits: OlpcLimits,
): ActivityRef | undefined {
  const id = optionalAttr(activity, "type") ?? optionalAttr(activity, "id");
  if (!id || !optionalAttr(activity, "room")) return undefined;
  checkLength(activity, "type", id, limits.maxIdLength);
  return { id, room: jidAttr(activity, "room") };
}

function activityRef(activity: Element, limits: OlpcLimits): ActivityRef {
  return {
    id: requiredAttr(activity, "type", limits.maxIdLength),
    room: jidAttr(activity, "room"),
  };
}

function listOf<T>(
  parent: Element,
  name: string,
  limits: OlpcLimits,
  read: (element: Element, limits: OlpcLimits) => T,
): T[] {
  const ns = namespaceOf(parent, undefined);
  const children = childrenWithNs(parent, ns);
  if (children.length > limits.maxBuddyActivities) {
    throw new StanzaError(
      "policy-violation",
      `at most ${limits.maxBuddyActivities} activities per buddy, got ${children.length}`,
    );
  }
  return children.map(({ element, ns: childNs }) => {
    if (element.name !== name || childNs !== ns) {
      throw new StanzaError("bad-request", `unexpected <${element.name}/> in <${parent.name}/>`);
    }
    return read(element, limits);
  });
}

function cleared(node: string): PepUpdate | undefined {
  switch (node) {
    case NS_BUDDY_PROPS:
      return { kind: "buddy-properties", properties: [] };
    case NS_CURRENT_ACTIVITY:
      return { kind: "current-activity", currentActivity: undefined };
    case NS_ACTIVITIES:
      return { kind: "activities", activities: [] };
    case NS_ACTIVITY_PROPS:
      return { kind: "activity-properties", activities: [] };
    case NS_NICK:
      return { kind: "nick", nick: undefined };
    default:
      return undefined;
  }
}

/**
 * `<properties xmlns=activity-properties activity=ID room=JID>`: a pseudo-invitation, a room
 * broadcast (where `room` may be missing: `fallbackRoom` is the room it came from) or one entry
 * of the activity-properties PEP item.
 */
export function parseActivityProperties(
  properties: Element,
  limits: OlpcLimits,
  fallbackRoom?: string,
): ActivityPropertiesUpdate {
  const id = requiredAttr(properties, "activity", limits.maxIdLength);
  const room = optionalAttr(properties, "room")
    ? jidAttr(properties, "room")
    : (fallbackRoom ?? missing(properties, "room"));
  return { id, room, properties: parseProperties(properties, limits) };
}

function missing(element: Element, name: string): never {
  throw new StanzaError("bad-request", `<${element.name}/> needs the '${name}' attribute`);
}
