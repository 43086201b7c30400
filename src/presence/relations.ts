/** One reason for viewers to see targets: a room (everyone sees everyone) or a one-way watch. */
interface Relation {
  viewers: ReadonlySet<string>;
  targets: ReadonlySet<string>;
}

/**
 * Who is entitled to see whose presence, as the union of every service's relations (a NEERC
 * room's members, the two people in a pool room, an OLPC result set's buddies). Users are bare
 * JIDs; nobody is counted as seeing themselves.
 */
export class Relations {
  readonly #relations = new Map<string, Relation>();
  /** target → viewer → how many relations grant it. */
  readonly #viewersOf = new Map<string, Map<string, number>>();
  /** viewer → target → how many relations grant it. */
  readonly #targetsOf = new Map<string, Map<string, number>>();

  /** Sets relation `key`; returns the [viewer, target] pairs that no relation granted before. */
  set(key: string, viewers: Iterable<string>, targets: Iterable<string>): Array<[string, string]> {
    const previous = this.#relations.get(key);
    const next = { viewers: new Set(viewers), targets: new Set(targets) };
    this.#relations.set(key, next);
    // Adding before removing keeps pairs granted by both versions from ever dropping to zero.
    const gained = this.#add(next);
    if (previous) this.#remove(previous);
    return gained;
  }

  /** Sets a room: every member sees every other member. */
  setGroup(key: string, members: Iterable<string>): Array<[string, string]> {
    const set = [...members];
    return this.set(key, set, set);
  }

  delete(key: string): void {
    const previous = this.#relations.get(key);
    if (!previous) return;
    this.#relations.delete(key);
    this.#remove(previous);
  }

  has(key: string): boolean {
    return this.#relations.has(key);
  }

  members(key: string): ReadonlySet<string> | undefined {
    return this.#relations.get(key)?.targets;
  }

  viewersOf(target: string): Iterable<string> {
    return this.#viewersOf.get(target)?.keys() ?? [];
  }

  visibleTo(viewer: string): Iterable<string> {
    return this.#targetsOf.get(viewer)?.keys() ?? [];
  }

  sees(viewer: string, target: string): boolean {
    return this.#targetsOf.get(viewer)?.has(target) ?? false;
  }

  /** Returns the pairs whose count went from 0 to 1. */
  #add(relation: Relation): Array<[string, string]> {
    const gained: Array<[string, string]> = [];
    for (const viewer of relation.viewers) {
      for (const target of relation.targets) {
        if (viewer === target) continue;
        if (bump(this.#targetsOf, viewer, target, 1) === 1) gained.push([viewer, target]);
        bump(this.#viewersOf, target, viewer, 1);
      }
    }
    return gained;
  }

  #remove(relation: Relation): void {
    for (const viewer of relation.viewers) {
      for (const target of relation.targets) {
        if (viewer === target) continue;
        bump(this.#targetsOf, viewer, target, -1);
        bump(this.#viewersOf, target, viewer, -1);
      }
    }
  }
}

function bump(index: Map<string, Map<string, number>>, a: string, b: string, by: 1 | -1): number {
  let inner = index.get(a);
  if (!inner) index.set(a, (inner = new Map<string, number>()));
  const count = (inner.get(b) ?? 0) + by;
  if (count > 0) inner.set(b, count);
  else inner.delete(b);
  if (inner.size === 0) index.delete(a);
  return count;
}
