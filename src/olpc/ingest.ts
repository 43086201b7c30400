import type { Element } from "@xmpp/xml";
import { StanzaError } from "../xmpp/stanza-error.js";
import type { OlpcLimits } from "./limits.js";
import type { ActivityRef } from "./model.js";
import {
  NS_ACTIVITY,
  NS_ACTIVITY_PROPS,
  NS_BUDDY,
  NS_MUC_USER,
  NS_PUBSUB_EVENT,
} from "./namespaces.js";
import {
  parseActivityProperties,
  parsePepEvent,
  type ActivityPropertiesUpdate,
  type PepUpdate,
} from "./pep.js";
import { parseClose, type CloseRequest } from "./requests.js";
import {
  checkLength,
  childrenWithNs,
  jidAttr,
  namespaceOf,
  optionalAttr,
  parseBareJid,
  requiredAttr,
  textOnly,
} from "./xml.js";

/** What laptops tell the index: PEP items, activity properties, draft joins, invitations. */

/** Draft: `<activity xmlns=NS_ACTIVITY activity|id|room><joined/>|<left/></activity>`. */
export interface DraftMembership {
  change: "joined" | "left";
  /** The activity id, from `activity` (as in the draft's own notifications) or `id`. */
  activity?: string;
  room?: string;
}

export interface MucInvite {
  /** The room's bare JID (the invitation's sender). */
  room: string;
  inviter?: string;
  reason?: string;
}

export type InboundItem =
  | CloseRequest
  | { kind: "activity-properties"; update: ActivityPropertiesUpdate }
  | { kind: "uninvite"; activity: ActivityRef }
  | ({ kind: "draft-membership" } & DraftMembership)
  | { kind: "pep"; update: PepUpdate }
  | { kind: "muc-invite"; invite: MucInvite };

/**
 * Everything the index understands in a `<message/>`, in document order; other children (body,
 * amp, delay…) are ignored. A groupchat `<properties/>` without `room` is about the room it
 * came from (olpc-muc-prop-change.py).
 */
export function parseMessage(message: Element, limits: OlpcLimits): InboundItem[] {
  const items: InboundItem[] = [];
  const sender = () => parseBareJid(requiredAttr(message, "from", 3071), "message 'from'");
  for (const { element, ns } of childrenWithNs(message, undefined)) {
    const key = `${ns ?? ""} ${element.name}`;
    if (key === `${NS_ACTIVITY} close` || key === `${NS_BUDDY} close`) {
      items.push(parseClose(element, limits));
    } else if (key === `${NS_ACTIVITY} activity`) {
      items.push({ kind: "draft-membership", ...parseDraftMembership(element, limits) });
    } else if (key === `${NS_ACTIVITY_PROPS} properties`) {
      const fallback = message.attrs.type === "groupchat" ? sender() : undefined;
      const update = parseActivityProperties(element, limits, fallback);
      items.push({ kind: "activity-properties", update });
    } else if (key === `${NS_ACTIVITY_PROPS} uninvite`) {
      items.push({ kind: "uninvite", activity: parseUninvite(element, limits) });
    } else if (key === `${NS_PUBSUB_EVENT} event`) {
      for (const update of parsePepEvent(element, limits)) items.push({ kind: "pep", update });
    } else if (key === `${NS_MUC_USER} x`) {
      const invite = parseMucInvite(element, sender());
      if (invite) items.push({ kind: "muc-invite", invite });
    }
  }
  return items;
}

/** `<uninvite xmlns=activity-properties id room/>`: an inviter withdrew an invitation. */
export function parseUninvite(uninvite: Element, limits: OlpcLimits): ActivityRef {
  return {
    id: requiredAttr(uninvite, "id", limits.maxIdLength),
    room: jidAttr(uninvite, "room"),
  };
}

/**
 * The draft's join/leave announcement. The draft's example names no activity; this reads it
 * from `activity` (or `id`) and/or `room`, and refuses one with neither. Who joined is the
 * stanza's sender, whatever a `jid` on `<joined/>` says.
 */
export function parseDraftMembership(activity: Element, limits: OlpcLimits): DraftMembership {
  const ns = namespaceOf(activity, undefined);
  const children = childrenWithNs(activity, ns);
  const [only] = children;
  if (
    children.length !== 1 ||
    only === undefined ||
    only.ns !== ns ||
    (only.element.name !== "joined" && only.element.name !== "left")
  ) {
    throw new StanzaError("bad-request", "<activity/> takes exactly one <joined/> or <left/>");
  }
  const membership: DraftMembership = { change: only.element.name };
  const id = optionalAttr(activity, "activity") || optionalAttr(activity, "id");
  if (id) {
    checkLength(activity, "activity", id, limits.maxIdLength);
    membership.activity = id;
  }
  if (optionalAttr(activity, "room")) membership.room = jidAttr(activity, "room");
  if (membership.activity === undefined && membership.room === undefined) {
    throw new StanzaError(
      "bad-request",
      "say which activity: an 'activity' (id) or 'room' attribute on <activity/>",
    );
  }
  return membership;
}

/** A mediated XEP-0045 invitation, sent by `room`; undefined when `<x/>` carries none. */
export function parseMucInvite(x: Element, room: string): MucInvite | undefined {
  const invite = childrenWithNs(x, NS_MUC_USER).find(
    ({ element, ns }) => element.name === "invite" && ns === NS_MUC_USER,
  )?.element;
  if (invite === undefined) return undefined;
  const result: MucInvite = { room };
  if (optionalAttr(invite, "from")) result.inviter = jidAttr(invite, "from");
  const reason = invite.getChild("reason");
  if (reason) result.reason = textOnly(reason, "<reason/>");
  return result;
}
