import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { Backoff, sleep, within, type BackoffPolicy } from "../backoff.js";
import type { Database } from "../db/database.js";
import { StorageUnavailableError } from "../db/errors.js";
import { KeyedQueue } from "../keyed-queue.js";
import type { PresencePort } from "../presence/port.js";
import type { BareJid } from "../xmpp/jid.js";
import type { Link } from "../xmpp/link.js";
import type { MucClient, MucRoom } from "../xmpp/muc.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import { creationFailure } from "./failures.js";
import {
  reconcile,
  transition,
  type RoomEvent,
  type RoomState,
  type Transition,
} from "./lifecycle.js";
import { roomConfigSubmission, type RoomSettings } from "./room-config.js";
import { roomsToCreate } from "./sizing.js";
import type { RoomRow, RoomStore } from "./store.js";

export interface PoolSettings {
  mucService: string;
  nickname: string;
  minAvailable: number;
  maxRooms: number;
  maxOccupants: number;
  historyLength: number;
  persistent: boolean;
  claimTimeoutMs: number;
  maintenanceIntervalMs: number;
  createConcurrency: number;
  retry: BackoffPolicy;
}

/** Join refusals that mean the room of that name is someone else's now. */
const NOT_OURS = new Set([
  "item-not-found",
  "not-authorized",
  "forbidden",
  "registration-required",
]);

type Step = (state: RoomState) => Transition;

/**
 * Keeps `minAvailable` configured rooms ready (or the admins' target; none while draining: see
 * sizing.ts), never more than `maxRooms` open, moves each room through its lifecycle on what the
 * bot sees, releases claims nobody honoured, and after every
 * (re)connection rejoins the open rooms and corrects the table from who is really there.
 *
 * Everything that touches one room runs in order through one queue per room. What the bot sees
 * while the database is down waits in that queue, with the time it was seen, and is written
 * once the database is back: nothing seen is lost, and the history keeps its times.
 */
export class RoomPool {
  readonly #queue = new KeyedQueue();
  readonly #stopping = new AbortController();
  readonly #creation: Backoff;
  #creationBlockedUntil = 0;
  #filling: Promise<void> | undefined;
  #refill = false;
  #maintenance: Promise<void> | undefined;

  constructor(
    private readonly bot: Link,
    private readonly muc: MucClient,
    private readonly store: RoomStore,
    private readonly db: Database,
    private readonly presence: PresencePort,
    private readonly settings: PoolSettings,
    private readonly log: Logger,
    private readonly claimTimedOut: (count: number) => void = () => {},
  ) {
    this.#creation = new Backoff(settings.retry, log);
  }

  start(): void {
    this.bot.on("online", () => void this.#resync());
    this.#maintenance = this.#maintain(this.#stopping.signal);
  }

  /** Stop acting at once (the lease is lost): nothing more is written or done in the rooms. */
  halt(): void {
    this.#stopping.abort();
  }

  async stop(budgetMs: number): Promise<void> {
    this.#stopping.abort();
    const deadline = Date.now() + budgetMs;
    await within(Promise.all([this.#maintenance, this.#filling]), budgetMs / 2);
    await within(this.#queue.idle(), Math.max(0, deadline - Date.now()));
  }

  /** Fills the pool up to min_available (one fill at a time; a call during a fill repeats it). */
  fill(): Promise<void> {
    if (this.#filling) {
      this.#refill = true;
      return this.#filling;
    }
    this.#filling = this.#fillLoop().finally(() => (this.#filling = undefined));
    return this.#filling;
  }

  get #stopped(): boolean {
    return this.#stopping.signal.aborted;
  }

  /**
   * Keeps `createConcurrency` creations in flight until the shortfall counted at the start is made
   * up; a change meanwhile (a claim, a closed room) asks for another round with fresh counts. A
   * failed creation backs off (one log line per step) before any room is tried again.
   */
  async #fillLoop(): Promise<void> {
    do {
      this.#refill = false;
      if (this.#stopped || !this.bot.online || Date.now() < this.#creationBlockedUntil) return;
      const { control, ...counts } = await this.store.levels();
      let missing = roomsToCreate(counts, control, this.settings);
      let failed: unknown;
      const worker = async () => {
        while (missing > 0 && failed === undefined && !this.#stopped && this.bot.online) {
          missing--;
          await this.#createRoom().catch((error: unknown) => (failed ??= error));
        }
      };
      const workers = Math.max(0, Math.min(missing, this.settings.createConcurrency));
      await Promise.all(Array.from({ length: workers }, worker));
      if (failed !== undefined) {
        if (failed instanceof StorageUnavailableError || !this.bot.online || this.#stopped) return;
        const delay = this.#creation.failed(creationFailure(failed, this.settings, this.bot.jid));
        this.#creationBlockedUntil = Date.now() + delay;
        return;
      }
      if (workers > 0) this.#creation.succeeded();
    } while (this.#refill);
  }

  async #createRoom(): Promise<void> {
    const jid = `${randomBytes(16).toString("hex")}@${this.settings.mucService}` as BareJid;
    const password = randomBytes(18).toString("base64url");
    const { room, created } = await this.muc.join(jid, this.settings.nickname);
    if (!created) {
      this.muc.leave(jid);
      throw new Error(`room ${jid} existed already`);
    }
    await this.#configure(room, password);
    await this.store.insert(jid, password);
    this.#follow(room);
    this.log.debug({ room: jid }, "room ready");
  }

  async #configure(room: MucRoom, password: string): Promise<void> {
    const form = await this.muc.configurationForm(room.jid);
    if (!form) throw new Error(`${room.jid} offered no configuration form`);
    await this.muc.configure(room.jid, roomConfigSubmission(form, this.#roomSettings(password)));
  }

  #roomSettings(password: string): RoomSettings {
    const { maxOccupants, historyLength, persistent } = this.settings;
    return { password, maxOccupants, historyLength, persistent };
  }

  /** What the bot sees in a room becomes lifecycle events (and presence for the hub). */
  #follow(room: MucRoom): void {
    this.presence.followRoom(room);
    const realJids = () => new Map([...room.occupants].map(([nick, o]) => [nick, o.realJid]));
    room.on(
      "joined",
      ({ nick }) => void this.#handle(room.jid, { kind: "joined", nick }, realJids()),
    );
    room.on("left", ({ nick }) => void this.#handle(room.jid, { kind: "left", nick }, realJids()));
    room.on("gone", (exit) => {
      this.presence.forgetGroup(room.jid);
      if (exit.kind === "removed" && !this.#stopped) void this.#rejoinByJid(room.jid);
    });
    const group = () => this.presence.setGroup(room.jid, room.users());
    room.on("presence", group);
    group();
  }

  /** One event for one room, in order, written even if the database is down when it happens. */
  #handle(
    room: BareJid,
    event: RoomEvent,
    realJids: ReadonlyMap<string, string | undefined>,
  ): Promise<void> {
    const at = new Date();
    return this.#queue
      .run(room, () =>
        this.#applyDurably(
          room,
          (state) => transition(state, event),
          (nick) => realJids.get(nick),
          at,
        ),
      )
      .then(() => this.#afterChange())
      .catch((error: unknown) => this.#eventFailed(room, event, error));
  }

  /** Applies a step; while the database is down, waits for it (in the room's queue) and retries. */
  async #applyDurably(
    room: BareJid,
    step: Step,
    realJid: (nick: string) => string | undefined,
    at: Date,
    row?: RoomRow,
  ): Promise<void> {
    for (;;) {
      try {
        const result = await this.store.apply(room, step, realJid, at);
        if (result) await this.#perform(room, row, result);
        return;
      } catch (error) {
        if (!(error instanceof StorageUnavailableError)) throw error;
        this.log.debug({ room }, "a room event waits for the database");
        if (!(await this.db.whenAvailable(this.#stopping.signal))) throw error;
      }
    }
  }

  #eventFailed(room: string, event: RoomEvent, error: unknown): void {
    if (error instanceof StorageUnavailableError) {
      this.log.warn(
        { room, event },
        "stopping while the database is down: a room event was not recorded (the next start reconciles the room)",
      );
    } else {
      this.log.warn({ room, event, err: describe(error) }, "room event failed");
    }
  }

  async #perform(room: BareJid, row: RoomRow | undefined, step: Transition): Promise<void> {
    if (step.cause) {
      this.log.info({ room, status: step.state.status, cause: step.cause }, "room status");
    }
    for (const action of step.actions) {
      if (action.kind === "kick") await this.muc.kick(room, action.nick, action.reason);
      if (action.kind === "destroy") {
        this.presence.forgetGroup(room);
        await this.muc.destroy(room, action.reason);
      }
      if (action.kind === "recreate" && row) {
        const joined = this.muc.room(room);
        if (joined) await this.#configure(joined, row.password);
      }
    }
  }

  /** After a (re)connection: every open room rejoined and corrected, then the pool refilled. */
  async #resync(): Promise<void> {
    const signal = this.#stopping.signal;
    const backoff = new Backoff(this.settings.retry, this.log);
    while (!signal.aborted && this.bot.online) {
      try {
        const rows = await this.store.openRooms();
        const limit = this.settings.createConcurrency;
        for (let i = 0; i < rows.length; i += limit) {
          await Promise.all(rows.slice(i, i + limit).map((row) => this.#rejoin(row)));
        }
        this.log.info({ rooms: rows.length }, "rooms resynchronised");
        await this.fill();
        return;
      } catch (error) {
        if (error instanceof StorageUnavailableError) {
          await this.db.whenAvailable(signal);
          continue;
        }
        const delay = backoff.failed({
          level: "warn",
          message: `resynchronising the rooms failed (${describe(error)})`,
        });
        await sleep(delay, signal);
      }
    }
  }

  #rejoin(row: RoomRow): Promise<void> {
    const jid = row.jid as BareJid;
    return this.#queue
      .run(jid, async () => {
        const step = await this.#rejoinStep(jid, row);
        await this.#applyDurably(
          jid,
          step,
          (nick) => this.muc.room(jid)?.occupants.get(nick)?.realJid,
          new Date(),
          row,
        );
      })
      .catch((error: unknown) =>
        this.log.warn({ room: row.jid, err: describe(error) }, "rejoin failed"),
      );
  }

  /** Joins a room the table calls open, and says what the table must learn from it. */
  async #rejoinStep(jid: BareJid, row: RoomRow): Promise<Step> {
    let joined;
    try {
      joined = await this.#joinOwnRoom(jid, row.password);
    } catch (error) {
      if (error instanceof StanzaError && NOT_OURS.has(error.condition)) {
        this.log.warn(
          { room: jid, condition: error.condition },
          "a pool room is not ours any more",
        );
        return (state) => transition(state, { kind: "taken" });
      }
      throw error;
    }
    const { room, created } = joined;
    if (!created && room.affiliation !== "owner") {
      this.log.warn(
        { room: jid, affiliation: room.affiliation },
        "a pool room is not ours any more",
      );
      this.muc.leave(jid);
      return (state) => transition(state, { kind: "taken" });
    }
    this.#follow(room);
    return created
      ? (state) => transition(state, { kind: "vanished" })
      : (state) => reconcile(state, [...room.occupants.keys()]);
  }

  /** Our nick may have been taken while we were away: then the bot joins under another one. */
  async #joinOwnRoom(jid: BareJid, password: string) {
    try {
      return await this.muc.join(jid, this.settings.nickname, { password });
    } catch (error) {
      if (!(error instanceof StanzaError) || error.condition !== "conflict") throw error;
      const nick = `${this.settings.nickname}-${randomBytes(3).toString("hex")}`;
      return this.muc.join(jid, nick, { password });
    }
  }

  async #rejoinByJid(room: string): Promise<void> {
    const row = (await this.store.openRooms()).find((r) => r.jid === room);
    if (row && !this.#stopped) await this.#rejoin(row);
  }

  /** Claim timeouts and refills, every interval while all is well; failures back off. */
  async #maintain(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.settings.retry, this.log);
    while (!signal.aborted) {
      await sleep(this.settings.maintenanceIntervalMs, signal);
      if (signal.aborted || !this.bot.online) continue;
      // An outage is the database's to report; the pool resumes when it is back.
      if (!(await this.db.whenAvailable(signal))) return;
      try {
        const expired = await this.store.expiredClaims(this.settings.claimTimeoutMs);
        await Promise.all(
          expired.map((room) =>
            this.#handle(room as BareJid, { kind: "claim-timeout" }, new Map()),
          ),
        );
        await this.fill();
        backoff.succeeded();
      } catch (error) {
        if (error instanceof StorageUnavailableError) continue;
        const delay = backoff.failed({
          level: "warn",
          message: `pool maintenance failed (${describe(error)})`,
        });
        await sleep(delay, signal);
      }
    }
  }

  #afterChange(): void {
    if (!this.#stopped) void this.fill().catch(() => undefined);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
