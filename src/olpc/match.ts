import { compareActivities, compareBuddies, type Activity, type Buddy } from "./model.js";
import { findProperty, propertyEquals, type Property } from "./properties.js";

/**
 * Which activities and buddies a query or view selects. Every criterion given must hold (AND);
 * no criterion at all selects everything (a draft query) or a random sample (a view).
 */

export interface ActivityCriteria {
  /** The activity with this id (draft `<activity id/>`). */
  id?: string;
  /** Each of these is present with the same type and value. */
  properties?: readonly Property[];
  /**
   * Each of these bare JIDs takes part in the activity. Gabble's ActivityView spec only says
   * "activities in which the given buddies are participating"; all of them, like properties.
   */
  participants?: readonly string[];
}

export interface BuddyCriteria {
  /** The buddy with this bare JID. */
  jid?: string;
  /** Case-insensitive substring of the buddy's alias (see aliasOf). */
  alias?: string;
  properties?: readonly Property[];
}

/** Numbers in [0, 1), like Math.random; injected so that tests can replay a selection. */
export type RandomSource = () => number;

export function isEmptyActivityCriteria(criteria: ActivityCriteria): boolean {
  return (
    criteria.id === undefined && !criteria.properties?.length && !criteria.participants?.length
  );
}

export function isEmptyBuddyCriteria(criteria: BuddyCriteria): boolean {
  return criteria.jid === undefined && criteria.alias === undefined && !criteria.properties?.length;
}

/** Every wanted property is among `have` with the same type and value. */
export function hasProperties(have: readonly Property[], want: readonly Property[]): boolean {
  return want.every((wanted) => {
    const found = findProperty(have, wanted.name);
    return found !== undefined && propertyEquals(found, wanted);
  });
}

export function matchActivity(activity: Activity, criteria: ActivityCriteria): boolean {
  if (criteria.id !== undefined && activity.id !== criteria.id) return false;
  if (criteria.properties && !hasProperties(activity.properties, criteria.properties)) {
    return false;
  }
  if (criteria.participants) {
    const participants = new Set(activity.participants);
    if (!criteria.participants.every((jid) => participants.has(jid))) return false;
  }
  return true;
}

/** The matching activities, sorted by id (then room): RSM UIDs stay stable between pages. */
export function findActivities(
  activities: Iterable<Activity>,
  criteria: ActivityCriteria,
): Activity[] {
  return [...activities]
    .filter((activity) => matchActivity(activity, criteria))
    .sort(compareActivities);
}

/**
 * The name a buddy is searched by: its XEP-0172 nick (what Gabble publishes when Sugar sets the
 * alias), else a str property called "nick" (Sugar's name for it in the presence service).
 */
export function aliasOf(buddy: Buddy): string | undefined {
  if (buddy.alias !== undefined) return buddy.alias;
  const nick = findProperty(buddy.properties, "nick");
  return nick?.type === "str" ? nick.value : undefined;
}

/** Case- and normalisation-insensitive form used for alias search. */
export function foldAlias(text: string): string {
  return text.normalize("NFKC").toLowerCase();
}

export function matchBuddy(buddy: Buddy, criteria: BuddyCriteria): boolean {
  if (criteria.jid !== undefined && buddy.jid !== criteria.jid) return false;
  if (criteria.alias !== undefined) {
    const alias = aliasOf(buddy);
    if (alias === undefined || !foldAlias(alias).includes(foldAlias(criteria.alias))) {
      return false;
    }
  }
  if (criteria.properties && !hasProperties(buddy.properties, criteria.properties)) return false;
  return true;
}

/** The matching buddies, sorted by JID. */
export function findBuddies(buddies: Iterable<Buddy>, criteria: BuddyCriteria): Buddy[] {
  return [...buddies].filter((buddy) => matchBuddy(buddy, criteria)).sort(compareBuddies);
}

/**
 * Up to `n` distinct items chosen uniformly (a partial Fisher-Yates shuffle of a copy). The
 * same items and the same random numbers give the same choice.
 */
export function pickRandom<T>(items: readonly T[], n: number, random: RandomSource): T[] {
  const pool = [...items];
  const take = Math.max(0, Math.min(Math.floor(n), pool.length));
  for (let i = 0; i < take; i++) {
    const offset = Math.min(Math.floor(random() * (pool.length - i)), pool.length - i - 1);
    const j = i + Math.max(0, offset);
    const chosen = pool[j] as T;
    pool[j] = pool[i] as T;
    pool[i] = chosen;
  }
  return pool.slice(0, take);
}

/** A random view's activities: up to `n` of `activities`, returned sorted by id. */
export function randomActivities(
  activities: Iterable<Activity>,
  n: number,
  random: RandomSource,
): Activity[] {
  const all = [...activities].sort(compareActivities);
  return pickRandom(all, n, random).sort(compareActivities);
}

/** A random view's buddies: up to `n` of `buddies`, returned sorted by JID. */
export function randomBuddies(buddies: Iterable<Buddy>, n: number, random: RandomSource): Buddy[] {
  const all = [...buddies].sort(compareBuddies);
  return pickRandom(all, n, random).sort(compareBuddies);
}

/**
 * The one rule for whether an activity may be shown to others: unless its bool `private` is
 * true. The draft's own examples carry no `private` and are found by its queries, so a missing
 * (or non-bool) `private` is public; Sugar always sends the bool. (Gabble's stricter
 * activity_info_is_visible would hide the draft's examples.)
 */
export function isPublicActivity(activity: Pick<Activity, "properties">): boolean {
  const flag = findProperty(activity.properties, "private");
  return !(flag?.type === "bool" && flag.value === "1");
}
