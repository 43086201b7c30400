import { createHash } from "node:crypto";
import type { Element } from "@xmpp/xml";
import { parseJid } from "../xmpp/jid.js";
import type { MucRoom, RoomExit } from "../xmpp/muc.js";
import type { EventLog } from "./event-log.js";
import {
  messageStanza,
  presenceStanza,
  readMessage,
  timestamp,
  type Sender,
  type StreamStanza,
} from "./protocol.js";
import type { Session, WebchatStore } from "./store.js";

/** A session the daemon is serving: its occupant, its grace timer, what its stream has shown. */
export interface Live {
  session: Session;
  room: MucRoom | undefined;
  joining: Promise<MucRoom> | undefined;
  grace: NodeJS.Timeout | undefined;
  ending: boolean;
  /** The latest presence item shown per entity (JSON), so that only changes are logged. */
  presence: Map<string, string> | undefined;
  senders: Map<string, Sender>;
}

/**
 * What a session's room shows it, as the session's events: messages (a rejoin's history without
 * what the log already holds), occupants' presence (changes only), and the room's end.
 */
export class RoomView {
  constructor(
    private readonly store: WebchatStore,
    private readonly events: EventLog,
    private readonly stopping: AbortSignal,
    /** Ends the session once its occupant was removed from the room. */
    private readonly end: (sessionId: number, reason: string) => Promise<void>,
  ) {}

  /** The room's events become the session's: messages, occupants' presence, the room's end. */
  follow(live: Live, room: MucRoom | undefined): void {
    if (!room) return;
    const id = live.session.id;
    const onError = (error: unknown) => this.events.failed(id, error);
    room.on("message", (stanza) => {
      void this.events.run(id, () => this.#roomMessage(live, stanza)).catch(onError);
    });
    room.on("presence", (occupant, stanza) => {
      if (occupant.affiliation === "owner") return; // the pool's bot
      void this.events
        .run(id, () => this.#occupantPresence(live, occupant.nick, stanza))
        .catch(onError);
    });
    room.on("gone", (exit) => {
      if (live.room === room) live.room = undefined;
      if (exit.kind === "removed" && !this.stopping.aborted) {
        void this.end(id, exitReason(exit)).catch(onError);
      }
    });
  }

  async #roomMessage(live: Live, stanza: Element): Promise<void> {
    if (stanza.attrs.type !== "groupchat") return;
    const nick = parseJid(stanza.attrs.from)?.resource;
    const message = readMessage(stanza);
    if (nick === undefined || !message) return;
    const origin = `room ${nick} ${message.id || digest(message.text)}`;
    if (message.delayedAt && (await this.store.hasOrigin(live.session.id, origin))) return;
    const sender = await this.#sender(live, nick);
    const event = messageStanza(message, live.session.thread, sender, new Date());
    await this.events.appendNow(live.session.id, event, origin);
  }

  async #occupantPresence(live: Live, nick: string, stanza: Element): Promise<void> {
    const sender = await this.#sender(live, nick);
    await this.#presenceEvent(live, presenceStanza(sender.id, stanza, new Date()));
  }

  async #presenceEvent(live: Live, event: StreamStanza & { type: "presence" }): Promise<void> {
    const item = event.presence[0];
    if (!item) return;
    const shown = JSON.stringify(item);
    live.presence ??= await this.store.lastPresence(live.session.id);
    if (live.presence.get(item.entity) === shown) return;
    live.presence.set(item.entity, shown);
    await this.events.appendNow(live.session.id, event);
  }

  /** After a rejoin: whoever the stream last showed as there and who is gone now has left. */
  async settlePresence(live: Live, room: MucRoom): Promise<void> {
    const present = new Set<string>();
    for (const occupant of room.occupants.values()) {
      if (occupant.affiliation !== "owner")
        present.add((await this.#sender(live, occupant.nick)).id);
    }
    for (const [entity, shown] of live.presence ?? []) {
      if (present.has(entity) || !(JSON.parse(shown) as { available?: boolean }).available)
        continue;
      await this.#presenceEvent(live, {
        type: "presence",
        timestamp: timestamp(new Date()),
        presence: [{ entity, available: false }],
      });
    }
  }

  async #sender(live: Live, nick: string): Promise<Sender> {
    const { session } = live;
    if (nick === session.nick) return selfSender(session);
    const cached = live.senders.get(nick);
    if (cached) return cached;
    const known = await this.events.durably(() => this.store.personInRoom(session.room, nick));
    if (!known)
      return { objectType: "person", id: `xmpp:${session.room}/${nick}`, displayName: nick };
    const sender: Sender = { objectType: "person", id: known.id, displayName: known.name };
    live.senders.set(nick, sender);
    return sender;
  }
}

export function selfSender(session: Session): Sender {
  return { objectType: "person", id: session.personId, displayName: session.displayName };
}

/** A short stable key for a message without an id, to tell a repeat from a new one. */
export function digest(text: string): string {
  return createHash("sha256").update(text).digest("base64url").slice(0, 22);
}

function exitReason(exit: RoomExit): string {
  if (exit.codes.includes("307"))
    return `removed from the room${exit.reason ? `: ${exit.reason}` : ""}`;
  if (exit.codes.includes("301")) return "banned from the room";
  if (exit.codes.includes("332")) return "the chat service shut down";
  return exit.reason ? `the chat has ended: ${exit.reason}` : "the chat has ended";
}
