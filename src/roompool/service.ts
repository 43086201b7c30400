import type { Config } from "../config.js";
import type { Presence } from "../presence/service.js";
import { bareOf, readPresence } from "../presence/stanzas.js";
import type { Service, ServiceContext } from "../service.js";
import { BotLink } from "./bot-link.js";
import { MucClient } from "./muc.js";
import { RoomPool } from "./pool.js";
import { RoomStore } from "./store.js";

type RoomPoolConfig = NonNullable<Config["roompool"]>;

/**
 * The MUC room pool for the help-desk web application: a bot account keeps password-protected
 * rooms ready and records every room's status in Postgres (see migrations/002_roompool.sql for
 * the web application's side of the contract).
 */
export function roomPoolService(settings: RoomPoolConfig): Service {
  let bot: BotLink;
  let pool: RoomPool;

  return {
    name: "roompool",

    install({ db, log, config, presence }: ServiceContext) {
      bot = new BotLink({
        service: settings.service,
        jid: settings.jid,
        password: settings.password,
        resource: settings.resource,
        reconnect: {
          initialDelayMs: config.reconnect.initial_delay_ms,
          maxDelayMs: config.reconnect.max_delay_ms,
        },
        log,
      });
      const muc = new MucClient(bot, settings.nickname, log);
      const store = new RoomStore(db);
      followPresence(muc, presence);
      presence.calls.addRecorder((room, active) => store.setInCall(room, active));
      pool = new RoomPool(
        bot,
        muc,
        store,
        {
          mucService: settings.muc_service,
          minAvailable: settings.min_available,
          maxRooms: settings.max_rooms,
          maxOccupants: settings.max_occupants,
          historyLength: settings.history_length,
          persistent: settings.persistent,
          claimTimeoutMs: settings.claim_timeout_ms,
          maintenanceIntervalMs: settings.maintenance_interval_ms,
          createConcurrency: settings.create_concurrency,
        },
        log,
      );
    },

    start() {
      pool.start();
      bot.start();
      return Promise.resolve();
    },

    async stop() {
      await pool.stop();
      await bot.stop();
    },
  };
}

/**
 * What the bot sees in its rooms feeds the presence core: each occupant's device and presence,
 * and the room itself, whose occupants see each other and may keep its in-call flag.
 */
function followPresence(muc: MucClient, presence: Presence): void {
  const { hub } = presence;
  muc.on("occupantPresence", (room, realJid, stanza) => {
    if (realJid?.includes("/")) {
      const event = readPresence(stanza);
      hub.seenIn(room, realJid, event?.kind === "available" ? event.report : "left");
    }
    hub.setRoom(room, new Set(muc.realJids(room).map(bareOf)));
  });
  muc.on("forgotten", (room) => {
    hub.sourceGone(room);
    hub.forget(room);
  });
}
