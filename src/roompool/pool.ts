import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { KeyedQueue } from "../keyed-queue.js";
import type { BotLink } from "./bot-link.js";
import { reconcile, transition, type RoomEvent, type Transition } from "./lifecycle.js";
import type { MucClient } from "./muc.js";
import type { RoomSettings } from "./room-config.js";
import { stateOf, type RoomRow, type RoomStore } from "./store.js";

export interface PoolSettings {
  mucService: string;
  minAvailable: number;
  maxRooms: number;
  maxOccupants: number;
  historyLength: number;
  persistent: boolean;
  claimTimeoutMs: number;
  maintenanceIntervalMs: number;
  createConcurrency: number;
}

/**
 * Keeps `minAvailable` configured rooms ready (never more than `maxRooms` open), moves each room
 * through its lifecycle on what the bot sees, releases claims nobody honoured, and after every
 * (re)connection rejoins the open rooms and corrects the table from who is really there.
 * Everything that touches one room runs in order through one queue per room.
 */
export class RoomPool {
  readonly #queue = new KeyedQueue();
  #filling: Promise<void> | undefined;
  #refill = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly bot: BotLink,
    private readonly muc: MucClient,
    private readonly store: RoomStore,
    private readonly settings: PoolSettings,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.bot.on("online", () => void this.#resync());
    this.muc.on("occupant", (room, nick, kind) => void this.#handle(room, { kind, nick }));
    this.muc.on("lost", (room) => void this.#rejoinByJid(room));
    this.#timer = setInterval(() => void this.#maintain(), this.settings.maintenanceIntervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#filling;
    await this.#queue.idle();
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

  /**
   * Keeps `createConcurrency` creations in flight until the shortfall counted at the start is made
   * up; a change meanwhile (a claim, a closed room) asks for another round with fresh counts.
   */
  async #fillLoop(): Promise<void> {
    do {
      this.#refill = false;
      if (this.#stopped || !this.bot.online) return;
      const { open, available } = await this.store.counts();
      let missing = Math.min(this.settings.minAvailable - available, this.settings.maxRooms - open);
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
        this.log.warn(
          { err: failed instanceof Error ? failed.message : failed },
          "room creation failed; retrying at the next check",
        );
        return;
      }
    } while (this.#refill);
  }

  async #createRoom(): Promise<void> {
    const room = `${randomBytes(16).toString("hex")}@${this.settings.mucService}`;
    const password = randomBytes(18).toString("base64url");
    const { created } = await this.muc.join(room, undefined);
    if (!created) throw new Error(`room ${room} existed already`);
    await this.muc.configure(room, this.#roomSettings(password));
    await this.store.insert(room, password);
    this.log.debug({ room }, "room ready");
  }

  #roomSettings(password: string): RoomSettings {
    const { maxOccupants, historyLength, persistent } = this.settings;
    return { password, maxOccupants, historyLength, persistent };
  }

  #handle(room: string, event: RoomEvent): Promise<void> {
    return this.#queue
      .run(room, async () => {
        const step = await this.store.apply(
          room,
          (state) => transition(state, event),
          (nick) => this.muc.realJid(room, nick),
        );
        if (step) await this.#perform(room, undefined, step);
      })
      .then(() => this.#afterChange())
      .catch((error: unknown) =>
        this.log.warn({ room, event, err: String(error) }, "room event failed"),
      );
  }

  async #perform(room: string, row: RoomRow | undefined, step: Transition): Promise<void> {
    if (step.cause)
      this.log.info({ room, status: step.state.status, cause: step.cause }, "room status");
    for (const action of step.actions) {
      if (action.kind === "kick") await this.muc.kick(room, action.nick, action.reason);
      if (action.kind === "destroy") await this.muc.destroy(room, action.reason);
      if (action.kind === "recreate" && row) {
        await this.muc.configure(room, this.#roomSettings(row.password));
      }
    }
  }

  /** After a (re)connection: every open room rejoined and corrected, then the pool refilled. */
  async #resync(): Promise<void> {
    try {
      const rows = await this.store.openRooms();
      const limit = this.settings.createConcurrency;
      for (let i = 0; i < rows.length; i += limit) {
        await Promise.all(rows.slice(i, i + limit).map((row) => this.#rejoin(row)));
      }
      this.log.info({ rooms: rows.length }, "rooms resynchronised");
      await this.fill();
    } catch (error) {
      this.log.warn({ err: String(error) }, "resynchronisation failed; it runs again on reconnect");
    }
  }

  #rejoin(row: RoomRow): Promise<void> {
    return this.#queue
      .run(row.jid, async () => {
        const { created, occupants } = await this.muc.join(row.jid, row.password);
        const step = await this.store.apply(
          row.jid,
          (state) =>
            created
              ? transition(state, { kind: "vanished" })
              : reconcile(state, [...occupants.keys()]),
          (nick) => occupants.get(nick),
        );
        if (step) await this.#perform(row.jid, row, step);
      })
      .catch((error: unknown) =>
        this.log.warn({ room: row.jid, err: String(error) }, "rejoin failed"),
      );
  }

  async #rejoinByJid(room: string): Promise<void> {
    const row = (await this.store.openRooms()).find((r) => r.jid === room);
    if (row && !this.#stopped) await this.#rejoin(row);
  }

  async #maintain(): Promise<void> {
    if (!this.bot.online || this.#stopped) return;
    try {
      const expired = await this.store.expiredClaims(this.settings.claimTimeoutMs);
      await Promise.all(expired.map((room) => this.#handle(room, { kind: "claim-timeout" })));
      await this.fill();
    } catch (error) {
      this.log.warn({ err: String(error) }, "pool maintenance failed");
    }
  }

  #afterChange(): void {
    if (!this.#stopped) void this.fill();
  }
}

export { stateOf };
