import { EventEmitter } from "node:events";
import jid from "@xmpp/jid";
import xml, { type Element } from "@xmpp/xml";
import type { Logger } from "pino";
import { StanzaError } from "../xmpp/stanza-error.js";
import type { BotLink } from "./bot-link.js";
import { formOf, roomConfigSubmission, type RoomSettings } from "./room-config.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";
const NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin";

export interface JoinResult {
  /** The server created the room for this join (XEP-0045 status 201): it did not exist. */
  created: boolean;
  /** Who else is in the room: nick → real JID (when the room lets the bot see it). */
  occupants: Map<string, string | undefined>;
}

interface TrackedRoom {
  joined: boolean;
  occupants: Map<string, string | undefined>;
  pending?: { resolve(result: JoinResult): void; reject(error: Error): void };
}

interface MucEvents {
  occupant: [room: string, nick: string, kind: "joined" | "left"];
  /** The bot is no longer in a room it did not leave itself (kicked, destroyed by someone). */
  lost: [room: string];
  /** Any presence of another occupant, with the occupant's real JID when the room shows it. */
  occupantPresence: [room: string, realJid: string | undefined, stanza: Element];
  /** The bot stopped following a room, whatever the reason. */
  forgotten: [room: string];
}

/** The bot's view of its MUC rooms: joins, occupants coming and going, and owner actions. */
export class MucClient extends EventEmitter<MucEvents> {
  readonly #rooms = new Map<string, TrackedRoom>();

  constructor(
    private readonly bot: BotLink,
    private readonly nickname: string,
    private readonly log: Logger,
  ) {
    super();
    bot.on("presence", (stanza) => this.#onPresence(stanza));
    bot.on("offline", () => {
      for (const [jid, room] of this.#rooms) {
        room.pending?.reject(new Error("bot went offline"));
        this.emit("forgotten", jid);
      }
      this.#rooms.clear();
    });
  }

  realJid(room: string, nick: string): string | undefined {
    return this.#rooms.get(room)?.occupants.get(nick);
  }

  /** The real JIDs of the room's other occupants, where the room shows them. */
  realJids(room: string): string[] {
    const occupants = this.#rooms.get(room)?.occupants.values() ?? [];
    return [...occupants].filter((value): value is string => value !== undefined);
  }

  /** Joins (creating the room if it does not exist) and resolves once the bot is in. */
  join(room: string, password: string | undefined, timeoutMs = 10_000): Promise<JoinResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no answer joining ${room}`)), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        this.#forget(room);
        reject(error);
      };
      this.#rooms.set(room, {
        joined: false,
        occupants: new Map(),
        pending: {
          resolve: (result) => {
            clearTimeout(timer);
            resolve(result);
          },
          reject: fail,
        },
      });
      const x = xml("x", { xmlns: NS_MUC }, xml("history", { maxstanzas: "0" }));
      if (password !== undefined) x.append(xml("password", {}, password));
      try {
        this.bot.send(xml("presence", { to: `${room}/${this.nickname}` }, x));
      } catch (error) {
        fail(error as Error);
      }
    });
  }

  /** Submits the room configuration built from the form the server offers. */
  async configure(room: string, settings: RoomSettings): Promise<void> {
    const reply = await this.bot.request(
      xml("iq", { type: "get", to: room }, xml("query", { xmlns: NS_MUC_OWNER })),
    );
    const form = formOf(reply.getChild("query", NS_MUC_OWNER));
    if (!form) throw new Error(`${room} offered no configuration form`);
    await this.bot.request(
      xml(
        "iq",
        { type: "set", to: room },
        xml("query", { xmlns: NS_MUC_OWNER }, roomConfigSubmission(form, settings)),
      ),
    );
  }

  async kick(room: string, nick: string, reason: string): Promise<void> {
    await this.bot.request(
      xml(
        "iq",
        { type: "set", to: room },
        xml(
          "query",
          { xmlns: NS_MUC_ADMIN },
          xml("item", { nick, role: "none" }, xml("reason", {}, reason)),
        ),
      ),
    );
  }

  /** Destroys the room (everyone is removed) and stops following it. */
  async destroy(room: string, reason: string): Promise<void> {
    this.#forget(room);
    await this.bot.request(
      xml(
        "iq",
        { type: "set", to: room },
        xml("query", { xmlns: NS_MUC_OWNER }, xml("destroy", {}, xml("reason", {}, reason))),
      ),
    );
  }

  #onPresence(stanza: Element): void {
    let from;
    try {
      from = jid(String(stanza.attrs.from));
    } catch {
      return;
    }
    const roomJid = from.bare().toString();
    const room = this.#rooms.get(roomJid);
    const nick = from.resource;
    if (!room || !nick) return;
    if (stanza.attrs.type === "error") {
      room.pending?.reject(StanzaError.fromStanza(stanza));
      return;
    }
    const x = stanza.getChild("x", NS_MUC_USER);
    const codes = new Set((x?.getChildren("status") ?? []).map((s) => String(s.attrs.code)));
    const available = stanza.attrs.type !== "unavailable";
    if (codes.has("110") || nick === this.nickname) {
      this.#onSelf(roomJid, room, available, codes);
      return;
    }
    const realJid = x?.getChild("item")?.attrs.jid as string | undefined;
    if (available) {
      const isNew = !room.occupants.has(nick);
      room.occupants.set(nick, realJid);
      if (isNew && room.joined) this.emit("occupant", roomJid, nick, "joined");
    } else if (room.occupants.delete(nick) && room.joined) {
      this.emit("occupant", roomJid, nick, "left");
    }
    this.emit("occupantPresence", roomJid, realJid, stanza);
  }

  #forget(room: string): void {
    if (this.#rooms.delete(room)) this.emit("forgotten", room);
  }

  #onSelf(roomJid: string, room: TrackedRoom, available: boolean, codes: Set<string>): void {
    if (available && !room.joined) {
      room.joined = true;
      const pending = room.pending;
      room.pending = undefined;
      pending?.resolve({ created: codes.has("201"), occupants: new Map(room.occupants) });
    } else if (!available) {
      this.log.warn({ room: roomJid, codes: [...codes] }, "the bot was removed from a room");
      this.#forget(roomJid);
      this.emit("lost", roomJid);
    }
  }
}
