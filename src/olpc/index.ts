import { KeyedQueue } from "../keyed-queue.js";
import { sortedUnique, type Activity, type ActivityRef, type Buddy } from "./model.js";
import { propertiesEqual, type Property } from "./properties.js";
import type { OlpcStore } from "./store.js";

/** What changed in the index, for the watchers to turn into notifications. */
export type IndexEvent =
  | { kind: "activity-added"; activity: Activity }
  | { kind: "activity-changed"; activity: Activity }
  | { kind: "joined" | "left"; activity: Activity; jid: string }
  | { kind: "activity-closed"; activity: Activity }
  | { kind: "buddy-changed"; buddy: Buddy; properties: boolean; currentActivity: boolean }
  | { kind: "buddy-removed"; jid: string };

/**
 * The index: every buddy and open activity, in memory for queries and in Postgres as the source
 * of truth. Changes run one at a time (write to Postgres, then memory) and report what changed.
 */
export class ActivityIndex {
  readonly buddies = new Map<string, Buddy>();
  readonly activities = new Map<string, Activity>();
  readonly #byRoom = new Map<string, string>();
  /** property (name, type, value) → ids of the activities holding it. */
  readonly #byProperty = new Map<string, Set<string>>();
  readonly #queue = new KeyedQueue();
  #activitiesVersion = 0;
  #buddiesVersion = 0;

  constructor(private readonly store: OlpcStore) {}

  /** Reads the index from Postgres; changes asked for meanwhile wait for it (they queue behind). */
  load(): Promise<void> {
    return this.#queue.run("index", async () => {
      for (const buddy of await this.store.buddies()) this.buddies.set(buddy.jid, buddy);
      for (const activity of await this.store.activities()) this.#put(activity);
    });
  }

  /** Changes whenever any activity is added, changed or removed (results cached before are stale). */
  get activitiesVersion(): number {
    return this.#activitiesVersion;
  }

  /** Changes whenever any buddy is saved or removed. */
  get buddiesVersion(): number {
    return this.#buddiesVersion;
  }

  activityByRoom(room: string): Activity | undefined {
    const id = this.#byRoom.get(room);
    return id === undefined ? undefined : this.activities.get(id);
  }

  /** Waits for the changes under way (shutdown). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  // ---- buddies ----

  updateBuddy(
    jid: string,
    change: { properties?: Property[]; currentActivity?: ActivityRef | null; alias?: string },
  ): Promise<IndexEvent[]> {
    return this.#run(async () => {
      const before = this.buddies.get(jid);
      const after: Buddy = { jid, properties: before?.properties ?? [] };
      const properties = change.properties ?? before?.properties ?? [];
      after.properties = properties;
      const current =
        change.currentActivity === undefined ? before?.currentActivity : change.currentActivity;
      if (current) after.currentActivity = current;
      const alias = change.alias ?? before?.alias;
      if (alias !== undefined) after.alias = alias;
      const propertiesChanged = !propertiesEqual(before?.properties ?? [], after.properties);
      const currentChanged = !sameRef(before?.currentActivity, after.currentActivity);
      if (before && !propertiesChanged && !currentChanged && before.alias === after.alias)
        return [];
      await this.store.saveBuddy(after);
      this.buddies.set(jid, after);
      this.#buddiesVersion++;
      return [
        {
          kind: "buddy-changed",
          buddy: after,
          properties: propertiesChanged,
          currentActivity: currentChanged,
        },
      ];
    });
  }

  removeBuddy(jid: string): Promise<IndexEvent[]> {
    return this.#run(async () => {
      if (!this.buddies.has(jid)) return [];
      await this.store.deleteBuddy(jid);
      this.buddies.delete(jid);
      this.#buddiesVersion++;
      return [{ kind: "buddy-removed", jid }];
    });
  }

  // ---- activities ----

  /** New properties for an activity, created if unknown (with `sender` in it, if given). */
  setActivityProperties(
    ref: ActivityRef,
    properties: Property[],
    sender?: string,
  ): Promise<IndexEvent[]> {
    return this.#run(async () => {
      const before = this.activities.get(ref.id);
      if (before && propertiesEqual(before.properties, properties) && before.room === ref.room) {
        return [];
      }
      const participants = before?.participants ?? (sender ? [sender] : []);
      const after: Activity = { id: ref.id, room: ref.room, properties, participants };
      await this.store.saveActivity(after);
      this.#put(after);
      return [{ kind: before ? "activity-changed" : "activity-added", activity: after }];
    });
  }

  /** Who is in the activity now (a room's occupants, a join or a leave). */
  setParticipants(id: string, participants: Iterable<string>): Promise<IndexEvent[]> {
    return this.#run(() => this.#setParticipants(id, sortedUnique(participants)));
  }

  join(ref: { id?: string; room?: string }, jid: string): Promise<IndexEvent[]> {
    return this.#run(async () => {
      const activity = this.#find(ref);
      if (!activity) {
        if (ref.id === undefined) return [];
        const created: Activity = {
          id: ref.id,
          room: ref.room ?? "",
          properties: [],
          participants: [jid],
        };
        await this.store.saveActivity(created);
        this.#put(created);
        return [
          { kind: "activity-added", activity: created },
          { kind: "joined", activity: created, jid },
        ];
      }
      return this.#setParticipants(activity.id, sortedUnique([...activity.participants, jid]));
    });
  }

  leave(ref: { id?: string; room?: string }, jid: string): Promise<IndexEvent[]> {
    return this.#run(async () => {
      const activity = this.#find(ref);
      if (!activity) return [];
      return this.#setParticipants(
        activity.id,
        activity.participants.filter((p) => p !== jid),
      );
    });
  }

  /** The buddy left every activity (went offline). */
  leaveAll(jid: string): Promise<IndexEvent[]> {
    return this.#run(async () => {
      const events: IndexEvent[] = [];
      for (const activity of [...this.activities.values()]) {
        if (!activity.participants.includes(jid)) continue;
        const rest = activity.participants.filter((p) => p !== jid);
        events.push(...(await this.#setParticipants(activity.id, rest)));
      }
      return events;
    });
  }

  #find(ref: { id?: string; room?: string }): Activity | undefined {
    if (ref.id !== undefined) return this.activities.get(ref.id);
    return ref.room === undefined ? undefined : this.activityByRoom(ref.room);
  }

  async #setParticipants(id: string, participants: string[]): Promise<IndexEvent[]> {
    const before = this.activities.get(id);
    if (!before) return [];
    const joined = participants.filter((p) => !before.participants.includes(p));
    const left = before.participants.filter((p) => !participants.includes(p));
    if (joined.length === 0 && left.length === 0) return [];
    const after: Activity = { ...before, participants };
    if (participants.length === 0) {
      await this.store.deleteActivity(id);
      this.#remove(before);
    } else {
      await this.store.saveActivity(after);
      this.#put(after);
    }
    const events: IndexEvent[] = [
      ...joined.map((jid) => ({ kind: "joined" as const, activity: after, jid })),
      ...left.map((jid) => ({ kind: "left" as const, activity: after, jid })),
    ];
    if (participants.length === 0) events.push({ kind: "activity-closed", activity: before });
    return events;
  }

  /**
   * The activities that can match these properties: those holding the rarest of them (every
   * activity when none is given). A query then checks a few hundred activities, not thousands.
   */
  candidates(properties: readonly Property[] | undefined): Iterable<Activity> {
    if (!properties?.length) return this.activities.values();
    let rarest: Set<string> | undefined;
    for (const property of properties) {
      const ids = this.#byProperty.get(propertyKey(property));
      if (!ids) return [];
      if (!rarest || ids.size < rarest.size) rarest = ids;
    }
    return [...(rarest ?? [])].map((id) => this.activities.get(id) as Activity);
  }

  #put(activity: Activity): void {
    this.#activitiesVersion++;
    const previous = this.activities.get(activity.id);
    if (previous) this.#remove(previous);
    this.activities.set(activity.id, activity);
    if (activity.room !== "") this.#byRoom.set(activity.room, activity.id);
    for (const property of activity.properties) {
      const key = propertyKey(property);
      let ids = this.#byProperty.get(key);
      if (!ids) this.#byProperty.set(key, (ids = new Set<string>()));
      ids.add(activity.id);
    }
  }

  #remove(activity: Activity): void {
    this.#activitiesVersion++;
    this.activities.delete(activity.id);
    if (this.#byRoom.get(activity.room) === activity.id) this.#byRoom.delete(activity.room);
    for (const property of activity.properties) {
      const key = propertyKey(property);
      const ids = this.#byProperty.get(key);
      ids?.delete(activity.id);
      if (ids?.size === 0) this.#byProperty.delete(key);
    }
  }

  #run(task: () => Promise<IndexEvent[]>): Promise<IndexEvent[]> {
    return this.#queue.run("index", task);
  }
}

function propertyKey(property: Property): string {
  return `${property.type} ${property.name}\u0000${property.value}`;
}

function sameRef(a: ActivityRef | undefined, b: ActivityRef | undefined): boolean {
  return a?.id === b?.id && a?.room === b?.room;
}
