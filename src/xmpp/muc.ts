import { EventEmitter } from "node:events";
import xml, { type Element } from "@xmpp/xml";
import type { Logger } from "pino";
import { parseJid, type BareJid, type FullJid } from "./jid.js";
import { NS_DATA, NS_MUC, NS_MUC_ADMIN, NS_MUC_OWNER, NS_MUC_USER } from "./namespaces.js";
import { IqTimeoutError } from "./iq-caller.js";
import { StanzaError } from "./stanza-error.js";

const JOIN_TIMEOUT_MS = 10_000;

/** The room never answered a join: the XMPP side did not answer, like an iq that timed out. */
export class JoinTimeoutError extends IqTimeoutError {
  constructor(jid: string, ms: number) {
    super(jid, ms);
    this.message = `no answer joining ${jid} within ${ms} ms`;
    this.name = "JoinTimeoutError";
  }
}

/** Another occupant of a room, as its presence shows it. */
export interface Occupant {
  nick: string;
  /** The occupant's real full JID, where the room shows it to us. */
  realJid: FullJid | undefined;
  affiliation: string;
  role: string;
  /** Its latest presence (available, or the unavailable one it left with). */
  presence: Element;
}

/** Why we are no longer in a room. */
export interface RoomExit {
  /** left: we left; removed: kicked, banned, destroyed, shut down…; disconnected: our link dropped. */
  kind: "left" | "removed" | "disconnected";
  /** XEP-0045 status codes of the last self-presence (307 kicked, 301 banned, 332 shutdown…). */
  codes: string[];
  /** The destroy reason or the kick reason, if the room gave one. */
  reason?: string;
}

interface RoomEvents {
  /** Another occupant came in (only after our own join completed). */
  joined: [Occupant];
  left: [Occupant];
  /** Every presence of another occupant: arrivals, changes, departures. */
  presence: [Occupant, Element];
  /** A message the room sent us (groupchat, or a private message from an occupant). */
  message: [Element];
  /** We are no longer in the room. Emitted once; the room is forgotten. */
  gone: [RoomExit];
}

/** One room we are in (or are joining), as one occupant identity. */
export class MucRoom extends EventEmitter<RoomEvents> {
  readonly #occupants = new Map<string, Occupant>();
  #joined = false;
  #revealing = false;
  /** Our own affiliation in the room, from our self-presence. */
  affiliation = "none";

  constructor(
    readonly jid: BareJid,
    readonly nick: string,
    /** The address we are in the room as (a component may be in rooms as several). */
    readonly as: string,
  ) {
    super();
  }

  get joined(): boolean {
    return this.#joined;
  }

  get occupants(): ReadonlyMap<string, Occupant> {
    return this.#occupants;
  }

  /** Whether the room has shown us a real JID: only then do its occupants say who is there. */
  get revealsJids(): boolean {
    return this.#revealing;
  }

  /** The real bare JIDs of the other occupants, where the room shows them. */
  users(): BareJid[] {
    const users = new Set<BareJid>();
    for (const { realJid } of this.#occupants.values()) {
      if (realJid) users.add(parseJid(realJid)!.bare);
    }
    return [...users];
  }

  /** @internal (MucClient) */
  occupantPresence(nick: string, stanza: Element, item: Element | undefined): void {
    const available = stanza.attrs.type !== "unavailable";
    const real = item?.attrs.jid === undefined ? undefined : parseJid(item.attrs.jid);
    if (real) this.#revealing = true;
    const known = this.#occupants.get(nick);
    const occupant: Occupant = {
      nick,
      realJid: real?.resource === undefined ? known?.realJid : (real.full as FullJid),
      affiliation: String(item?.attrs.affiliation ?? known?.affiliation ?? "none"),
      role: String(item?.attrs.role ?? known?.role ?? "none"),
      presence: stanza,
    };
    if (available) this.#occupants.set(nick, occupant);
    else this.#occupants.delete(nick);
    this.emit("presence", occupant, stanza);
    if (!this.#joined) return;
    if (available && !known) this.emit("joined", occupant);
    if (!available && known) this.emit("left", occupant);
  }

  /** @internal (MucClient) */
  markJoined(affiliation: string): void {
    this.#joined = true;
    this.affiliation = affiliation;
  }
}

export interface JoinOptions {
  password?: string;
  /** Messages of history to ask for (default none). */
  history?: number;
  /** Instead: the history since this time (XEP-0045 §7.2.15), e.g. what came while we were away. */
  historySince?: Date;
  /** The bare address to be in the room as (a component may be in rooms as several). */
  as?: string;
  timeoutMs?: number;
}

export interface JoinResult {
  room: MucRoom;
  /** The server made the room for this join (XEP-0045 status 201): it did not exist. */
  created: boolean;
}

/** What the MUC client sends with: a link (component or client). */
export interface MucWire {
  send(element: Element): void;
  request(iq: Element, timeoutMs?: number): Promise<Element>;
}

interface Pending {
  room: MucRoom;
  resolve(result: JoinResult): void;
  reject(error: Error): void;
}

/**
 * The one MUC occupant implementation: the room-pool bot, the OLPC inspector and the browser
 * bridge's occupants all join, follow and leave rooms through it. Feed it every presence and
 * message the link receives (`handle`); it takes the ones from rooms it is in and says so.
 */
export interface MucClientOptions {
  /** Our bare address when a join names no `as`: the component's JID, or the account's. */
  defaultAs: string;
  /** Put `from` on everything sent (a component must; a client's server adds it). */
  stampFrom: boolean;
  log: Logger;
}

export class MucClient {
  readonly #rooms = new Map<string, MucRoom>();
  readonly #pending = new Map<string, Pending>();
  readonly #defaultAs: string;
  readonly #log: Logger;

  constructor(
    private readonly wire: MucWire,
    private readonly options: MucClientOptions,
  ) {
    this.#defaultAs = options.defaultAs;
    this.#log = options.log;
  }

  room(jid: BareJid, as = this.#defaultAs): MucRoom | undefined {
    return this.#rooms.get(key(as, jid));
  }

  rooms(): MucRoom[] {
    return [...this.#rooms.values()];
  }

  /** Joins (the server creates the room if it does not exist) and resolves once we are in. */
  join(jid: BareJid, nick: string, options: JoinOptions = {}): Promise<JoinResult> {
    const as = options.as ?? this.#defaultAs;
    const k = key(as, jid);
    this.#forget(k, { kind: "left", codes: [] });
    const room = new MucRoom(jid, nick, as);
    this.#rooms.set(k, room);
    return new Promise<JoinResult>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new JoinTimeoutError(jid, options.timeoutMs ?? JOIN_TIMEOUT_MS)),
        options.timeoutMs ?? JOIN_TIMEOUT_MS,
      );
      const fail = (error: Error) => {
        clearTimeout(timer);
        this.#pending.delete(k);
        if (this.#rooms.get(k) === room) this.#rooms.delete(k);
        reject(error);
      };
      this.#pending.set(k, {
        room,
        resolve: (result) => {
          clearTimeout(timer);
          this.#pending.delete(k);
          resolve(result);
        },
        reject: fail,
      });
      const history = options.historySince
        ? { since: options.historySince.toISOString().replace(/\.\d{3}Z$/, "Z") }
        : { maxstanzas: String(options.history ?? 0) };
      const x = xml("x", { xmlns: NS_MUC }, xml("history", history));
      if (options.password !== undefined) x.append(xml("password", {}, options.password));
      try {
        this.#send(as, xml("presence", { to: `${jid}/${nick}` }, x));
      } catch (error) {
        fail(error as Error);
      }
    });
  }

  /** Leaves a room (unavailable presence) and forgets it at once. */
  leave(jid: BareJid, as = this.#defaultAs, status?: string): void {
    const room = this.#rooms.get(key(as, jid));
    if (!room) return;
    this.#forget(key(as, jid), { kind: "left", codes: [] });
    const attrs = { to: `${jid}/${room.nick}`, type: "unavailable" };
    try {
      this.#send(as, xml("presence", attrs, ...(status ? [xml("status", {}, status)] : [])));
    } catch (error) {
      this.#log.debug({ room: jid, err: (error as Error).message }, "could not leave the room");
    }
  }

  /** Sends a stanza into a room as one of our occupants (a groupchat message, a presence). */
  sendAs(room: MucRoom, stanza: Element): void {
    this.#send(room.as, stanza);
  }

  // ---- owner and admin requests (XEP-0045 §9, §10) ----

  /** The room's configuration form (muc#owner get). */
  async configurationForm(room: BareJid, as = this.#defaultAs): Promise<Element | undefined> {
    const reply = await this.#query(as, room, "get", NS_MUC_OWNER);
    return reply.getChild("query", NS_MUC_OWNER)?.getChild("x", NS_DATA);
  }

  async configure(room: BareJid, submission: Element, as = this.#defaultAs): Promise<void> {
    await this.#query(as, room, "set", NS_MUC_OWNER, submission);
  }

  async kick(room: BareJid, nick: string, reason: string, as = this.#defaultAs): Promise<void> {
    const item = xml("item", { nick, role: "none" }, xml("reason", {}, reason));
    await this.#query(as, room, "set", NS_MUC_ADMIN, item);
  }

  /** Destroys the room (everyone is removed) and forgets it. */
  async destroy(room: BareJid, reason: string, as = this.#defaultAs): Promise<void> {
    this.#forget(key(as, room), { kind: "left", codes: [] });
    await this.#query(as, room, "set", NS_MUC_OWNER, xml("destroy", {}, xml("reason", {}, reason)));
  }

  /** The bare JIDs holding `affiliation` in the room (muc#admin get). */
  async affiliationList(
    room: BareJid,
    affiliation: "owner" | "admin" | "member" | "outcast",
    as = this.#defaultAs,
  ): Promise<unknown[]> {
    const reply = await this.#query(as, room, "get", NS_MUC_ADMIN, xml("item", { affiliation }));
    const items = reply.getChild("query", NS_MUC_ADMIN)?.getChildren("item") ?? [];
    return items.map((item) => item.attrs.jid as unknown);
  }

  #query(as: string, room: BareJid, type: "get" | "set", xmlns: string, ...children: Element[]) {
    const iq = xml("iq", { type, to: room }, xml("query", { xmlns }, ...children));
    if (this.options.stampFrom) iq.attrs.from = as;
    return this.wire.request(iq, 10_000);
  }

  #send(as: string, stanza: Element): void {
    if (this.options.stampFrom) stanza.attrs.from = as;
    this.wire.send(stanza);
  }

  /** The link dropped: the server has taken us out of every room. */
  reset(): void {
    for (const pending of [...this.#pending.values()]) {
      pending.reject(new Error("the connection dropped while joining"));
    }
    for (const k of [...this.#rooms.keys()]) this.#forget(k, { kind: "disconnected", codes: [] });
  }

  /** Takes a presence or message from a room we are in; false for anything else. */
  handle(stanza: Element): boolean {
    if (stanza.name !== "presence" && stanza.name !== "message") return false;
    const from = parseJid(stanza.attrs.from);
    const to = parseJid(stanza.attrs.to);
    if (!from || !to) return false;
    const k = key(to.bare, from.bare);
    const room = this.#rooms.get(k);
    if (!room) return false;
    if (stanza.name === "message") {
      room.emit("message", stanza);
      return true;
    }
    const pending = this.#pending.get(k);
    if (stanza.attrs.type === "error") {
      // A refused join; an error while we are in the room concerns one stanza we sent.
      pending?.reject(StanzaError.fromStanza(stanza));
      return true;
    }
    const nick = from.resource;
    if (nick === undefined) return true;
    const x = stanza.getChild("x", NS_MUC_USER);
    const codes = (x?.getChildren("status") ?? []).map((s) => String(s.attrs.code));
    const item = x?.getChild("item");
    if (codes.includes("110") || (nick === room.nick && !room.occupants.has(nick))) {
      this.#self(k, room, stanza, codes, item, pending);
    } else {
      room.occupantPresence(nick, stanza, item);
    }
    return true;
  }

  #self(
    k: string,
    room: MucRoom,
    stanza: Element,
    codes: string[],
    item: Element | undefined,
    pending: Pending | undefined,
  ): void {
    if (stanza.attrs.type !== "unavailable") {
      if (!room.joined) {
        room.markJoined(String(item?.attrs.affiliation ?? "none"));
        pending?.resolve({ room, created: codes.includes("201") });
      }
      return;
    }
    const x = stanza.getChild("x", NS_MUC_USER);
    const reason =
      x?.getChild("destroy")?.getChildText("reason") ?? item?.getChildText("reason") ?? undefined;
    pending?.reject(new Error(`removed from ${room.jid} while joining`));
    this.#log.info({ room: room.jid, codes, reason }, "removed from a room");
    this.#forget(k, { kind: "removed", codes, ...(reason ? { reason } : {}) });
  }

  #forget(k: string, exit: RoomExit): void {
    const room = this.#rooms.get(k);
    if (!room) return;
    this.#rooms.delete(k);
    room.emit("gone", exit);
    room.removeAllListeners();
  }
}

function key(as: string, room: string): string {
  return `${as} ${room}`;
}
