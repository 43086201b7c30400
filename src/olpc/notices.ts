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
import type { Watchers } from "./watchers.js";

export interface Notice {
  device: string;
  payload: Element;
}

/** What the notice planner reads about the world besides the event. */
export interface World {
  /** Activities that may be shown (not private). */
  visible(activity: Activity): boolean;
  online(jid: string): boolean;
  buddyProperties: BuddyProperties;
}

/**
 * Turns one index event into the notices each result set and view calls for, and keeps the
 * views' contents in step: a view gains what starts to match while it has room, and loses what
 * stops matching, closes or goes offline. Result sets (the draft) keep what they were given
 * and lose only what closes.
 */
export function plan(event: IndexEvent, watchers: Watchers, world: World): Notice[] {
  switch (event.kind) {
    case "activity-added":
    case "activity-changed":
      return [
        ...(event.kind === "activity-changed"
          ? activityPropertiesChanged(event.activity, watchers)
          : []),
        ...refreshActivityViews(event.activity, watchers, world),
      ];
    case "joined":
    case "left":
      return [
        ...membership(event.kind, event.activity, event.jid, watchers, world),
        ...refreshActivityViews(event.activity, watchers, world),
      ];
    case "activity-closed":
      return closed(event.activity, watchers);
    case "buddy-changed":
      return [
        ...buddyUpdated(event.buddy, event, watchers),
        ...refreshBuddyViews(event.buddy, watchers, world),
      ];
    case "buddy-removed":
      return buddyGone(event.jid, watchers);
  }
}

/** A buddy came online or went offline: views follow it; result sets lose it when it goes. */
export function planPresence(
  buddy: Buddy | undefined,
  jid: string,
  watchers: Watchers,
  world: World,
) {
  if (!world.online(jid)) return buddyGone(jid, watchers);
  return buddy ? refreshBuddyViews(buddy, watchers, world) : [];
}

function activityPropertiesChanged(activity: Activity, watchers: Watchers): Notice[] {
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
  watchers: Watchers,
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

function closed(activity: Activity, watchers: Watchers): Notice[] {
  return watchers.containing("activity", activity.id).map((watch) => {
    watchers.remove(watch, activity.id);
    return {
      device: watch.device,
      payload:
        watch.viewId === undefined
          ? draftActivityEvent(activity.id, { closed: true })
          : activitiesRemoved(watch.viewId, [activity]),
    };
  });
}

function refreshActivityViews(activity: Activity, watchers: Watchers, world: World): Notice[] {
  const notices: Notice[] = [];
  const shown = world.visible(activity);
  for (const view of watchers.views("activity")) {
    const viewId = view.viewId as string;
    const has = view.items.has(activity.id);
    const fits = shown && !view.random && matchActivity(activity, view.activityCriteria ?? {});
    if (has && !fits && !view.random) {
      watchers.remove(view, activity.id);
      notices.push({ device: view.device, payload: activitiesRemoved(viewId, [activity]) });
    } else if (!has && fits && view.items.size < view.size) {
      watchers.add(view, activity.id);
      const element = activityElement(activity, world.buddyProperties);
      notices.push({ device: view.device, payload: addedElement("activity", viewId, [element]) });
    }
  }
  return notices;
}

function buddyUpdated(
  buddy: Buddy,
  change: { properties: boolean; currentActivity: boolean },
  watchers: Watchers,
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

function refreshBuddyViews(buddy: Buddy, watchers: Watchers, world: World): Notice[] {
  const notices: Notice[] = [];
  const online = world.online(buddy.jid);
  for (const view of watchers.views("buddy")) {
    const viewId = view.viewId as string;
    const has = view.items.has(buddy.jid);
    const fits = online && !view.random && matchBuddy(buddy, view.buddyCriteria ?? {});
    if (has && !fits && !view.random) {
      watchers.remove(view, buddy.jid);
      notices.push({ device: view.device, payload: buddiesRemoved(viewId, [buddy.jid]) });
    } else if (!has && fits && view.items.size < view.size) {
      watchers.add(view, buddy.jid);
      notices.push({
        device: view.device,
        payload: addedElement("buddy", viewId, [buddyElement(buddy)]),
      });
    }
  }
  return notices;
}

function buddyGone(jid: string, watchers: Watchers): Notice[] {
  const notices: Notice[] = [];
  for (const watch of watchers.containing("buddy", jid)) {
    watchers.remove(watch, jid);
    if (watch.viewId !== undefined) {
      notices.push({ device: watch.device, payload: buddiesRemoved(watch.viewId, [jid]) });
    }
  }
  return notices;
}
