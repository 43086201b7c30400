/** One query's full result, in order, and the set of its UIDs (what a result set holds). */
export interface CachedResult<T> {
  items: readonly T[];
  uids: ReadonlySet<string>;
}

/**
 * The last results of the most recent distinct queries, valid while the data they were computed
 * from has not changed (the same version). Repeating a query, or paging through it, then costs
 * no search, and its result set is the very same item set (which Watchers hands over for free).
 */
export class ResultCache<T> {
  readonly #entries = new Map<string, CachedResult<T>>();
  #version = Number.NaN;

  constructor(private readonly capacity: number) {}

  get(
    key: string,
    version: number,
    compute: () => readonly T[],
    uidOf: (item: T) => string,
  ): CachedResult<T> {
    if (version !== this.#version) {
      this.#entries.clear();
      this.#version = version;
    }
    const cached = this.#entries.get(key);
    if (cached) {
      // Most recently used last: the first entry is the one to drop.
      this.#entries.delete(key);
      this.#entries.set(key, cached);
      return cached;
    }
    const items = compute();
    const result = { items, uids: new Set(items.map(uidOf)) };
    if (this.#entries.size >= this.capacity) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, result);
    return result;
  }
}

/**
 * A value derived from an object (an activity's reply element), kept with the object while the
 * data it also reads (the buddies' properties) stays at the same version. Objects of the index
 * are replaced, never changed, so a changed activity is a new key.
 */
export class DerivedCache<K extends object, V> {
  readonly #values = new WeakMap<K, { version: number; value: V }>();

  get(key: K, version: number, derive: (key: K) => V): V {
    const kept = this.#values.get(key);
    if (kept?.version === version) return kept.value;
    const value = derive(key);
    this.#values.set(key, { version, value });
    return value;
  }
}
