import type { Property } from "./properties.js";

/** What the index knows. Plain data: the service keeps it, the pure layer reads it. */

/** An activity as a buddy names it: its id and the MUC room it lives in. */
export interface ActivityRef {
  id: string;
  /** The room's bare JID. */
  room: string;
}

export interface Buddy {
  /** Bare JID. */
  jid: string;
  /** From the buddy-properties PEP node (color, key, ip4-address…), sorted by name. */
  properties: Property[];
  /** From the current-activity PEP node; absent when the buddy is in none. */
  currentActivity?: ActivityRef;
  /** The XEP-0172 nick (Sugar's alias), when the buddy published one. */
  alias?: string;
}

export interface Activity {
  id: string;
  /** The MUC room's bare JID. */
  room: string;
  /** Sorted by name. */
  properties: Property[];
  /** Bare JIDs of the buddies in it, sorted. */
  participants: string[];
}

/** The order every list of the index is kept in: UTF-16 code units, locale-free. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A sorted copy without duplicates. */
export function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareText);
}

/** Activities by id, then room (ids are meant to be unique; the room breaks any tie). */
export function compareActivities(a: ActivityRef, b: ActivityRef): number {
  return compareText(a.id, b.id) || compareText(a.room, b.room);
}

export function compareBuddies(a: Pick<Buddy, "jid">, b: Pick<Buddy, "jid">): number {
  return compareText(a.jid, b.jid);
}
