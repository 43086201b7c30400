import type { Element } from "@xmpp/xml";
import type { BareJid, FullJid } from "../xmpp/jid.js";
import type { MucRoom } from "../xmpp/muc.js";
import type { PresenceChange } from "./book.js";
import type { DeviceReport, Show } from "./rules.js";

/** Builds the stanza for one recipient address. */
export type Build = (to: string) => Element;

/** Stores a room's new in-call flag where its service keeps rooms (an unknown room: no-op). */
export type CallRecorder = (room: string, active: boolean) => Promise<void>;

/**
 * What services may know and do about presence: who is online, who may see whom, how to reach a
 * room, a user or a device, and the events that matter to them. Everything else (sessions per
 * device, the visibility table, the paced fan-out) stays inside src/presence/.
 */
export interface PresencePort {
  // ---- who is online ----
  /** The user's presence combined over their devices. */
  combined(user: BareJid): Show;

  // ---- who may see whom ----
  /** A group (a room): every member sees the others. `key` names it, e.g. the room's JID. */
  setGroup(key: string, members: Iterable<BareJid>): void;
  /** The group is gone: its members stop seeing each other (and are told). */
  forgetGroup(key: string): void;
  /** One more reason for `viewer` to see the targets of the one-way watch `key`. */
  addViewer(key: string, viewer: BareJid, targets: Iterable<BareJid>): void;
  removeViewer(key: string, viewer: BareJid): void;
  /** New targets for the viewers of `key`, if anyone views it. */
  setTargets(key: string, targets: Iterable<BareJid>): void;

  // ---- devices a service sees ----
  /** The occupants of a room we are in count as online devices while they are there. */
  followRoom(room: MucRoom): void;
  seenIn(source: string, device: FullJid, report: DeviceReport | "left"): void;
  sourceGone(source: string): void;
  /**
   * The service keeps something for this device though it may never send presence: it is
   * checked like the others, and onDeviceGone fires when it is gone.
   */
  track(device: FullJid): void;
  untrack(device: FullJid): void;

  // ---- addressing ----
  toDevice(device: string, build: Build): void;
  /** Every online device of every user (a headline, delivered once to each). */
  toUsers(users: Iterable<BareJid>, build: Build): void;
  /** Every online device of every member of a group. */
  toGroup(key: string, build: Build): void;
  /** The component's available presence to users a service knows (after a restart). */
  greet(users: Iterable<BareJid>): void;

  // ---- events ----
  onChange(listener: (change: PresenceChange) => void): void;
  /** A device is no longer online anywhere the component can see. */
  onDeviceGone(listener: (user: BareJid, device: FullJid) => void): void;
  /** A user subscribed to the component's presence, or ended the subscription. */
  onContact(listener: (user: BareJid, subscribed: boolean) => void): void;
  /** Records a room's in-call flag wherever a service keeps its rooms. */
  recordCalls(recorder: CallRecorder): void;
}
