import type { RoomPoolOptions } from "../config.js";
import type { Service, ServiceContext } from "../service.js";
import { clientLink } from "../xmpp/client-link.js";
import type { Link } from "../xmpp/link.js";
import { MucClient } from "../xmpp/muc.js";
import { RoomPool } from "./pool.js";
import { RoomStore } from "./store.js";

/**
 * The MUC room pool for the help-desk web application: a bot account keeps password-protected
 * rooms ready and records every room's status in Postgres (see migrations/002_roompool.sql for
 * the web application's side of the contract).
 */
export function roomPoolService(settings: RoomPoolOptions): Service {
  let bot: Link;
  let pool: RoomPool;

  return {
    name: "roompool",

    install({ db, log, config, presence }: ServiceContext) {
      bot = clientLink({
        service: settings.service,
        jid: settings.jid,
        password: settings.password,
        resource: settings.resource,
        name: "bot",
        reconnect: config.reconnect,
        loginTimeoutMs: config.reconnect.loginTimeoutMs,
        log,
      });
      const muc = new MucClient(bot, { defaultAs: settings.jid, stampFrom: false, log });
      bot.on("stanza", (stanza) => void muc.handle(stanza));
      bot.on("offline", () => muc.reset());
      const store = new RoomStore(db);
      presence.recordCalls((room, active) => store.setInCall(room, active));
      pool = new RoomPool(
        bot,
        muc,
        store,
        db,
        presence,
        { ...settings, retry: config.reconnect },
        log,
      );
    },

    start() {
      pool.start();
      bot.start();
      return Promise.resolve();
    },

    async stop(budgetMs: number) {
      await pool.stop(budgetMs / 2);
      await bot.stop(budgetMs / 2);
    },
  };
}
