import type { Config } from "../config.js";
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

    install({ db, log, config }: ServiceContext) {
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
      pool = new RoomPool(
        bot,
        muc,
        new RoomStore(db),
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
