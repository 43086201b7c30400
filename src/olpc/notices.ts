import type { Element } from "@xmpp/xml";
import type { IndexEvent } from "./index.js";
import { matchActivity, matchBuddy } from "./match.js";
import type { Activity, Buddy } from "./model.js";
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
  type BuddyProperties,
} from "./replies.js";
import type { Watch, WatchChange, WatchLookup } from "./watchers.js";

export interface Notice {
  device: string;
  payload: Element;
}

/** What one event calls for: notices to send, then items that enter or leave watches. */
export interface Plan {
  notices: Notice[];
  changes: WatchChange[];
}

/** What the notice planner reads about the world besides the event. */
export interface World {
  /** Activities that may be shown (not private). */
  visible(activity: Activity): boolean;
  online(jid: string): boolean;
  buddyProperties: BuddyProperties;
}

/**
 * Turns one index event into the notices each result set and view calls for, and the changes
 * that keep the views' contents in step: a view gains what starts to match while it has room,
 * and loses what stops matching, closes or goes offline. Result sets (the draft) keep what they
 * were given and lose only what closes. Reads the watches as they are before the event; the
 * caller applies the changes.
 */
export function plan(event: IndexEvent, watchers: WatchLookup, world: World): Plan {
  switch (event.kind) {
    case "activity-added":
      return refreshActivityViews(event.activity, watchers, world);
    case "activity-changed":
      return join(
        noticesOnly(activityPropertiesChanged(event.activity, watchers)),
        refreshActivityViews(event.activity, watchers, world),
      );
    case "joined":
    case "left":
      return join(
        noticesOnly(membership(event.kind, event.activity, event.jid, watchers, world)),
        refreshActivityViews(event.activity, watchers, world),
      );
    case "activity-closed":
      return closed(event.activity, watchers);
    case "buddy-changed":
      return join(
        noticesOnly(buddyUpdated(event.buddy, event, watchers)),
        refreshBuddyViews(event.buddy, watchers, world),
      );
    case "buddy-removed":
      return buddyGone(event.jid, watchers);
  }
}

/** A buddy came online or went offline: views follow it; result sets lose it when it goes. */
export function planPresence(
  buddy: Buddy | undefined,
  jid: string,
  watchers: WatchLookup,
  world: World,
): Plan {
  if (!world.online(jid)) return buddyGone(jid, watchers);
  return buddy ? refreshBuddyViews(buddy, watchers, world) : EMPTY_PLAN;
}

const EMPTY_PLAN: Plan = { notices: [], changes: [] };

function noticesOnly(notices: Notice[]): Plan {
  return { notices, changes: [] };
}

function join(first: Plan, second: Plan): Plan {
  return {
    notices: [...first.notices, ...second.notices],
    changes: [...first.changes, ...second.changes],
  };
}

const entering = (watch: Watch, item: string): WatchChange => ({ watch, item, held: true });
const leaving = (watch: Watch, item: string): WatchChange => ({ watch, item, held: false });

function activityPropertiesChanged(activity: Activity, watchers: WatchLookup): Notice[] {
  return watchers.containing("activity", activity.id).map((watch) => ({
    device: watch.device,
    payload:
      watch.viewId === undefined
        ? draftActivityChanged(activity.id, activity.properties)
        : activityChanged(watch.viewId, activity),
  }));
}

function membership(
  kind: "joined" | "left",
  activity: Activity,
  jid: string,
  watchers: WatchLookup,
  world: World,
): Notice[] {
  return watchers.containing("activity", activity.id).map((watch) => {
    if (watch.viewId === undefined) {
      return {
        device: watch.device,
        payload: draftActivityEvent(
          activity.id,
          kind === "joined" ? { joined: jid } : { left: jid },
        ),
      };
    }
    const change =
      kind === "joined"
        ? { joined: [{ jid, properties: [...(world.buddyProperties(jid) ?? [])] }] }
        : { left: [jid] };
    return {
      device: watch.device,
      payload: membershipChanged(watch.viewId, activity.room, change),
    };
  });
}

function closed(activity: Activity, watchers: WatchLookup): Plan {
  const holding = watchers.containing("activity", activity.id);
  return {
    notices: holding.map((watch) => ({
      device: watch.device,
      payload:
        watch.viewId === undefined
          ? draftActivityEvent(activity.id, { closed: true })
          : activitiesRemoved(watch.viewId, [activity]),
    })),
    changes: holding.map((watch) => leaving(watch, activity.id)),
  };
}

function refreshActivityViews(activity: Activity, watchers: WatchLookup, world: World): Plan {
  const notices: Notice[] = [];
  const changes: WatchChange[] = [];
  const shown = world.visible(activity);
  for (const view of watchers.views("activity")) {
    const viewId = view.viewId as string;
    const has = view.items.has(activity.id);
    const fits = shown && !view.random && matchActivity(activity, view.activityCriteria ?? {});
    if (has && !fits && !view.random) {
      changes.push(leaving(view, activity.id));
      notices.push({ device: view.device, payload: activitiesRemoved(viewId, [activity]) });
    } else if (!has && fits && view.items.size < view.size) {
      changes.push(entering(view, activity.id));
      const element = activityElement(activity, world.buddyProperties);
      notices.push({ device: view.device, payload: addedElement("activity", viewId, [element]) });
    }
  }
  return { notices, changes };
}

function buddyUpdated(
  buddy: Buddy,
  change: { properties: boolean; currentActivity: boolean },
  watchers: WatchLookup,
): Notice[] {
  const what = {
    ...(change.properties ? { properties: buddy.properties } : {}),
    ...(change.currentActivity ? { currentActivity: buddy.currentActivity ?? null } : {}),
  };
  return watchers.containing("buddy", buddy.jid).map((watch) => ({
    device: watch.device,
    payload: buddyChanged(buddy.jid, what, watch.viewId),
  }));
}

function refreshBuddyViews(buddy: Buddy, watchers: WatchLookup, world: World): Plan {
  const notices: Notice[] = [];
  const changes: WatchChange[] = [];
  const online = world.online(buddy.jid);
  for (const view of watchers.views("buddy")) {
    const viewId = view.viewId as string;
    const has = view.items.has(buddy.jid);
    const fits = online && !view.random && matchBuddy(buddy, view.buddyCriteria ?? {});
    if (has && !fits && !view.random) {
      changes.push(leaving(view, buddy.jid));
      notices.push({ device: view.device, payload: buddiesRemoved(viewId, [buddy.jid]) });
    } else if (!has && fits && view.items.size < view.size) {
      changes.push(entering(view, buddy.jid));
      notices.push({
        device: view.device,
        payload: addedElement("buddy", viewId, [buddyElement(buddy)]),
      });
    }
  }
  return { notices, changes };
}

function buddyGone(jid: string, watchers: WatchLookup): Plan {
  const notices: Notice[] = [];
  const changes: WatchChange[] = [];
  for (const watch of watchers.containing("buddy", jid)) {
    changes.push(leaving(watch, jid));
    if (watch.viewId !== undefined) {
      notices.push({ device: watch.device, payload: buddiesRemoved(watch.viewId, [jid]) });
    }
  }
  return { notices, changes };
}
