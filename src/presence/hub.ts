import { EventEmitter } from "node:events";
import xml from "@xmpp/xml";
import type { Logger } from "pino";
import { capsElement, capsVer } from "../xmpp/caps.js";
import { bareOf, parseJid, type BareJid, type FullJid } from "../xmpp/jid.js";
import type { MucRoom } from "../xmpp/muc.js";
import { NS_MUC_USER } from "../xmpp/namespaces.js";
import type { Router } from "../xmpp/router.js";
import type { Inbound } from "../xmpp/stanza.js";
import { DIRECT, SessionBook, type DeviceView, type PresenceChange } from "./book.js";
import type { ContactStore } from "./contacts.js";
import { Outbox, type Wire } from "./outbox.js";
import type { Build } from "./port.js";
import { Relations } from "./relations.js";
import type { DeviceReport, Show } from "./rules.js";
import { GONE, NS_PRESENCE, combinedPresence, readPresence, unescapeLocal } from "./stanzas.js";

interface HubEvents {
  change: [PresenceChange];
  deviceGone: [user: BareJid, device: FullJid];
  contact: [user: BareJid, subscribed: boolean];
  /** A device sent its first presence and got its first batch (the in-call flags follow it). */
  listener: [user: BareJid, device: FullJid];
  /** A group or watch is forgotten (emitted just before, so listeners still see its members). */
  forgotten: [key: string];
}

export interface PresenceHubOptions {
  wire: Wire;
  componentJid: string;
  contacts: ContactStore;
  log: Logger;
}

/**
 * The one truth about who is online where. It learns devices from the presence the component
 * receives and from the rooms services are in, combines each user's devices into one presence,
 * and sends that presence to the devices of everyone entitled to see it (a NEERC room's members,
 * the two people in a pool room, the buddies in an OLPC result set or view). Users are bare
 * JIDs and devices full JIDs, both normalised (src/xmpp/jid.ts).
 */
export class PresenceHub extends EventEmitter<HubEvents> {
  readonly #book = new SessionBook();
  readonly #relations = new Relations((viewer, target) => this.#unseen(viewer, target));
  readonly #outbox: Outbox;
  /** Devices whose negative priority keeps them from headlines sent to the bare JID. */
  readonly #negative = new Set<string>();
  /** Devices a service keeps state for without their presence (an OLPC view's querier). */
  readonly #tracked = new Set<FullJid>();
  readonly #componentJid: string;
  readonly #contacts: ContactStore;
  #router: Router | undefined;

  constructor(options: PresenceHubOptions) {
    super();
    this.#componentJid = options.componentJid;
    this.#contacts = options.contacts;
    this.#outbox = new Outbox(options.wire, (user) => this.#addresses(user), options.log);
  }

  install(router: Router): void {
    this.#router = router;
    router.feature(NS_PRESENCE);
    router.observe("presence", (inbound) => this.#onPresence(inbound));
    router.observe("message", (inbound) => this.#onMessage(inbound));
  }

  /** Tells every subscribed user the component is (back) online and asks for their presence. */
  async announce(): Promise<void> {
    for (const user of await this.#contacts.all()) {
      this.#sendOwnPresence(user, undefined);
      this.#sendOwnPresence(user, "probe");
    }
  }

  greet(users: Iterable<BareJid>): void {
    for (const user of users) this.#sendOwnPresence(user, undefined);
  }

  /** Tells subscribed users the component is going away (at shutdown). */
  async farewell(): Promise<void> {
    for (const user of await this.#contacts.all()) this.#sendOwnPresence(user, "unavailable");
    await this.#outbox.idle();
  }

  /** Resolves once everything queued has been written. */
  idle(): Promise<void> {
    return this.#outbox.idle();
  }

  // ---- who is online ----

  combined(user: BareJid): Show {
    return this.#book.combined(user);
  }

  devices(user: BareJid): DeviceView[] {
    return this.#book.deviceViews(user);
  }

  isOnline(device: FullJid): boolean {
    return this.#book.has(bareOf(device), device);
  }

  /** The devices liveness checks: those that sent presence to us, and those tracked. */
  *checkedDevices(): Generator<FullJid> {
    for (const [, device] of this.#book.directDevices()) yield device as FullJid;
    for (const device of this.#tracked) if (!this.#book.has(bareOf(device), device)) yield device;
  }

  /**
   * A service keeps something for this device though it never sent presence: liveness pings
   * it too, and `deviceGone` says when it is gone, so that the service can let go.
   */
  track(device: FullJid): void {
    this.#tracked.add(device);
  }

  untrack(device: FullJid): void {
    this.#tracked.delete(device);
  }

  get userCount(): number {
    return this.#book.userCount;
  }

  // ---- who may see whom ----

  setGroup(key: string, members: Iterable<BareJid>): void {
    this.#grant(this.#relations.setGroup(key, members));
  }

  forgetGroup(key: string): void {
    // Emitted first: the in-call flag's last change goes to the room's members.
    this.emit("forgotten", key);
    this.#relations.delete(key);
  }

  addViewer(key: string, viewer: BareJid, targets: Iterable<BareJid>): void {
    this.#grant(this.#relations.addViewer(key, viewer, targets));
  }

  removeViewer(key: string, viewer: BareJid): void {
    this.#relations.removeViewer(key, viewer);
  }

  setTargets(key: string, targets: Iterable<BareJid>): void {
    this.#grant(this.#relations.setTargets(key, targets));
  }

  /** The members of a group, if it exists. */
  members(key: string): ReadonlySet<string> | undefined {
    return this.#relations.members(key);
  }

  /** The groups (and watches) `user` is a target of. */
  groupsOf(user: BareJid): Iterable<string> {
    return this.#relations.keysWithTarget(user);
  }

  // ---- devices a service sees ----

  /**
   * A room's occupants count as online devices while they are there — those of the room's own
   * server only: a room says who its occupants are, and a MUC service elsewhere could name
   * anyone (conference.example.org vouches for users of example.org).
   */
  followRoom(room: MucRoom): void {
    const home = parentDomain(parseJid(room.jid)!.domain);
    room.on("presence", (occupant, stanza) => {
      const real = occupant.realJid && parseJid(occupant.realJid);
      if (!real || real.domain !== home) return;
      const event = readPresence(stanza);
      this.seenIn(
        room.jid,
        real.full as FullJid,
        event?.kind === "available" ? event.report : "left",
      );
    });
    room.on("gone", () => this.sourceGone(room.jid));
  }

  seenIn(source: string, device: FullJid, report: DeviceReport | "left"): void {
    const user = bareOf(device);
    if (report === "left") this.#settle(user, device, this.#book.leave(user, device, source));
    else this.#publish(this.#book.report(user, device, report, source).change);
  }

  sourceGone(source: string): void {
    for (const { user, device, change } of this.#book.leaveSource(source)) {
      this.#publish(change);
      this.#gone(user as BareJid, device as FullJid);
    }
  }

  /** The device is gone (it stopped answering, or an error showed it is offline). */
  dropDevice(device: FullJid): void {
    const user = bareOf(device);
    if (!this.#book.has(user, device) && this.#tracked.has(device)) return this.#gone(user, device);
    this.#settle(user, device, this.#book.drop(user, device));
  }

  // ---- addressing ----

  toDevice(device: string, build: Build): void {
    this.#outbox.toDevice(device, build);
  }

  toUsers(users: Iterable<BareJid>, build: Build): void {
    this.#outbox.toUsers(users, build);
  }

  toGroup(key: string, build: Build): void {
    this.#outbox.toUsers(this.#relations.members(key) ?? [], build);
  }

  // ---- inbound stanzas ----

  async #onPresence({ stanza }: Inbound): Promise<void> {
    if (stanza.getChild("x", NS_MUC_USER)) return; // room presence is the rooms' business
    const from = parseJid(stanza.attrs.from);
    const event = readPresence(stanza);
    if (!from || !event) return;
    const user = from.bare;
    const device = from.resource === undefined ? undefined : (from.full as FullJid);
    switch (event.kind) {
      case "available": {
        if (!device) return;
        const priority = Number(stanza.getChildText("priority") ?? 0);
        if (priority < 0) this.#negative.add(device);
        else this.#negative.delete(device);
        const { change, newListener } = this.#book.report(user, device, event.report, DIRECT);
        this.#publish(change, newListener ? device : undefined);
        if (newListener) {
          this.#dump(user, device);
          this.emit("listener", user, device);
        }
        return;
      }
      case "unavailable":
        if (device) this.#settle(user, device, this.#book.leave(user, device, DIRECT));
        return;
      case "error":
        if (device) this.dropDevice(device);
        return;
      case "probe":
        this.#answerProbe(from.full, user, stanza.attrs.to as string | undefined);
        return;
      case "subscription":
        // Only the component itself takes subscriptions; mirror JIDs are not contacts.
        if (stanza.attrs.to === this.#componentJid) await this.#onSubscription(user, event.type);
        return;
    }
  }

  #onMessage({ stanza }: Inbound): void {
    if (stanza.attrs.type !== "error") return;
    const from = parseJid(stanza.attrs.from);
    const condition = stanza.getChild("error")?.children.find((c) => typeof c !== "string");
    if (from?.resource !== undefined && typeof condition === "object" && GONE.has(condition.name)) {
      this.dropDevice(from.full as FullJid);
    }
  }

  async #onSubscription(user: BareJid, type: string): Promise<void> {
    const from = this.#componentJid;
    const send = (kind: string) =>
      this.#outbox.toDevice(user, (to) => xml("presence", { from, to, type: kind }));
    if (type === "subscribe") {
      await this.#contacts.add(user);
      send("subscribed");
      send("subscribe");
      this.#sendOwnPresence(user, undefined);
      this.emit("contact", user, true);
    } else if (type === "unsubscribe" || type === "unsubscribed") {
      await this.#contacts.remove(user);
      if (type === "unsubscribe") {
        // Unpublishing ends both directions: without our own unsubscribe the user's server
        // would go on forwarding their PEP events to us.
        send("unsubscribed");
        send("unsubscribe");
      }
      this.emit("contact", user, false);
    }
  }

  #answerProbe(from: string, user: BareJid, to: string | undefined): void {
    const local = to?.includes("@") ? to.slice(0, to.indexOf("@")) : undefined;
    if (local === undefined) {
      this.#sendOwnPresence(from, undefined);
      return;
    }
    const target = parseJid(unescapeLocal(local))?.bare;
    if (!target || (target !== user && !this.#relations.sees(user, target))) return;
    const show = this.#book.combined(target);
    this.#outbox.toDevice(from, (address) =>
      combinedPresence(this.#componentJid, target, show, address, target === user),
    );
  }

  // ---- outbound presence ----

  /**
   * The component's own presence. Available presence carries entity capabilities, so that the
   * user's server learns which PEP nodes we want (`+notify` features) and forwards their events.
   */
  #sendOwnPresence(to: string, type: "unavailable" | "probe" | undefined): void {
    const from = this.#componentJid;
    if (type) {
      this.#outbox.toDevice(to, (address) => xml("presence", { from, to: address, type }));
      return;
    }
    const router = this.#router;
    const caps = router ? [capsElement(capsVer(router.identities, router.features))] : [];
    this.#outbox.toDevice(to, (address) => xml("presence", { from, to: address }, ...caps));
  }

  #addresses(user: string): string[] {
    const negative = this.#book.devices(user).filter((device) => this.#negative.has(device));
    return [user, ...negative];
  }

  #settle(user: BareJid, device: FullJid, change: PresenceChange | undefined): void {
    this.#publish(change);
    if (!this.#book.has(user, device)) this.#gone(user, device);
  }

  #gone(user: BareJid, device: FullJid): void {
    this.#negative.delete(device);
    this.#tracked.delete(device);
    this.emit("deviceGone", user, device);
  }

  /** Sends a changed combined presence to its viewers' devices and the user's own devices. */
  #publish(change: PresenceChange | undefined, skipDevice?: string): void {
    if (!change) return;
    this.emit("change", change);
    const { user, current } = change;
    const build = (self: boolean) => (to: string) =>
      combinedPresence(this.#componentJid, user, current, to, self);
    const watchers: string[] = [];
    for (const viewer of this.#relations.viewersOf(user)) {
      watchers.push(...this.#book.listeners(viewer));
    }
    this.#outbox.toDevices(watchers, build(false));
    const own = this.#book.listeners(user).filter((device) => device !== skipDevice);
    this.#outbox.toDevices(own, build(true));
  }

  /** A new device's first view: everyone it may see who is not offline, its own user last. */
  #dump(user: BareJid, device: FullJid): void {
    for (const target of this.#relations.visibleTo(user)) {
      const show = this.#book.combined(target);
      if (show === "offline") continue;
      this.#outbox.toDevice(device, (to) =>
        combinedPresence(this.#componentJid, target, show, to, false),
      );
    }
    const own = this.#book.combined(user);
    this.#outbox.toDevice(device, (to) =>
      combinedPresence(this.#componentJid, user, own, to, true),
    );
  }

  /** Newly entitled viewers get the target's presence at once if it is not offline. */
  #grant(pairs: Array<[string, string]>): void {
    for (const [viewer, target] of pairs) {
      const show = this.#book.combined(target);
      if (show === "offline") continue;
      this.#outbox.toDevices(this.#book.listeners(viewer), (to) =>
        combinedPresence(this.#componentJid, target, show, to, false),
      );
    }
  }

  /** A viewer no longer entitled to see a target: it must not keep the last state it saw. */
  #unseen(viewer: string, target: string): void {
    if (this.#book.combined(target) === "offline") return; // it saw offline already
    this.#outbox.toDevices(this.#book.listeners(viewer), (to) =>
      combinedPresence(this.#componentJid, target, "offline", to, false),
    );
  }
}

/** The domain a subdomain belongs to: conference.example.org → example.org. */
function parentDomain(domain: string): string {
  const dot = domain.indexOf(".");
  return dot === -1 ? domain : domain.slice(dot + 1);
}
