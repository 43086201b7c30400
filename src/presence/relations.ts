/**
 * One reason for viewers to see targets: a room (everyone sees everyone) or a one-way watch.
 * Viewers are counted, so that several reasons of one service (two views of one client holding
 * the same activity) can join and leave a relation independently.
 */
interface Relation {
  viewers: Map<string, number>;
  targets: Set<string>;
}

/**
 * Who is entitled to see whose presence, as the union of every service's relations (a NEERC
 * room's members, the two people in a pool room, an OLPC result set's buddies). Users are bare
 * JIDs; nobody is counted as seeing themselves. Every change costs only what it changes: a
 * viewer joining costs its targets, a target joining costs the viewers.
 */
export class Relations {
  readonly #relations = new Map<string, Relation>();
  /** target → viewer → how many relations grant it. */
  readonly #viewersOf = new Map<string, Map<string, number>>();
  /** viewer → target → how many relations grant it. */
  readonly #targetsOf = new Map<string, Map<string, number>>();

  /** `onLost` hears of every pair that no relation grants any more (its viewer must be told). */
  constructor(private readonly onLost: (viewer: string, target: string) => void = () => {}) {}

  /** Sets relation `key`; returns the [viewer, target] pairs that no relation granted before. */
  set(key: string, viewers: Iterable<string>, targets: Iterable<string>): Array<[string, string]> {
    const relation = this.#relation(key);
    const nextViewers = new Set(viewers);
    for (const viewer of [...relation.viewers.keys()]) {
      if (!nextViewers.has(viewer)) this.#dropViewer(relation, viewer);
    }
    const gained = this.#setTargets(relation, new Set(targets));
    for (const viewer of nextViewers) {
      if (relation.viewers.has(viewer)) relation.viewers.set(viewer, 1);
      else gained.push(...this.#addViewer(relation, viewer));
    }
    return gained;
  }

  /** Sets a room: every member sees every other member. */
  setGroup(key: string, members: Iterable<string>): Array<[string, string]> {
    const set = [...members];
    return this.set(key, set, set);
  }

  /** Adds one reason for `viewer` to see the relation's targets (created with `targets`). */
  addViewer(key: string, viewer: string, targets: Iterable<string>): Array<[string, string]> {
    let relation = this.#relations.get(key);
    if (!relation) {
      relation = { viewers: new Map(), targets: new Set(targets) };
      this.#relations.set(key, relation);
    }
    const count = relation.viewers.get(viewer);
    if (count !== undefined) {
      relation.viewers.set(viewer, count + 1);
      return [];
    }
    return this.#addViewer(relation, viewer);
  }

  /** Takes one reason away; the relation goes when no viewer is left. */
  removeViewer(key: string, viewer: string): void {
    const relation = this.#relations.get(key);
    const count = relation?.viewers.get(viewer);
    if (!relation || count === undefined) return;
    if (count > 1) relation.viewers.set(viewer, count - 1);
    else this.#dropViewer(relation, viewer);
    this.#prune(key, relation);
  }

  /** New targets for an existing relation (no-op if there is none). */
  setTargets(key: string, targets: Iterable<string>): Array<[string, string]> {
    const relation = this.#relations.get(key);
    return relation ? this.#setTargets(relation, new Set(targets)) : [];
  }

  delete(key: string): void {
    const relation = this.#relations.get(key);
    if (!relation) return;
    for (const viewer of [...relation.viewers.keys()]) this.#dropViewer(relation, viewer);
    this.#relations.delete(key);
  }

  has(key: string): boolean {
    return this.#relations.has(key);
  }

  members(key: string): ReadonlySet<string> | undefined {
    return this.#relations.get(key)?.targets;
  }

  /** The relations that list `user` among their targets (the rooms a user is in). */
  *keysWithTarget(user: string): Generator<string> {
    for (const [key, relation] of this.#relations) if (relation.targets.has(user)) yield key;
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

  #relation(key: string): Relation {
    let relation = this.#relations.get(key);
    if (!relation)
      this.#relations.set(key, (relation = { viewers: new Map(), targets: new Set() }));
    return relation;
  }

  /** A relation built viewer by viewer goes with its last viewer (`set` ones stay until deleted). */
  #prune(key: string, relation: Relation): void {
    if (relation.viewers.size === 0) this.#relations.delete(key);
  }

  #addViewer(relation: Relation, viewer: string): Array<[string, string]> {
    relation.viewers.set(viewer, 1);
    const gained: Array<[string, string]> = [];
    for (const target of relation.targets)
      if (this.#grant(viewer, target)) gained.push([viewer, target]);
    return gained;
  }

  #dropViewer(relation: Relation, viewer: string): void {
    relation.viewers.delete(viewer);
    for (const target of relation.targets) this.#revoke(viewer, target);
  }

  #setTargets(relation: Relation, next: Set<string>): Array<[string, string]> {
    const gained: Array<[string, string]> = [];
    for (const target of next) {
      if (relation.targets.has(target)) continue;
      for (const viewer of relation.viewers.keys()) {
        if (this.#grant(viewer, target)) gained.push([viewer, target]);
      }
    }
    for (const target of relation.targets) {
      if (next.has(target)) continue;
      for (const viewer of relation.viewers.keys()) this.#revoke(viewer, target);
    }
    relation.targets = next;
    return gained;
  }

  /** Counts one more grant of the pair; true if it was not granted before. */
  #grant(viewer: string, target: string): boolean {
    if (viewer === target) return false;
    bump(this.#viewersOf, target, viewer, 1);
    return bump(this.#targetsOf, viewer, target, 1) === 1;
  }

  #revoke(viewer: string, target: string): void {
    if (viewer === target) return;
    bump(this.#viewersOf, target, viewer, -1);
    if (bump(this.#targetsOf, viewer, target, -1) === 0) this.onLost(viewer, target);
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
