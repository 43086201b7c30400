import { randomUUID } from "node:crypto";
import type { Element } from "@xmpp/xml";
import type { Logger } from "pino";
import { within, type BackoffPolicy } from "../backoff.js";
import type { Database } from "../db/database.js";
import { HttpError } from "../http/errors.js";
import { parseJid, type BareJid } from "../xmpp/jid.js";
import { NotConnectedError, type Link } from "../xmpp/link.js";
import type { MucClient, MucRoom } from "../xmpp/muc.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import { errorReply } from "../xmpp/stanza.js";
import {
  chatMessage,
  endStanza,
  groupchatMessage,
  messageStanza,
  occupantPresence,
  ownMessage,
  readMessage,
  type OutgoingMessage,
  type OutgoingPresence,
  type Sender,
} from "./protocol.js";
import { EventLog } from "./event-log.js";
import { RoomView, digest, selfSender, type Live } from "./room-view.js";
import { destinationOf } from "./threads.js";
import type { Session, WebchatStore } from "./store.js";
import { Readers, type StreamLimits } from "./streams.js";

export interface BridgeOptions {
  componentJid: string;
  /** How long an occupant stays after its last stream closed (a page reload must not end it). */
  gracePeriodMs: number;
  keepaliveMs: number;
  limits: StreamLimits;
  retry: BackoffPolicy;
}

/** History asked for when a session first enters its room, as an XMPP client gets it. */
const FIRST_JOIN_HISTORY = 20;
/** A rejoin asks for the room's history since a little before the last message logged. */
const HISTORY_OVERLAP_MS = 2_000;
const NICK_ATTEMPTS = 5;

/**
 * Browser sessions in XMPP. Each session is one occupant of its pool room, as the address
 * `webchat-<id>@<component>` (the pool's bot sees it arrive and leave like any XMPP client),
 * with the room's password from the pool's table. What the room shows it (messages, occupants'
 * presence) and one-to-one chat messages from the XMPP users it may talk to become events in
 * the session's log, in order, one queue per session; each is written to Postgres first (waiting
 * out a database outage) and then handed to the session's open readers.
 */
export class Bridge {
  readonly readers: Readers;
  readonly #live = new Map<number, Live>();
  readonly #events: EventLog;
  readonly #view: RoomView;
  readonly #stopping = new AbortController();
  readonly #domain: string;

  constructor(
    private readonly store: WebchatStore,
    private readonly db: Database,
    private readonly muc: MucClient,
    private readonly link: Link,
    private readonly options: BridgeOptions,
    private readonly log: Logger,
  ) {
    this.#domain = options.componentJid;
    this.readers = new Readers(options.limits, {
      idle: (id) => this.#startGrace(id),
      busy: (id) => this.#stopGrace(id),
    });
    this.#events = new EventLog(store, db, this.readers, this.#stopping.signal, log);
    this.#view = new RoomView(store, this.#events, this.#stopping.signal, (id, reason) =>
      this.end(id, reason, false),
    );
  }

  start(): void {
    this.readers.start(this.options.keepaliveMs);
    this.link.on("online", () => void this.#rejoinAll());
  }

  /** Ends the streams, leaves the rooms (the sessions stay open for the next start). */
  async stop(budgetMs: number): Promise<void> {
    this.#stopping.abort();
    this.readers.stop();
    this.readers.closeAll();
    for (const live of this.#live.values()) {
      clearTimeout(live.grace);
      if (live.room) this.muc.leave(live.room.jid, live.room.as, "the chat service is restarting");
    }
    await within(this.#events.idle(), budgetMs);
  }

  addressOf(sessionId: number): string {
    return `webchat-${sessionId}@${this.#domain}`;
  }

  // ---- sessions ----

  /** Serves a session (new or continued): its occupant is in the room when this resolves. */
  async enter(session: Session): Promise<void> {
    const live = this.#liveOf(session);
    live.session = session;
    if (!this.readers.has(session.id)) this.#startGrace(session.id);
    await this.#join(live);
  }

  /** The last event's number, for a reader that starts from the end. */
  lastSeq(sessionId: number): Promise<number> {
    return this.store.lastSeq(sessionId);
  }

  /** Ends a session: a final event, its tokens revoked, its streams closed, its occupant gone. */
  async end(sessionId: number, reason: string, leave = true): Promise<void> {
    const live = this.#live.get(sessionId);
    if (live?.ending) return;
    if (live) {
      live.ending = true;
      clearTimeout(live.grace);
    }
    await this.#events.run(sessionId, async () => {
      await this.#events.appendNow(sessionId, endStanza(reason, new Date()));
      await this.#events.durably(() => this.store.endSession(sessionId, reason));
    });
    this.readers.close(sessionId);
    if (leave && live?.room) this.muc.leave(live.room.jid, live.room.as, reason);
    this.#live.delete(sessionId);
    this.log.info({ session: sessionId, reason }, "web chat session ended");
  }

  /** A browser's message, into its room or to the XMPP user of a one-to-one thread. */
  async send(
    session: Session,
    message: OutgoingMessage,
  ): Promise<{ thread: string; duplicate: boolean }> {
    const { peer, thread } = await destinationOf(this.store, session, message);
    if (!(await this.store.markSent(session.id, message.id))) return { thread, duplicate: true };
    try {
      if (peer !== undefined) {
        const stanza = chatMessage(peer as BareJid, message, thread);
        stanza.attrs.from = this.addressOf(session.id);
        this.link.send(stanza);
        const own = messageStanza(
          ownMessage(message, thread),
          thread,
          selfSender(session),
          new Date(),
        );
        await this.#events.append(session.id, own, `chat ${peer} ${message.id}`);
      } else {
        const room = await this.#joinedRoom(session);
        this.muc.sendAs(room, groupchatMessage(room.jid, message, thread));
      }
    } catch (error) {
      await this.store.unmarkSent(session.id, message.id).catch(() => undefined);
      throw error;
    }
    return { thread, duplicate: false };
  }

  /** A browser's presence: shown in its room; `available: false` leaves the chat. */
  async presence(session: Session, presence: OutgoingPresence): Promise<{ ended: boolean }> {
    if (!presence.available) {
      await this.end(session.id, "left the chat");
      return { ended: true };
    }
    const room = await this.#joinedRoom(session);
    this.muc.sendAs(room, occupantPresence(`${room.jid}/${room.nick}`, presence));
    return { ended: false };
  }

  /** Tokens revoked one by one close their own streams. */
  closeToken(tokenKey: string): void {
    this.readers.closeToken(tokenKey);
  }

  // ---- one-to-one messages from XMPP ----

  /** Sees every message the component gets: chat messages to a session's address are its. */
  directMessage(stanza: Element): void {
    const to = parseJid(stanza.attrs.to);
    const from = parseJid(stanza.attrs.from);
    if (!to || !from || to.domain !== this.#domain) return;
    const match = /^webchat-(\d+)$/.exec(to.local ?? "");
    if (!match) return;
    if (this.muc.room(from.bare, to.bare)) return; // the room's own traffic
    if (stanza.attrs.type === "groupchat" || stanza.attrs.type === "error") return;
    const message = readMessage(stanza);
    if (!message) return;
    const sessionId = Number(match[1]);
    const peer = from.bare;
    void this.#events
      .run(sessionId, async () => {
        const session =
          this.#live.get(sessionId)?.session ??
          (await this.#events.durably(() => this.store.openSession(sessionId)));
        if (!session || !session.contacts.includes(peer)) {
          this.#refuse(stanza, session ? "forbidden" : "service-unavailable");
          return;
        }
        const thread = await this.#events.durably(() =>
          this.store.threadWith(sessionId, peer, message.thread ?? randomUUID()),
        );
        const sender: Sender = {
          objectType: "person",
          id: `xmpp:${peer}`,
          displayName: from.local ?? peer,
        };
        await this.#events.appendNow(
          sessionId,
          messageStanza(message, thread, sender, new Date()),
          `chat ${peer} ${message.id || digest(message.text)}`,
        );
      })
      .catch((error: unknown) => this.#events.failed(sessionId, error));
  }

  #refuse(stanza: Element, condition: "forbidden" | "service-unavailable"): void {
    try {
      const reply = errorReply(stanza, new StanzaError(condition, undefined, "cancel"));
      this.link.send(reply);
    } catch {
      // offline: nothing to answer with
    }
  }

  // ---- the room ----

  #liveOf(session: Session): Live {
    let live = this.#live.get(session.id);
    if (!live) {
      live = {
        session,
        room: undefined,
        joining: undefined,
        grace: undefined,
        ending: false,
        presence: undefined,
        senders: new Map(),
      };
      this.#live.set(session.id, live);
    }
    return live;
  }

  /** The session's room, entering it first if its occupant is not there (a join that failed). */
  async #joinedRoom(session: Session): Promise<MucRoom> {
    if (!this.link.online) throw new NotConnectedError();
    const room = this.#live.get(session.id)?.room;
    return room?.joined ? room : this.#join(this.#liveOf(session));
  }

  #join(live: Live): Promise<MucRoom> {
    if (live.room?.joined) return Promise.resolve(live.room);
    live.joining ??= this.#enterRoom(live).finally(() => (live.joining = undefined));
    return live.joining;
  }

  async #enterRoom(live: Live): Promise<MucRoom> {
    const { session } = live;
    if (!this.link.online) throw new NotConnectedError();
    const password = await this.store.roomPassword(session.room);
    if (password === undefined) {
      await this.end(session.id, "the chat has ended", false);
      throw new HttpError("ROOM_CLOSED", "the room of this session is closed", "room");
    }
    live.presence ??= await this.store.lastPresence(session.id);
    const lastMessage = await this.store.lastRoomMessageAt(session.id);
    const history = lastMessage
      ? { historySince: new Date(lastMessage.getTime() - HISTORY_OVERLAP_MS) }
      : { history: FIRST_JOIN_HISTORY };
    const base = session.nick ?? session.displayName;
    const as = this.addressOf(session.id);
    for (let attempt = 1; ; attempt++) {
      const nick = attempt === 1 ? base : `${base} (${attempt})`;
      const joining = this.muc.join(session.room as BareJid, nick, { password, as, ...history });
      this.#view.follow(live, this.muc.room(session.room as BareJid, as));
      try {
        const { room } = await joining;
        live.room = room;
        if (session.nick !== nick) {
          session.nick = nick;
          await this.store.setNick(session.id, nick);
        }
        this.log.debug({ session: session.id, room: session.room }, "web chat occupant joined");
        void this.#events
          .run(session.id, () => this.#view.settlePresence(live, room))
          .catch((error: unknown) => this.#events.failed(session.id, error));
        return room;
      } catch (error) {
        if (
          error instanceof StanzaError &&
          error.condition === "conflict" &&
          attempt < NICK_ATTEMPTS
        ) {
          continue;
        }
        if (error instanceof StanzaError) {
          await this.end(session.id, `could not enter the room (${error.condition})`, false);
          throw new HttpError("ROOM_CLOSED", "the room of this session cannot be entered", "room");
        }
        if (!this.link.online) throw new NotConnectedError();
        throw error;
      }
    }
  }

  // ---- grace and reconnection ----

  #startGrace(sessionId: number): void {
    const live = this.#live.get(sessionId);
    if (!live || live.ending || this.#stopping.signal.aborted) return;
    clearTimeout(live.grace);
    live.grace = setTimeout(() => {
      live.grace = undefined;
      if (this.readers.has(sessionId)) return;
      void this.end(sessionId, "the browser went away").catch((error: unknown) =>
        this.#events.failed(sessionId, error),
      );
    }, this.options.gracePeriodMs);
  }

  #stopGrace(sessionId: number): void {
    const live = this.#live.get(sessionId);
    if (live) {
      clearTimeout(live.grace);
      live.grace = undefined;
    }
  }

  /** Whenever the link comes (back) online: every open session's occupant enters its room. */
  async #rejoinAll(): Promise<void> {
    let sessions: Session[];
    try {
      sessions = await this.#events.durably(() => this.store.openSessions());
    } catch (error) {
      this.#events.failed(0, error);
      return;
    }
    for (const session of sessions) {
      if (this.#stopping.signal.aborted || !this.link.online) return;
      const live = this.#liveOf(session);
      if (!this.readers.has(session.id)) this.#startGrace(session.id);
      await this.#join(live).catch((error: unknown) => {
        if (!(error instanceof HttpError)) {
          this.log.warn(
            { session: session.id, err: (error as Error).message },
            "web chat rejoin failed",
          );
        }
      });
    }
    if (sessions.length > 0)
      this.log.info({ sessions: sessions.length }, "web chat sessions rejoined");
  }
}
