import xml, { type Element } from "@xmpp/xml";
import type { Logger } from "pino";
import { Backoff, type BackoffPolicy } from "../backoff.js";
import { IqTimeoutError } from "../xmpp/iq-caller.js";
import { parseJid, type BareJid } from "../xmpp/jid.js";
import { NotConnectedError } from "../xmpp/link.js";
import type { MucClient } from "../xmpp/muc.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import { NS_DISCO_INFO, NS_VERSION } from "../xmpp/namespaces.js";
import { listsRefused, serverSoftware, type ServerSoftware } from "./failures.js";
import { compareUsers, type User } from "./rules.js";

/** Later lists win: a member who is also an admin is an admin. */
const AFFILIATIONS = ["member", "admin", "owner"] as const;
/** The least time between two reads of one room triggered by requests (not by the schedule). */
const MIN_REFRESH_MS = 500;

export interface DirectoryOptions {
  /** Reads the lists as the component itself. */
  muc: MucClient;
  /** Our component JID: the room must give it an affiliation that may read its lists. */
  componentJid: string;
  mucService: string;
  /** Group names for members, by user name; others are "Users" (members) or "Admins". */
  groups: Record<string, string>;
  /** Called with the room's JID and its users' bare JIDs after every read. */
  onRead?: (roomJid: BareJid, jids: BareJid[]) => void;
  /** Called when the room turns out not to exist. */
  onGone?: (roomJid: BareJid) => void;
  /** How soon a room that refused its lists is asked again (one log line per step). */
  retry: BackoffPolicy;
  /** Asks the MUC service's software version (to name the right fix when lists are refused). */
  request: (iq: Element) => Promise<Element>;
  log: Logger;
}

/** A room that refused its lists: requests get the same answer until it is asked again. */
interface Refusal {
  backoff: Backoff;
  until: number;
}

interface RoomUsers {
  byJid: Map<BareJid, User>;
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
  readonly #refused = new Map<string, Refusal>();
  #software: Promise<ServerSoftware> | undefined;

  constructor(private readonly options: DirectoryOptions) {}

  get rooms(): string[] {
    return [...this.#rooms.keys()];
  }

  async users(room: string): Promise<User[]> {
    return (await this.#get(room)).sorted;
  }

  /** The bare JIDs of the room's users, for notifications. */
  async jids(room: string): Promise<BareJid[]> {
    return [...(await this.#get(room)).byJid.keys()];
  }

  /** The user behind a bare JID, re-reading the room once if `accept` refuses the cached answer. */
  async find(
    room: string,
    bareJid: BareJid,
    accept: (user?: User) => boolean = (user) => user !== undefined,
  ): Promise<User | undefined> {
    const cached = await this.#get(room);
    const user = cached.byJid.get(bareJid);
    if (accept(user) || Date.now() - cached.loadedAt < MIN_REFRESH_MS) return user;
    return (await this.refresh(room)).byJid.get(bareJid);
  }

  refresh(room: string): Promise<RoomUsers> {
    const refusal = this.#refused.get(room);
    if (refusal && Date.now() < refusal.until) return Promise.reject(unreadable());
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
        this.refresh(room).catch((error: unknown) => {
          // While our own link is down the link says so; a room that failed keeps its users.
          if (error instanceof NotConnectedError) return;
          this.options.log.warn({ room, err: (error as Error).message }, "could not refresh room");
        }),
      ),
    );
  }

  #get(room: string): Promise<RoomUsers> {
    const cached = this.#rooms.get(room);
    return cached ? Promise.resolve(cached) : this.refresh(room);
  }

  async #read(room: string): Promise<RoomUsers> {
    const { muc, componentJid, mucService, log } = this.options;
    const roomJid = parseJid(`${room}@${mucService}`)?.bare;
    if (!roomJid) throw new StanzaError("item-not-found", `no room ${room}`);
    let lists;
    try {
      lists = await Promise.all(
        AFFILIATIONS.map((affiliation) => muc.affiliationList(roomJid, affiliation)),
      );
    } catch (error) {
      // A room the service does not have, or a name it does not take, is no room.
      if (error instanceof StanzaError && NO_ROOM.has(error.condition)) {
        this.#rooms.delete(room);
        this.options.onGone?.(roomJid);
        throw new StanzaError("item-not-found", `there is no room ${roomJid}`);
      }
      // Our own link being down or slow says nothing about the room's set-up.
      if (error instanceof NotConnectedError || error instanceof IqTimeoutError) throw error;
      const refusal = this.#refused.get(room) ?? {
        backoff: new Backoff(this.options.retry, log),
        until: 0,
      };
      this.#refused.set(room, refusal);
      const line = listsRefused(error, componentJid, roomJid, await this.#serverSoftware());
      refusal.until = Date.now() + refusal.backoff.failed(line, { room: roomJid });
      throw unreadable();
    }
    this.#refused.delete(room);
    const byJid = new Map<BareJid, User>();
    lists.forEach((jids, index) => {
      const power = AFFILIATIONS[index] !== "member";
      for (const value of jids) {
        const user = this.#user(value, power);
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

  /**
   * Which server runs the MUC service, asked of the service and of its server's domain (the
   * service's parent, e.g. example.org for conference.example.org): ejabberd names itself in the
   * domain's software version (mod_version) and disco identity, Prosody in the version (if
   * mod_version is on) and in the service's disco identity ("Prosody Chatrooms").
   */
  #serverSoftware(): Promise<ServerSoftware> {
    const { request, componentJid, mucService } = this.options;
    const serverDomain = mucService.slice(mucService.indexOf(".") + 1);
    const ask = (to: string, xmlns: string) =>
      request(xml("iq", { type: "get", to, from: componentJid }, xml("query", { xmlns })))
        .then((reply) => reply.getChild("query", xmlns))
        .catch(() => undefined);
    const version = async (to: string) =>
      serverSoftware((await ask(to, NS_VERSION))?.getChildText("name") ?? undefined);
    const identity = async (to: string) => {
      const identities = (await ask(to, NS_DISCO_INFO))?.getChildren("identity") ?? [];
      return serverSoftware(identities.map((i) => String(i.attrs.name ?? "")).join(" "));
    };
    return (this.#software ??= (async () => {
      for (const guess of [
        () => version(mucService),
        () => version(serverDomain),
        () => identity(mucService),
        () => identity(serverDomain),
      ]) {
        const software = await guess();
        if (software) return software;
      }
      return undefined;
    })());
  }

  #user(value: unknown, power: boolean): { jid: BareJid; user: User } | undefined {
    const parsed = parseJid(value);
    // Domain JIDs (ourselves, other components) are not people on the task board.
    if (!parsed?.local) return undefined;
    const name = parsed.local;
    const group = power ? "Admins" : (this.options.groups[name] ?? "Users");
    return { jid: parsed.bare, user: { name, group, power } };
  }
}

const NO_ROOM = new Set(["item-not-found", "jid-malformed"]);

function unreadable(): StanzaError {
  return new StanzaError("service-unavailable", "the room's members cannot be read right now");
}
