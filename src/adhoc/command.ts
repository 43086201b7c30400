import type { BareJid } from "../xmpp/jid.js";
import type { Form, Submission } from "./forms.js";

export type NoteType = "info" | "warn" | "error";

export interface Note {
  type: NoteType;
  text: string;
}

/** The actions a stage offers: XEP-0050's `next` (more stages follow) or `complete`. */
export type StageAction = "next" | "complete";

/**
 * What a command answers at each step: a form to fill in (the session goes on, carrying `state`
 * to the next step), or the end, with an optional result form and notes.
 */
export type Outcome<S> =
  | { status: "executing"; form: Form; actions: readonly StageAction[]; state: S; notes?: Note[] }
  | { status: "completed"; form?: Form; notes?: Note[] };

export interface Caller {
  /** The admin running the command (bare JID). */
  admin: BareJid;
}

/**
 * One admin command (XEP-0050). `start` answers `execute` on the command's node; `submit` gets
 * the form the admin filled in at the stage `state` came from. Both may throw FieldProblem (bad
 * input, the admin may correct it in the same session) or a StanzaError.
 */
export interface AdminCommand<S = unknown> {
  /** The command's node, e.g. `pool-status`. */
  node: string;
  /** What clients show in their list of commands. */
  name: string;
  start(caller: Caller): Outcome<S> | Promise<Outcome<S>>;
  submit(caller: Caller, form: Submission, state: S): Outcome<S> | Promise<Outcome<S>>;
}

/** Where services add their commands (only admins run them; see src/adhoc/registry.ts). */
export interface CommandRegistry {
  add<S>(command: AdminCommand<S>): void;
}

/** A finished command with one info note and no form. */
export function done(text: string, type: NoteType = "info"): Outcome<never> {
  return { status: "completed", notes: [{ type, text }] };
}
