import type { RoomPoolOptions } from "../config.js";
import { watchLink } from "../ops/wiring.js";
import type { Service, ServiceContext } from "../service.js";
import { clientLink } from "../xmpp/client-link.js";
import type { Link } from "../xmpp/link.js";
import { MucClient } from "../xmpp/muc.js";
import { addPoolCommands } from "./commands.js";
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

    install({ db, log, config, presence, ops, acting, commands }: ServiceContext) {
      const { metrics } = ops;
      bot = clientLink({
        service: settings.service,
        jid: settings.jid,
        password: settings.password,
        resource: settings.resource,
        name: "bot",
        reconnect: config.reconnect,
        loginTimeoutMs: config.reconnect.loginTimeoutMs,
        sent: (kind) => metrics.stanzasOut.inc({ link: "bot", kind }),
        acting,
        log,
      });
      watchLink(ops, "bot", bot);
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
        (count) => metrics.claimTimeouts.inc(count),
      );
      addPoolCommands(commands, store, settings, () => void pool.fill().catch(() => undefined));
      metrics.onCollect(async () => {
        if (!db.available) return;
        metrics.poolRooms.reset();
        for (const [status, count] of await store.countsByStatus()) {
          metrics.poolRooms.set({ status }, count);
        }
      });
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

    halt() {
      pool.halt();
      bot.halt();
    },
  };
}
