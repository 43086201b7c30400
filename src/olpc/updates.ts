import xml, { type Element } from "@xmpp/xml";
import type { BareJid } from "../xmpp/jid.js";
import type { Inbound } from "../xmpp/stanza.js";
import type { ActivityIndex, IndexEvent } from "./index.js";
import { parseMessage, type InboundItem } from "./ingest.js";
import type { Inspector } from "./inspector.js";
import type { OlpcLimits } from "./limits.js";
import { NS_MUC_USER } from "./namespaces.js";
import type { PepUpdate } from "./pep.js";
import type { OlpcStore } from "./store.js";
import type { Watchers } from "./watchers.js";

export interface UpdateParts {
  index: ActivityIndex;
  watchers: Watchers;
  inspector: Inspector;
  store: OlpcStore;
  limits: OlpcLimits;
}

/**
 * What one message from a laptop, a PEP service or a room changes in the index, item by item:
 * `apply` gets each item's events before the next item is read.
 */
export async function ingestMessage(
  parts: UpdateParts,
  inbound: Inbound,
  apply: (events: IndexEvent[]) => Promise<void>,
): Promise<void> {
  // PEP events and invitations come from bare JIDs (an account, a room): no device there.
  const device = inbound.from.full;
  const single = xml("message", { ...inbound.stanza.attrs }, inbound.payload);
  for (const item of parseMessage(single, parts.limits)) {
    await apply(await ingestItem(parts, item, inbound.user, device, inbound.stanza));
  }
}

async function ingestItem(
  parts: UpdateParts,
  item: InboundItem,
  user: string,
  device: string,
  stanza: Element,
): Promise<IndexEvent[]> {
  const { index, watchers, inspector, store } = parts;
  switch (item.kind) {
    case "close": {
      watchers.close(device, item.target, item.viewId);
      return [];
    }
    case "activity-properties": {
      const { id, room, properties } = item.update;
      const from = stanza.attrs.type === "groupchat" ? undefined : user;
      return index.setActivityProperties({ id, room }, properties, from);
    }
    case "draft-membership": {
      const ref = {
        ...(item.activity !== undefined ? { id: item.activity } : {}),
        ...(item.room !== undefined ? { room: item.room } : {}),
      };
      return item.change === "joined" ? index.join(ref, user) : index.leave(ref, user);
    }
    case "pep":
      return ingestPep(index, item.update, user);
    case "muc-invite": {
      const password = stanza.getChild("x", NS_MUC_USER)?.getChildText("password") ?? undefined;
      inspector.join(item.invite.room as BareJid, password);
      await store.addRoom(item.invite.room, item.invite.inviter ?? user);
      return [];
    }
    case "uninvite":
      return [];
  }
}

async function ingestPep(
  index: ActivityIndex,
  update: PepUpdate,
  user: string,
): Promise<IndexEvent[]> {
  switch (update.kind) {
    case "buddy-properties":
      return index.updateBuddy(user, { properties: update.properties });
    case "current-activity":
      return index.updateBuddy(user, { currentActivity: update.currentActivity ?? null });
    case "nick":
      return update.nick === undefined ? [] : index.updateBuddy(user, { alias: update.nick });
    case "activities": {
      const events: IndexEvent[] = [];
      for (const ref of update.activities) events.push(...(await index.join(ref, user)));
      return events;
    }
    case "activity-properties": {
      const events: IndexEvent[] = [];
      for (const { id, room, properties } of update.activities) {
        events.push(...(await index.setActivityProperties({ id, room }, properties, user)));
      }
      return events;
    }
  }
}
