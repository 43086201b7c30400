import xml, { type Element } from "@xmpp/xml";
import type { Logger } from "pino";
import type { Wire } from "../presence/outbox.js";
import { bareOf } from "../presence/stanzas.js";
import { INSPECTOR_NICK, NS_MUC_USER } from "./namespaces.js";

const NS_MUC = "http://jabber.org/protocol/muc";

export interface RoomPresence {
  room: string;
  /** The occupant's real full JID, where the room shows it. */
  realJid: string | undefined;
  available: boolean;
  stanza: Element;
}

/**
 * The index's presence in activities' MUC rooms: invited, it joins with nick `inspector` and
 * follows who is there. Real JIDs are only visible in rooms that show them to occupants
 * (non-anonymous rooms, as Sugar's activity rooms are); elsewhere only joins announced by the
 * laptops count.
 */
export class Inspector {
  /** room → occupant nick → real JID. */
  readonly #rooms = new Map<string, Map<string, string | undefined>>();
  /** Rooms that have shown us an occupant's real JID. */
  readonly #revealing = new Set<string>();

  constructor(
    private readonly wire: Wire,
    private readonly componentJid: string,
    private readonly log: Logger,
  ) {}

  join(room: string, password?: string): void {
    if (!this.#rooms.has(room)) {
      this.#rooms.set(room, new Map());
      this.#revealing.delete(room);
    }
    const x = xml("x", { xmlns: NS_MUC }, xml("history", { maxstanzas: "0" }));
    if (password) x.append(xml("password", {}, password));
    this.wire.send(
      xml("presence", { from: this.componentJid, to: `${room}/${INSPECTOR_NICK}` }, x),
    );
  }

  leave(room: string): void {
    if (!this.#rooms.delete(room)) return;
    try {
      this.wire.send(
        xml("presence", {
          from: this.componentJid,
          to: `${room}/${INSPECTOR_NICK}`,
          type: "unavailable",
        }),
      );
    } catch (error) {
      this.log.debug({ room, err: (error as Error).message }, "could not leave the room");
    }
  }

  /** Forget every room (the connection dropped: the server has removed us from them). */
  reset(): void {
    this.#rooms.clear();
    this.#revealing.clear();
  }

  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  /**
   * Whether `participants(room)` says who is in the room: only once the room has shown an
   * occupant's real JID. Until the first occupant presence arrives (the join is under way), and
   * in rooms that hide real JIDs, an empty list means "unknown", not "everyone left".
   */
  tracks(room: string): boolean {
    return this.#rooms.has(room) && this.#revealing.has(room);
  }

  /** The real bare JIDs of the room's occupants other than the inspector. */
  participants(room: string): string[] {
    const occupants = this.#rooms.get(room);
    if (!occupants) return [];
    const found = new Set<string>();
    for (const real of occupants.values()) if (real) found.add(bareOf(real));
    return [...found];
  }

  /** Reads a presence from one of our rooms; undefined if it is not one (or is our own). */
  read(stanza: Element): RoomPresence | undefined {
    const from = String(stanza.attrs.from ?? "");
    const slash = from.indexOf("/");
    if (slash === -1) return undefined;
    const room = from.slice(0, slash);
    const nick = from.slice(slash + 1);
    const occupants = this.#rooms.get(room);
    if (!occupants) return undefined;
    const available = stanza.attrs.type !== "unavailable" && stanza.attrs.type !== "error";
    const x = stanza.getChild("x", NS_MUC_USER);
    const self =
      nick === INSPECTOR_NICK ||
      (x?.getChildren("status") ?? []).some((status) => status.attrs.code === "110");
    if (self) {
      if (!available) this.#rooms.delete(room);
      return undefined;
    }
    const realJid = x?.getChild("item")?.attrs.jid as string | undefined;
    if (realJid) this.#revealing.add(room);
    if (available) occupants.set(nick, realJid);
    else occupants.delete(nick);
    return { room, realJid, available, stanza };
  }
}
