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
