/**
 * Which chat rooms have a call going on, from the heartbeats of the devices in the call. Pure: the
 * time is passed in (milliseconds), and the caller runs expire() at nextExpiry() on its own timer.
 *
 * A device is in a room's call while its last heartbeat there is less than `timeoutMs` old (a beat
 * at t counts while now < t + timeoutMs). The room is in a call while devices of at least two
 * distinct users (bare JIDs) are: two devices of one user do not make a call.
 *
 * Methods about one room (beat, hangUp) can report one change only, so they apply expiry to that
 * room alone; the flags of other rooms stay as last reported until expire() or dropDevice(), which
 * apply it everywhere. A `now` earlier than one seen before counts as the latest time seen.
 */

export interface CallChange {
  room: string;
  active: boolean;
}

interface Room {
  readonly name: string;
  readonly devices: Map<string, Beat>;
  /** How many of the room's devices each user has. */
  readonly users: Map<string, number>;
  /** The flag as last reported. */
  active: boolean;
}

/** The last heartbeat of one device in one room. */
interface Beat {
  readonly room: Room;
  readonly device: string;
  user: string;
  at: number;
}

export class InCallTracker {
  readonly #timeoutMs: number;
  /** Every beat, oldest first (a new beat moves to the end): expiry only looks at the front. */
  readonly #beats = new Set<Beat>();
  /** Only rooms with at least one beat. */
  readonly #rooms = new Map<string, Room>();
  readonly #roomsOfDevice = new Map<string, Set<Room>>();
  /** The latest time seen; keeps #beats in time order if the caller's clock steps back. */
  #clock = -Infinity;

  constructor(timeoutMs: number) {
    if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(`timeoutMs must be a positive finite number, got ${String(timeoutMs)}`);
    }
    this.#timeoutMs = timeoutMs;
  }

  /** A heartbeat from `device` (full JID) of `user` (bare JID) in `room` at `now`. */
  beat(room: string, user: string, device: string, now: number): CallChange | undefined {
    now = this.#tick(now);
    let state = this.#rooms.get(room);
    if (state) {
      this.#expireRoom(state, now);
    } else {
      state = { name: room, devices: new Map(), users: new Map(), active: false };
      this.#rooms.set(room, state);
    }
    const previous = state.devices.get(device);
    if (previous) {
      if (previous.user !== user) {
        removeUser(state, previous.user);
        addUser(state, user);
        previous.user = user;
      }
      previous.at = now;
      this.#beats.delete(previous);
      this.#beats.add(previous);
    } else {
      const beat: Beat = { room: state, device, user, at: now };
      state.devices.set(device, beat);
      addUser(state, user);
      this.#beats.add(beat);
      let rooms = this.#roomsOfDevice.get(device);
      if (!rooms) this.#roomsOfDevice.set(device, (rooms = new Set()));
      rooms.add(state);
    }
    return this.#evaluate(state);
  }

  /** The device says it left the call. */
  hangUp(room: string, device: string, now: number): CallChange | undefined {
    now = this.#tick(now);
    const state = this.#rooms.get(room);
    if (!state) return undefined;
    this.#expireRoom(state, now);
    const beat = state.devices.get(device);
    if (beat) this.#remove(beat);
    return this.#evaluate(state);
  }

  /** The device went offline: it leaves every room's call. */
  dropDevice(device: string, now: number): CallChange[] {
    now = this.#tick(now);
    const touched = this.#expireAll(now);
    for (const state of [...(this.#roomsOfDevice.get(device) ?? [])]) {
      const beat = state.devices.get(device);
      if (beat) this.#remove(beat);
      touched.add(state);
    }
    return this.#report(touched);
  }

  /** The room is gone: forget it; reports a change to inactive if it was active. */
  dropRoom(room: string): CallChange | undefined {
    const state = this.#rooms.get(room);
    if (!state) return undefined;
    for (const beat of state.devices.values()) this.#remove(beat);
    return this.#evaluate(state);
  }

  /** Forgets expired beats; returns the flag changes this causes. */
  expire(now: number): CallChange[] {
    return this.#report(this.#expireAll(this.#tick(now)));
  }

  /** The flag as last reported (not re-evaluated). */
  isActive(room: string): boolean {
    return this.#rooms.get(room)?.active ?? false;
  }

  /** The earliest time at which expire() can change anything, or undefined if nothing beats. */
  nextExpiry(): number | undefined {
    for (const beat of this.#beats) return beat.at + this.#timeoutMs;
    return undefined;
  }

  /** Rooms with at least one device, as of the last expiry (for tests and status). */
  rooms(): string[] {
    return [...this.#rooms.keys()].sort();
  }

  #tick(now: number): number {
    if (!Number.isFinite(now)) throw new RangeError(`now must be a finite number, got ${now}`);
    if (now > this.#clock) this.#clock = now;
    return this.#clock;
  }

  #expired(beat: Beat, now: number): boolean {
    return now >= beat.at + this.#timeoutMs;
  }

  #expireRoom(state: Room, now: number): void {
    for (const beat of state.devices.values()) {
      if (this.#expired(beat, now)) this.#remove(beat);
    }
  }

  /** Removes every expired beat; returns the rooms that lost one, to be evaluated. */
  #expireAll(now: number): Set<Room> {
    const touched = new Set<Room>();
    for (const beat of this.#beats) {
      if (!this.#expired(beat, now)) break;
      this.#remove(beat);
      touched.add(beat.room);
    }
    return touched;
  }

  /** Leaves the room in #rooms even if empty: #evaluate forgets it after reporting. */
  #remove(beat: Beat): void {
    const state = beat.room;
    state.devices.delete(beat.device);
    removeUser(state, beat.user);
    this.#beats.delete(beat);
    const rooms = this.#roomsOfDevice.get(beat.device);
    rooms?.delete(state);
    if (rooms?.size === 0) this.#roomsOfDevice.delete(beat.device);
  }

  /** Must follow every change to a room's beats. */
  #evaluate(state: Room): CallChange | undefined {
    const active = state.users.size >= 2;
    if (state.devices.size === 0) this.#rooms.delete(state.name);
    if (active === state.active) return undefined;
    state.active = active;
    return { room: state.name, active };
  }

  #report(rooms: Iterable<Room>): CallChange[] {
    const changes: CallChange[] = [];
    for (const state of rooms) {
      const change = this.#evaluate(state);
      if (change) changes.push(change);
    }
    // Code-unit order, not localeCompare: the same everywhere.
    return changes.sort((a, b) => (a.room < b.room ? -1 : a.room > b.room ? 1 : 0));
  }
}

function addUser(state: Room, user: string): void {
  state.users.set(user, (state.users.get(user) ?? 0) + 1);
}

function removeUser(state: Room, user: string): void {
  const count = state.users.get(user) ?? 0;
  if (count <= 1) state.users.delete(user);
  else state.users.set(user, count - 1);
}
