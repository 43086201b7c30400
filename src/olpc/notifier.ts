import type { Logger } from "pino";
import type { PresencePort } from "../presence/port.js";
import type { BareJid } from "../xmpp/jid.js";
import type { ActivityIndex, IndexEvent } from "./index.js";
import type { Inspector } from "./inspector.js";
import type { Activity } from "./model.js";
import { plan, planPresence, type Plan, type World } from "./notices.js";
import { noticeMessage } from "./replies.js";
import type { OlpcStore } from "./store.js";
import type { Watchers } from "./watchers.js";

export interface NotifierParts {
  componentJid: string;
  index: ActivityIndex;
  watchers: Watchers;
  world: World;
  presence: PresencePort;
  inspector: Inspector;
  store: OlpcStore;
  log: Logger;
}

/** The presence relation that lets a watcher see the buddies of one item it watches. */
export const relationKey = (target: "activity" | "buddy", item: string) => `olpc ${target} ${item}`;

/**
 * Carries out what the index reports: each event's notice plan (sent, and its watch changes
 * applied), activity members' presence relations, and the activity rooms followed.
 */
export class Notifier {
  constructor(private readonly parts: NotifierParts) {}

  async apply(events: IndexEvent[]): Promise<void> {
    for (const event of events) this.#applyEvent(event);
    // Reading a new activity's room yields joins and leaves, never another new activity.
    for (const event of events) {
      if (event.kind !== "activity-added") continue;
      for (const joined of await this.#roomOccupants(event.activity)) this.#applyEvent(joined);
    }
  }

  /** A buddy came online or went offline. */
  presenceChanged(user: string): void {
    const { index, watchers, world } = this.parts;
    this.#carryOut(planPresence(index.buddies.get(user), user, watchers, world));
  }

  /** An activity's room is a presence group (its members see each other, may keep a call). */
  followRoom(activity: Activity, closed: boolean): void {
    const { presence, inspector, store, log } = this.parts;
    const room = activity.room as BareJid;
    const key = room || `olpc activity ${activity.id}`;
    if (!closed) return presence.setGroup(key, activity.participants as BareJid[]);
    presence.forgetGroup(key);
    if (inspector.has(room)) {
      inspector.leave(room);
      store.removeRoom(room).catch((error: unknown) => {
        log.warn({ err: (error as Error).message }, "could not forget the room");
      });
    }
  }

  #applyEvent(event: IndexEvent): void {
    const { watchers, world, presence } = this.parts;
    this.#carryOut(plan(event, watchers, world));
    if (event.kind === "joined" || event.kind === "left") {
      presence.setTargets(
        relationKey("activity", event.activity.id),
        event.activity.participants as BareJid[],
      );
    }
    if (event.kind !== "buddy-changed" && event.kind !== "buddy-removed") {
      this.followRoom(event.activity, event.kind === "activity-closed");
    }
  }

  #carryOut({ notices, changes }: Plan): void {
    const { componentJid, presence, watchers } = this.parts;
    for (const { device, payload } of notices) {
      presence.toDevice(device, (to) => noticeMessage(componentJid, to, payload));
    }
    watchers.apply(changes);
  }

  /** A new activity whose room we are in takes the room's occupants as its members. */
  async #roomOccupants(activity: Activity): Promise<IndexEvent[]> {
    const { index, inspector } = this.parts;
    const room = activity.room as BareJid;
    if (!inspector.tracks(room)) return [];
    return index.setParticipants(activity.id, inspector.participants(room));
  }
}
