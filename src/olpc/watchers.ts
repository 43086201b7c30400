import type { ActivityCriteria, BuddyCriteria } from "./match.js";
import type { ViewTarget } from "./requests.js";

/**
 * A result set (the draft: one per querier and kind, replaced by the next query) or a view
 * (Gabble: many per client, by id, until closed). Either belongs to one device and holds the ids
 * of the activities or the JIDs of the buddies it contains.
 */
export interface Watch {
  device: string;
  viewer: string;
  target: ViewTarget;
  /** The draft's result set, or a view with this id. */
  viewId: string | undefined;
  activityCriteria?: ActivityCriteria;
  buddyCriteria?: BuddyCriteria;
  /** Views only: the most items it may hold; a random view gets no new items. */
  size: number;
  random: boolean;
  /** May be shared with other watches (a cached result): Watchers copies it before a change. */
  items: ReadonlySet<string>;
}

const watchKey = (target: ViewTarget, viewId: string | undefined) =>
  viewId === undefined ? `draft ${target}` : `view ${target} ${viewId}`;

/** An item entering (`held`) or leaving a watch, as a notice plan asks. */
export interface WatchChange {
  watch: Watch;
  item: string;
  held: boolean;
}

/** What a notice plan reads: the watches holding an item, and every open view of a kind. */
export interface WatchLookup {
  containing(target: ViewTarget, item: string): Watch[];
  views(target: ViewTarget): Iterable<Watch>;
}

/** Told whenever a watch starts or stops holding an item (for presence visibility). */
export interface WatchHooks {
  linked(watch: Watch, item: string): void;
  unlinked(watch: Watch, item: string): void;
}

/** Every open result set and view, indexed by device and by the items they contain. */
export class Watchers implements WatchLookup {
  readonly #byDevice = new Map<string, Map<string, Watch>>();
  readonly #byItem: Record<ViewTarget, Map<string, Set<Watch>>> = {
    activity: new Map(),
    buddy: new Map(),
  };
  readonly #views: Record<ViewTarget, Set<Watch>> = { activity: new Set(), buddy: new Set() };
  /** Item sets this class made and alone holds: changed in place; any other is copied first. */
  readonly #owned = new WeakSet<ReadonlySet<string>>();

  constructor(private readonly hooks?: WatchHooks) {}

  /**
   * Opens a watch, replacing the device's watch of the same kind and id; returns the watch now
   * open. Items in both are handed over without unlinking (the same device, so the same viewer):
   * re-running a query or paging through it costs only what changed, and nothing when the new
   * watch holds the very same item set (a cached result): the open watch then takes the new
   * one's criteria and stays.
   */
  open(watch: Watch): Watch {
    let watches = this.#byDevice.get(watch.device);
    if (!watches) this.#byDevice.set(watch.device, (watches = new Map<string, Watch>()));
    const key = watchKey(watch.target, watch.viewId);
    const previous = watches.get(key);
    if (previous?.items === watch.items) return Object.assign(previous, watch);
    watches.set(key, watch);
    if (previous) {
      this.#views[previous.target].delete(previous);
      this.#handOver(previous, watch);
    }
    for (const item of watch.items) {
      if (previous?.items.has(item)) this.#index(watch, item);
      else this.#link(watch, item);
    }
    if (watch.viewId !== undefined) this.#views[watch.target].add(watch);
    return watch;
  }

  close(device: string, target: ViewTarget, viewId: string | undefined): Watch | undefined {
    const watches = this.#byDevice.get(device);
    const key = watchKey(target, viewId);
    const watch = watches?.get(key);
    if (!watches || !watch) return undefined;
    watches.delete(key);
    if (watches.size === 0) this.#byDevice.delete(device);
    this.#unindex(watch);
    return watch;
  }

  /** The device went offline: every watch it had is closed and returned. */
  dropDevice(device: string): Watch[] {
    const watches = [...(this.#byDevice.get(device)?.values() ?? [])];
    for (const watch of watches) this.close(device, watch.target, watch.viewId);
    return watches;
  }

  containing(target: ViewTarget, item: string): Watch[] {
    return [...(this.#holders(target, item) ?? [])];
  }

  /** Every open view of one kind (candidates for an item that starts to match). */
  views(target: ViewTarget): Iterable<Watch> {
    return this.#views[target];
  }

  add(watch: Watch, item: string): void {
    if (watch.items.has(item)) return;
    this.#ownItems(watch).add(item);
    this.#link(watch, item);
  }

  remove(watch: Watch, item: string): void {
    if (!watch.items.has(item)) return;
    this.#ownItems(watch).delete(item);
    this.#unlink(watch, item);
  }

  apply(changes: readonly WatchChange[]): void {
    for (const { watch, item, held } of changes) {
      if (held) this.add(watch, item);
      else this.remove(watch, item);
    }
  }

  get deviceCount(): number {
    return this.#byDevice.size;
  }

  #ownItems(watch: Watch): Set<string> {
    if (!this.#owned.has(watch.items)) {
      const copy = new Set(watch.items);
      this.#owned.add(copy);
      watch.items = copy;
    }
    return watch.items as Set<string>;
  }

  /** The previous watch's items that the new one does not hold are unlinked; the rest move. */
  #handOver(previous: Watch, next: Watch): void {
    for (const item of previous.items) {
      if (next.items.has(item)) this.#holders(previous.target, item)?.delete(previous);
      else this.#unlink(previous, item);
    }
  }

  #holders(target: ViewTarget, item: string): Set<Watch> | undefined {
    return this.#byItem[target].get(item);
  }

  #link(watch: Watch, item: string): void {
    this.#index(watch, item);
    this.hooks?.linked(watch, item);
  }

  #index(watch: Watch, item: string): void {
    const byItem = this.#byItem[watch.target];
    let set = byItem.get(item);
    if (!set) byItem.set(item, (set = new Set<Watch>()));
    set.add(watch);
  }

  #unlink(watch: Watch, item: string): void {
    const byItem = this.#byItem[watch.target];
    const set = byItem.get(item);
    set?.delete(watch);
    if (set?.size === 0) byItem.delete(item);
    this.hooks?.unlinked(watch, item);
  }

  #unindex(watch: Watch): void {
    for (const item of watch.items) this.#unlink(watch, item);
    this.#views[watch.target].delete(watch);
  }
}
