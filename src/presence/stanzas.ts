import xml, { type Element } from "@xmpp/xml";
import type { DeviceReport, Show } from "./rules.js";
import { NS_IDLE } from "../xmpp/namespaces.js";

export const NS_PRESENCE = "urn:concierge:presence:0";

export type PresenceEvent =
  | { kind: "available"; report: DeviceReport }
  | { kind: "unavailable" }
  | { kind: "error" }
  | { kind: "subscription"; type: "subscribe" | "subscribed" | "unsubscribe" | "unsubscribed" }
  | { kind: "probe" };

/** A status text is kept for admins to read: its start is enough. */
const MAX_STATUS_CHARS = 500;
const SHOW_VALUES = new Set(["chat", "away", "xa", "dnd"]);
const SUBSCRIPTION_TYPES = new Set(["subscribe", "subscribed", "unsubscribe", "unsubscribed"]);

/** What a presence stanza says about its sender's device; undefined for a type we ignore. */
export function readPresence(stanza: Element): PresenceEvent | undefined {
  const type = stanza.attrs.type as string | undefined;
  if (type === undefined) {
    const show = stanza.getChildText("show")?.trim();
    const status = stanza.getChildText("status")?.trim().slice(0, MAX_STATUS_CHARS);
    return {
      kind: "available",
      report: {
        // RFC 6121 allows only these four values; anything else reads as plain available.
        show:
          show !== undefined && SHOW_VALUES.has(show) ? (show as DeviceReport["show"]) : "online",
        idle: stanza.getChild("idle", NS_IDLE) !== undefined,
        ...(status ? { status } : {}),
      },
    };
  }
  if (type === "unavailable") return { kind: "unavailable" };
  if (type === "error") return { kind: "error" };
  if (type === "probe") return { kind: "probe" };
  if (SUBSCRIPTION_TYPES.has(type)) {
    return { kind: "subscription", type: type as "subscribe" };
  }
  return undefined;
}

/** XEP-0106 escaping, so that a bare JID can be the local part of a JID at the component. */
export function escapeLocal(value: string): string {
  return value.replace(
    /[ "&'/:<>@\\]/g,
    (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

export function unescapeLocal(value: string): string {
  return value.replace(/\\(20|22|26|27|2f|3a|3c|3e|40|5c)/g, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}

/** The address a user's combined presence comes from: `user\40domain@component`. */
export function mirrorJid(user: string, componentJid: string): string {
  return `${escapeLocal(user)}@${componentJid}`;
}

/**
 * A user's combined presence as sent to one device: from the user's mirror JID at the component,
 * with the real JID (and whether it is the recipient's own) in a small extension.
 */
export function combinedPresence(
  componentJid: string,
  user: string,
  show: Show,
  to: string,
  self: boolean,
): Element {
  const attrs: Record<string, string> = { from: mirrorJid(user, componentJid), to };
  if (show === "offline") attrs.type = "unavailable";
  const marker: Record<string, string> = { xmlns: NS_PRESENCE, jid: user, show };
  if (self) marker.self = "true";
  const children: Element[] = [];
  if (show !== "offline" && show !== "online") children.push(xml("show", {}, show));
  children.push(xml("x", marker));
  return xml("presence", attrs, ...children);
}

/** Error conditions that mean the addressed resource is not there any more. */
export const GONE = new Set([
  "recipient-unavailable",
  "service-unavailable",
  "item-not-found",
  "remote-server-not-found",
  "remote-server-timeout",
  "gone",
]);
