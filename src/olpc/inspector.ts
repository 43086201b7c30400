import type { Logger } from "pino";
import type { BareJid } from "../xmpp/jid.js";
import type { MucClient, MucRoom } from "../xmpp/muc.js";
import { INSPECTOR_NICK } from "./namespaces.js";

/**
 * The index's presence in activities' MUC rooms: invited, it joins with nick `inspector` and
 * follows who is there. Real JIDs are only visible in rooms that show them to occupants
 * (non-anonymous rooms, as Sugar's activity rooms are); elsewhere only joins announced by the
 * laptops count.
 */
export class Inspector {
  /** Rooms we were asked into, joined or still joining. */
  readonly #wanted = new Set<BareJid>();

  constructor(
    private readonly muc: MucClient,
    /** Called with each room once we are in it: the service follows its occupants. */
    private readonly entered: (room: MucRoom) => void,
    private readonly log: Logger,
  ) {}

  join(room: BareJid, password?: string): void {
    if (this.muc.room(room)) return;
    this.#wanted.add(room);
    this.muc.join(room, INSPECTOR_NICK, password === undefined ? {} : { password }).then(
      ({ room: joined }) => {
        if (this.#wanted.has(room)) this.entered(joined);
        else this.muc.leave(room);
      },
      (error: unknown) => {
        this.#wanted.delete(room);
        this.log.debug({ room, err: (error as Error).message }, "could not join an activity room");
      },
    );
  }

  leave(room: BareJid): void {
    this.#wanted.delete(room);
    this.muc.leave(room);
  }

  has(room: BareJid): boolean {
    return this.#wanted.has(room);
  }

  /**
   * Whether `participants(room)` says who is in the room: only once the room has shown an
   * occupant's real JID. Until then (the join is under way), and in rooms that hide real JIDs,
   * an empty list means "unknown", not "everyone left".
   */
  tracks(room: BareJid): boolean {
    return this.muc.room(room)?.revealsJids ?? false;
  }

  /** The real bare JIDs of the room's occupants other than the inspector. */
  participants(room: BareJid): BareJid[] {
    return this.muc.room(room)?.users() ?? [];
  }
}
