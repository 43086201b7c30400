/**
 * How many rooms the pool makes, from what is open and what the admins set (roompool_control):
 * a target set by an admin overrides the configured `min_available` until it is reset, and a
 * draining pool makes none. `max_rooms` bounds everything. Pure.
 */

export interface PoolControl {
  /** The admins' target of ready rooms; undefined: the configuration's `min_available`. */
  minAvailable: number | undefined;
  /** No room is made while draining; the open ones live on until their chats end. */
  draining: boolean;
  changedAt?: Date | undefined;
  changedBy?: string | undefined;
}

export const UNCONTROLLED: PoolControl = { minAvailable: undefined, draining: false };

export interface PoolLimits {
  minAvailable: number;
  maxRooms: number;
}

export interface PoolCounts {
  open: number;
  available: number;
}

/** The number of ready rooms the pool keeps (before draining, which makes it keep none). */
export function targetAvailable(control: PoolControl, limits: PoolLimits): number {
  return Math.min(control.minAvailable ?? limits.minAvailable, limits.maxRooms);
}

/** Rooms to make now: the shortfall of ready rooms, within `max_rooms` open; 0 while draining. */
export function roomsToCreate(
  counts: PoolCounts,
  control: PoolControl,
  limits: PoolLimits,
): number {
  if (control.draining) return 0;
  const shortfall = targetAvailable(control, limits) - counts.available;
  return Math.max(0, Math.min(shortfall, limits.maxRooms - counts.open));
}
