import xml from "@xmpp/xml";
import type { Logger } from "pino";
import { parseJid } from "../xmpp/jid.js";
import type { Router } from "../xmpp/router.js";
import type { Inbound } from "../xmpp/stanza.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import type { PresenceHub } from "./hub.js";
import { InCallTracker, type CallChange } from "./in-call.js";
import type { CallRecorder } from "./port.js";

export const NS_IN_CALL = "urn:concierge:in-call:0";

export interface CallFlagsOptions {
  hub: PresenceHub;
  componentJid: string;
  timeoutMs: number;
  log: Logger;
  now?: () => number;
}

/**
 * The in-call flag of every room the hub knows (pool rooms, OLPC activities, NEERC rooms): on
 * while at least two of its members' devices send heartbeats within the timeout. Each change
 * goes to every device of every member and to the recorders the services registered.
 */
export class CallFlags {
  readonly #tracker: InCallTracker;
  readonly #recorders: CallRecorder[] = [];
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: CallFlagsOptions) {
    this.#tracker = new InCallTracker(options.timeoutMs);
    // A monotonic clock: beats must never expire early because the wall clock jumped.
    this.#now = options.now ?? (() => performance.now());
  }

  install(router: Router): void {
    router.feature(NS_IN_CALL);
    router.message(NS_IN_CALL, (inbound) => this.#onBeat(inbound));
    router.iq("get", NS_IN_CALL, "in-call", (inbound) => {
      const room = this.#memberRoom(inbound);
      return flagElement(room, this.#tracker.isActive(room));
    });
    const { hub, componentJid } = this.options;
    hub.on("deviceGone", (_user, device) =>
      this.#apply(this.#tracker.dropDevice(device, this.#now())),
    );
    hub.on("forgotten", (key) => this.#apply([this.#tracker.dropRoom(key)]));
    // A member coming online learns of the calls going on in its rooms with its first presence.
    hub.on("listener", (user, device) => {
      for (const room of hub.groupsOf(user)) {
        if (!this.#tracker.isActive(room)) continue;
        hub.toDevice(device, (to) =>
          xml("message", { from: componentJid, to, type: "headline" }, flagElement(room, true)),
        );
      }
    });
  }

  addRecorder(recorder: CallRecorder): void {
    this.#recorders.push(recorder);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  #onBeat(inbound: Inbound): void {
    const room = this.#memberRoom(inbound);
    const device = inbound.device;
    const now = this.#now();
    const change =
      inbound.payload.attrs.active === "false"
        ? this.#tracker.hangUp(room, device, now)
        : this.#tracker.beat(room, inbound.user, device, now);
    this.#apply([change]);
  }

  /** The room named in the request, if the sender is one of its members. */
  #memberRoom(inbound: Inbound): string {
    const named = inbound.payload.attrs.room as unknown;
    if (typeof named !== "string" || named === "") {
      throw new StanzaError("bad-request", "in-call needs a room attribute");
    }
    // Rooms are JIDs (pool rooms, NEERC rooms) or, for OLPC activities without one, a key.
    const room = parseJid(named)?.bare ?? named;
    const members = this.options.hub.members(room);
    if (!members) throw new StanzaError("item-not-found", `no room ${named} here`);
    if (!members.has(inbound.user)) {
      throw new StanzaError("forbidden", `you are not in room ${named}`);
    }
    return room;
  }

  #apply(changes: Array<CallChange | undefined>): void {
    const { hub, componentJid, log } = this.options;
    for (const change of changes) {
      if (!change) continue;
      hub.toGroup(change.room, (to) =>
        xml(
          "message",
          { from: componentJid, to, type: "headline" },
          flagElement(change.room, change.active),
        ),
      );
      for (const record of this.#recorders) {
        record(change.room, change.active).catch((error: unknown) =>
          log.error({ err: error, room: change.room }, "could not record the in-call flag"),
        );
      }
    }
    this.#schedule();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    const next = this.#tracker.nextExpiry();
    if (next === undefined) return;
    this.#timer = setTimeout(
      () => this.#apply(this.#tracker.expire(this.#now())),
      Math.max(0, next - this.#now()),
    );
    this.#timer.unref();
  }
}

function flagElement(room: string, active: boolean) {
  return xml("in-call", { xmlns: NS_IN_CALL, room, active: String(active) });
}
