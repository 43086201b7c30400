/**
 * Namespaces of the OLPC activity/buddy index ("Gadget") and of the XEPs it leans on. The values
 * are those of Telepathy Gabble (`src/namespaces.h`) and of its Twisted tests; see WIRE.md.
 */
import { NS_NICK } from "../xmpp/namespaces.js";

/** Activity search, views, notifications (`<query>`, `<view>`, `<close>`, `<added>`…). */
export const NS_ACTIVITY = "http://laptop.org/xmpp/activity";
/** Buddy search, views, notifications. */
export const NS_BUDDY = "http://laptop.org/xmpp/buddy";
/** `<properties>` of an activity; also a PEP node, a pseudo-invitation and `<uninvite>`. */
export const NS_ACTIVITY_PROPS = "http://laptop.org/xmpp/activity-properties";
/** `<properties>` of a buddy; also a PEP node. */
export const NS_BUDDY_PROPS = "http://laptop.org/xmpp/buddy-properties";
/** `<activity type room/>` naming a buddy's current activity; also a PEP node. */
export const NS_CURRENT_ACTIVITY = "http://laptop.org/xmpp/current-activity";
/** `<activities><activity type room/>…</activities>`: the public activities a buddy is in (PEP). */
export const NS_ACTIVITIES = "http://laptop.org/xmpp/activities";

/** The XEPs' namespaces live with the others in src/xmpp/namespaces.ts. */
export {
  NS_AMP,
  NS_MUC_USER,
  NS_NICK,
  NS_PUBSUB,
  NS_PUBSUB_EVENT,
  NS_RSM,
} from "../xmpp/namespaces.js";

/** PEP nodes a laptop publishes; each node is named after its payload's namespace. */
export const PEP_NODE_BUDDY_PROPS = NS_BUDDY_PROPS;
export const PEP_NODE_CURRENT_ACTIVITY = NS_CURRENT_ACTIVITY;
export const PEP_NODE_ACTIVITIES = NS_ACTIVITIES;
export const PEP_NODE_ACTIVITY_PROPS = NS_ACTIVITY_PROPS;
export const PEP_NODE_NICK = NS_NICK;

export const PEP_NODES = [
  PEP_NODE_BUDDY_PROPS,
  PEP_NODE_CURRENT_ACTIVITY,
  PEP_NODE_ACTIVITIES,
  PEP_NODE_ACTIVITY_PROPS,
  PEP_NODE_NICK,
] as const;
export type PepNode = (typeof PEP_NODES)[number];

/** XEP-0163 §4: the feature an entity advertises to receive notifications for `node`. */
export function notifyFeature(node: string): string {
  return `${node}+notify`;
}

/** What Gabble looks for in the server's disco#items/#info to find the index. */
export const GADGET_IDENTITY = {
  category: "collaboration",
  type: "gadget",
  name: "OLPC Gadget",
} as const;
export const GADGET_FEATURES = [NS_BUDDY, NS_ACTIVITY] as const;

/** The nick the index joins an activity's room with (gadget-invite.py). */
export const INSPECTOR_NICK = "inspector";
