import type { Field, Form, Submission } from "../adhoc/forms.js";
import { ROOM_STATUSES, type RoomStatus } from "./lifecycle.js";
import { targetAvailable, type PoolControl, type PoolLimits } from "./sizing.js";
import type { WaitingStaff } from "./store.js";

/** The room pool's admin forms: what they show and what they accept. Pure. */

export interface PoolSnapshot {
  /** Open rooms by status (a status with no room may be missing). */
  counts: ReadonlyMap<string, number>;
  /** Longest first. */
  waiting: readonly WaitingStaff[];
  control: PoolControl;
  limits: PoolLimits;
}

const OPEN_STATUSES = ROOM_STATUSES.filter(
  (s): s is Exclude<RoomStatus, "closed"> => s !== "closed",
);

/** A duration as people read it: "45 s", "12 min 5 s", "3 h 20 min". */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

/** "5 (the configuration's)" or "8 (set by admin@example.org; configured: 5)". */
export function targetText(control: PoolControl, limits: PoolLimits): string {
  const target = targetAvailable(control, limits);
  if (control.minAvailable === undefined) return `${target} (roompool.min_available)`;
  const by = control.changedBy ? ` by ${control.changedBy}` : "";
  return `${target} (set${by}; configured: ${limits.minAvailable})`;
}

const text = (varName: string, label: string, value: string): Field => ({
  type: "text-single",
  var: varName,
  label,
  values: [value],
});

export function statusForm(snapshot: PoolSnapshot, now: Date): Form {
  const { counts, waiting, control, limits } = snapshot;
  const open = [...counts.values()].reduce((sum, n) => sum + n, 0);
  const fields: Field[] = [
    text("draining", "Draining (no new rooms)", control.draining ? "yes" : "no"),
    text("target", "Ready rooms kept", targetText(control, limits)),
    text("open", "Open rooms", `${open} (at most ${limits.maxRooms})`),
    ...OPEN_STATUSES.map((status) => text(status, status, String(counts.get(status) ?? 0))),
  ];
  const oldest = waiting[0];
  fields.push(
    text(
      "oldest_waiting_staff",
      "Longest-waiting staff member",
      oldest
        ? `${oldest.staff_nick ?? oldest.staff_id ?? "?"} for ${duration(now.getTime() - oldest.since.getTime())} in ${oldest.room}`
        : "none",
    ),
  );
  const form: Form = { type: "result", title: "Room pool", fields };
  if (waiting.length === 0) return form;
  return {
    ...form,
    table: {
      columns: [
        { var: "staff", label: "Staff member" },
        { var: "waiting", label: "Waiting for" },
        { var: "room", label: "Room" },
      ],
      rows: waiting.map((w) => ({
        staff: w.staff_nick ?? w.staff_id ?? "?",
        waiting: duration(now.getTime() - w.since.getTime()),
        room: w.room,
      })),
    },
  };
}

export const RESIZE_FIELD = "min_available";

export function resizeForm(control: PoolControl, limits: PoolLimits): Form {
  return {
    type: "form",
    title: "Resize the room pool",
    instructions: [
      `Ready rooms kept now: ${targetText(control, limits)}.`,
      "The value is kept in the database and overrides roompool.min_available until it is reset " +
        "(leave the field empty). Lowering it closes no room: ready rooms are used up first.",
    ],
    fields: [
      {
        type: "text-single",
        var: RESIZE_FIELD,
        label: `Ready rooms to keep (0-${limits.maxRooms}; empty: the configuration's ${limits.minAvailable})`,
        values: control.minAvailable === undefined ? [] : [String(control.minAvailable)],
      },
    ],
  };
}

/** The new target, or null to go back to the configuration. */
export function parseResize(form: Submission, limits: PoolLimits): number | null {
  return form.optionalInteger(RESIZE_FIELD, 0, limits.maxRooms) ?? null;
}

export function resizedNote(target: number | null, limits: PoolLimits): string {
  return target === null
    ? `The pool keeps roompool.min_available (${limits.minAvailable}) ready rooms again.`
    : `The pool keeps ${target} ready rooms (until reset; configured: ${limits.minAvailable}).`;
}

/** The confirmation form of drain (`draining` true) and of its undo. */
export function drainForm(control: PoolControl, draining: boolean): Form {
  const now = control.draining
    ? "The pool is draining now: no room is made."
    : "The pool is not draining now: it keeps its ready rooms.";
  const then = draining
    ? "Drain: stop making rooms; rooms already open live on until their chats end, and ready " +
      "rooms can still be claimed. It stays so, across restarts, until the pool is resumed."
    : "Resume: make rooms again, up to the pool's target.";
  return {
    type: "form",
    title: draining ? "Drain the room pool" : "Resume the room pool",
    instructions: [now, then],
  };
}

export function drainedNote(
  wasDraining: boolean,
  draining: boolean,
): { type: "info" | "warn"; text: string } {
  if (wasDraining === draining) {
    return {
      type: "warn",
      text: draining ? "The pool was draining already." : "The pool was not draining.",
    };
  }
  return {
    type: "info",
    text: draining ? "The pool is draining: no room will be made." : "The pool makes rooms again.",
  };
}
