import jid from "@xmpp/jid";
import xml from "@xmpp/xml";
import type { Logger } from "pino";
import type { IqCaller } from "../xmpp/iq-caller.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import { compareUsers, type User } from "./rules.js";

const NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin";
/** Later lists win: a member who is also an admin is an admin. */
const AFFILIATIONS = ["member", "admin", "owner"] as const;
/** The least time between two reads of one room triggered by requests (not by the schedule). */
const MIN_REFRESH_MS = 500;

export interface DirectoryOptions {
  caller: IqCaller;
  /** Our component JID: the room must list it as an owner so that we may read its lists. */
  componentJid: string;
  mucService: string;
  /** Group names for members, by user name; others are "Users" (members) or "Admins". */
  groups: Record<string, string>;
  /** Called with the room's JID and its users' bare JIDs after every read. */
  onRead?: (roomJid: string, jids: string[]) => void;
  /** Called when the room turns out not to exist. */
  onGone?: (roomJid: string) => void;
  log: Logger;
}

interface RoomUsers {
  byJid: Map<string, User>;
  sorted: User[];
  loadedAt: number;
}

/**
 * Who belongs to a NEERC room, read from the MUC room of the same name: owners and admins have
 * power (group "Admins"), members do not. Read on first use, on a schedule (refreshAll), and again
 * when a sender is unknown or lacks power, at most twice a second per room.
 */
export class RoomDirectory {
  readonly #rooms = new Map<string, RoomUsers>();
  readonly #loading = new Map<string, Promise<RoomUsers>>();

  constructor(private readonly options: DirectoryOptions) {}

  get rooms(): string[] {
    return [...this.#rooms.keys()];
  }

  async users(room: string): Promise<User[]> {
    return (await this.#get(room)).sorted;
  }

  /** The bare JIDs of the room's users, for notifications. */
  async jids(room: string): Promise<string[]> {
    return [...(await this.#get(room)).byJid.keys()];
  }

  /** The user behind a bare JID, re-reading the room once if `accept` refuses the cached answer. */
  async find(
    room: string,
    bareJid: string,
    accept: (user?: User) => boolean = (user) => user !== undefined,
  ): Promise<User | undefined> {
    const cached = await this.#get(room);
    const user = cached.byJid.get(bareJid);
    if (accept(user) || Date.now() - cached.loadedAt < MIN_REFRESH_MS) return user;
    return (await this.refresh(room)).byJid.get(bareJid);
  }

  refresh(room: string): Promise<RoomUsers> {
    let loading = this.#loading.get(room);
    if (!loading) {
      loading = this.#read(room).finally(() => this.#loading.delete(room));
      this.#loading.set(room, loading);
    }
    return loading;
  }

  /** Re-reads every room seen so far; a room that fails keeps its last known users. */
  async refreshAll(): Promise<void> {
    await Promise.all(
      this.rooms.map((room) =>
        this.refresh(room).catch((error: unknown) =>
          this.options.log.warn({ room, err: (error as Error).message }, "could not refresh room"),
        ),
      ),
    );
  }

  #get(room: string): Promise<RoomUsers> {
    const cached = this.#rooms.get(room);
    return cached ? Promise.resolve(cached) : this.refresh(room);
  }

  async #read(room: string): Promise<RoomUsers> {
    const { caller, componentJid, mucService, log } = this.options;
    const roomJid = `${room}@${mucService}`;
    let lists;
    try {
      lists = await Promise.all(
        AFFILIATIONS.map((affiliation) =>
          caller.request(
            xml(
              "iq",
              { type: "get", to: roomJid, from: componentJid },
              xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { affiliation })),
            ),
            10_000,
          ),
        ),
      );
    } catch (error) {
      if (error instanceof StanzaError && error.condition === "item-not-found") {
        this.#rooms.delete(room);
        this.options.onGone?.(roomJid);
        throw new StanzaError("item-not-found", `there is no room ${roomJid}`);
      }
      const reason = error instanceof Error ? error.message : String(error);
      log.error(
        { room: roomJid, reason },
        `cannot read the members of ${roomJid}: make ${componentJid} an owner of the room`,
      );
      throw new StanzaError("service-unavailable", "the room's members cannot be read right now");
    }
    const byJid = new Map<string, User>();
    lists.forEach((reply, index) => {
      const power = AFFILIATIONS[index] !== "member";
      for (const item of reply.getChild("query", NS_MUC_ADMIN)?.getChildren("item") ?? []) {
        const user = this.#user(item.attrs.jid, power);
        if (user) byJid.set(user.jid, user.user);
      }
    });
    const sorted = [...new Map([...byJid.values()].map((u) => [u.name, u])).values()].sort(
      compareUsers,
    );
    const entry = { byJid, sorted, loadedAt: Date.now() };
    this.#rooms.set(room, entry);
    this.options.onRead?.(roomJid, [...byJid.keys()]);
    return entry;
  }

  #user(value: unknown, power: boolean): { jid: string; user: User } | undefined {
    if (typeof value !== "string") return undefined;
    let parsed;
    try {
      parsed = jid(value);
    } catch {
      return undefined;
    }
    // Domain JIDs (ourselves, other components) are not people on the task board.
    if (!parsed.local) return undefined;
    const name = parsed.local;
    const group = power ? "Admins" : (this.options.groups[name] ?? "Users");
    return { jid: parsed.bare().toString(), user: { name, group, power } };
  }
}
