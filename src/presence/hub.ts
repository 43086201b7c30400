import { EventEmitter } from "node:events";
import xml from "@xmpp/xml";
import type { Logger } from "pino";
import { capsElement, capsVer } from "../xmpp/caps.js";
import type { Router } from "../xmpp/router.js";
import type { Inbound } from "../xmpp/stanza.js";
import { DIRECT, SessionBook, type PresenceChange } from "./book.js";
import type { ContactStore } from "./contacts.js";
import { Outbox, type Wire } from "./outbox.js";
import { Relations } from "./relations.js";
import type { DeviceReport, Show } from "./rules.js";
import {
  GONE,
  NS_PRESENCE,
  bareOf,
  combinedPresence,
  readPresence,
  unescapeLocal,
} from "./stanzas.js";

const NS_MUC_USER = "http://jabber.org/protocol/muc#user";

interface HubEvents {
  change: [PresenceChange];
  /** A device is no longer online anywhere the component can see. */
  deviceGone: [user: string, device: string];
  /** A user subscribed to the component's presence, or ended the subscription. */
  contact: [user: string, subscribed: boolean];
  /** A room or watch is forgotten (emitted just before, so listeners can still see its members). */
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
 * receives and from the rooms services watch, combines each user's devices into one presence,
 * and sends that presence to the devices of everyone entitled to see it (a NEERC room's members,
 * the two people in a pool room, the buddies in an OLPC result set or view).
 */
export class PresenceHub extends EventEmitter<HubEvents> {
  readonly book = new SessionBook();
  readonly relations = new Relations();
  readonly outbox: Outbox;
  readonly #componentJid: string;
  readonly #contacts: ContactStore;
  #router: Router | undefined;

  constructor(options: PresenceHubOptions) {
    super();
    this.#componentJid = options.componentJid;
    this.#contacts = options.contacts;
    this.outbox = new Outbox(options.wire, this.book, options.log);
  }

  install(router: Router): void {
    this.#router = router;
    router.feature(NS_PRESENCE);
    router.observe("presence", (inbound) => this.#onPresence(inbound));
    router.observe("message", (inbound) => this.#onMessage(inbound));
  }

  /** Tells every subscribed user the component is (back) online and asks for their presence. */
  async announce(): Promise<void> {
    const contacts = await this.#contacts.all();
    for (const user of contacts) {
      this.#sendOwnPresence(user, undefined);
      this.#sendOwnPresence(user, "probe");
    }
  }

  /** Sends the component's available presence to users a service knows (it restarted). */
  greet(users: Iterable<string>): void {
    for (const user of users) this.#sendOwnPresence(user, undefined);
  }

  /** Tells subscribed users the component is going away (at shutdown). */
  async farewell(): Promise<void> {
    for (const user of await this.#contacts.all()) this.#sendOwnPresence(user, "unavailable");
    await this.outbox.idle();
  }

  // ---- what services tell the hub ----

  /** A room: its members see each other's presence. `key` is the room's JID. */
  setRoom(key: string, members: Iterable<string>): void {
    this.#grant(this.relations.setGroup(key, members));
  }

  /** A one-way watch: the viewers see `targets` (an OLPC result set or view). */
  setWatch(key: string, viewers: string | Iterable<string>, targets: Iterable<string>): void {
    this.#grant(
      this.relations.set(key, typeof viewers === "string" ? [viewers] : viewers, targets),
    );
  }

  /** One more reason for `viewer` to see the targets of `key` (created with `targets`). */
  addViewer(key: string, viewer: string, targets: Iterable<string>): void {
    this.#grant(this.relations.addViewer(key, viewer, targets));
  }

  removeViewer(key: string, viewer: string): void {
    this.relations.removeViewer(key, viewer);
  }

  /** New targets for the viewers of `key`, if anyone views it. */
  setTargets(key: string, targets: Iterable<string>): void {
    this.#grant(this.relations.setTargets(key, targets));
  }

  forget(key: string): void {
    // Emitted first: the in-call flag's last change goes to the room's members.
    this.emit("forgotten", key);
    this.relations.delete(key);
  }

  /** A device seen by a service in one of its rooms (`source` names the room). */
  seenIn(source: string, device: string, report: DeviceReport | "left"): void {
    const user = bareOf(device);
    if (report === "left") this.#settle(user, device, this.book.leave(user, device, source));
    else this.#publish(this.book.report(user, device, report, source).change);
  }

  /** A room a service watched is gone: its devices leave it. */
  sourceGone(source: string): void {
    for (const { user, device, change } of this.book.leaveSource(source)) {
      this.#publish(change);
      this.emit("deviceGone", user, device);
    }
  }

  /** The device is gone (it stopped answering, or an error showed it is offline). */
  dropDevice(device: string): void {
    const user = bareOf(device);
    this.#settle(user, device, this.book.drop(user, device));
  }

  combined(user: string): Show {
    return this.book.combined(user);
  }

  // ---- inbound stanzas ----

  async #onPresence({ stanza }: Inbound): Promise<void> {
    const from = stanza.attrs.from as string | undefined;
    if (!from || stanza.getChild("x", NS_MUC_USER)) return; // room presence is the rooms' business
    const event = readPresence(stanza);
    if (!event) return;
    const device = from.includes("/") ? from : undefined;
    const user = bareOf(from);
    switch (event.kind) {
      case "available": {
        if (!device) return;
        const { change, newListener } = this.book.report(user, device, event.report, DIRECT);
        this.#publish(change, newListener ? device : undefined);
        if (newListener) this.#dump(user, device);
        return;
      }
      case "unavailable":
        if (device) this.#settle(user, device, this.book.leave(user, device, DIRECT));
        return;
      case "error":
        if (device) this.dropDevice(device);
        return;
      case "probe":
        this.#answerProbe(from, user, stanza.attrs.to as string | undefined);
        return;
      case "subscription":
        // Only the component itself takes subscriptions; mirror JIDs are not contacts.
        if (stanza.attrs.to === this.#componentJid) await this.#onSubscription(user, event.type);
        return;
    }
  }

  #onMessage({ stanza }: Inbound): void {
    if (stanza.attrs.type !== "error") return;
    const from = stanza.attrs.from as string | undefined;
    const condition = stanza.getChild("error")?.children.find((c) => typeof c !== "string");
    if (from?.includes("/") && typeof condition === "object" && GONE.has(condition.name)) {
      this.dropDevice(from);
    }
  }

  async #onSubscription(user: string, type: string): Promise<void> {
    const from = this.#componentJid;
    if (type === "subscribe") {
      await this.#contacts.add(user);
      this.outbox.toDevice(user, (to) => xml("presence", { from, to, type: "subscribed" }));
      this.outbox.toDevice(user, (to) => xml("presence", { from, to, type: "subscribe" }));
      this.#sendOwnPresence(user, undefined);
      this.emit("contact", user, true);
    } else if (type === "unsubscribe" || type === "unsubscribed") {
      await this.#contacts.remove(user);
      if (type === "unsubscribe") {
        // Unpublishing ends both directions: without our own unsubscribe the user's server
        // would go on forwarding their PEP events to us.
        this.outbox.toDevice(user, (to) => xml("presence", { from, to, type: "unsubscribed" }));
        this.outbox.toDevice(user, (to) => xml("presence", { from, to, type: "unsubscribe" }));
      }
      this.emit("contact", user, false);
    }
  }

  #answerProbe(from: string, user: string, to: string | undefined): void {
    const local = to?.includes("@") ? to.slice(0, to.indexOf("@")) : undefined;
    if (local === undefined) {
      this.#sendOwnPresence(from, undefined);
      return;
    }
    const target = unescapeLocal(local);
    if (target !== user && !this.relations.sees(user, target)) return;
    const show = this.book.combined(target);
    this.outbox.toDevice(from, (address) =>
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
      this.outbox.toDevice(to, (address) => xml("presence", { from, to: address, type }));
      return;
    }
    const router = this.#router;
    const caps = router ? [capsElement(capsVer(router.identities, router.features))] : [];
    this.outbox.toDevice(to, (address) => xml("presence", { from, to: address }, ...caps));
  }

  #settle(user: string, device: string, change: PresenceChange | undefined): void {
    this.#publish(change);
    if (!this.book.has(user, device)) this.emit("deviceGone", user, device);
  }

  /** Sends a changed combined presence to its viewers' devices and the user's own devices. */
  #publish(change: PresenceChange | undefined, skipDevice?: string): void {
    if (!change) return;
    this.emit("change", change);
    const { user, current } = change;
    const build = (self: boolean) => (to: string) =>
      combinedPresence(this.#componentJid, user, current, to, self);
    const watchers: string[] = [];
    for (const viewer of this.relations.viewersOf(user))
      watchers.push(...this.book.listeners(viewer));
    this.outbox.toDevices(watchers, build(false));
    const own = this.book.listeners(user).filter((device) => device !== skipDevice);
    this.outbox.toDevices(own, build(true));
  }

  /** A new device's first view: everyone it may see who is not offline, its own user last. */
  #dump(user: string, device: string): void {
    for (const target of this.relations.visibleTo(user)) {
      const show = this.book.combined(target);
      if (show === "offline") continue;
      this.outbox.toDevice(device, (to) =>
        combinedPresence(this.#componentJid, target, show, to, false),
      );
    }
    const own = this.book.combined(user);
    this.outbox.toDevice(device, (to) => combinedPresence(this.#componentJid, user, own, to, true));
  }

  /** Newly entitled viewers get the target's presence at once if it is not offline. */
  #grant(pairs: Array<[string, string]>): void {
    for (const [viewer, target] of pairs) {
      const show = this.book.combined(target);
      if (show === "offline") continue;
      this.outbox.toDevices(this.book.listeners(viewer), (to) =>
        combinedPresence(this.#componentJid, target, show, to, false),
      );
    }
  }
}
