import type { WebchatOptions } from "../config.js";
import type { Service, ServiceContext } from "../service.js";
import { Bridge } from "./bridge.js";
import { webchatRoutes } from "./routes.js";
import { WebchatStore } from "./store.js";

/**
 * The browser chat bridge (Nereid "Browser based Chat 1.0"): the web application mints tokens,
 * a browser streams its session's events and sends with its token, and each session is an
 * occupant of its pool room. See the README, "Browser chat bridge".
 */
export function webchatService(settings: WebchatOptions): Service {
  let bridge: Bridge;
  let store: WebchatStore;
  let sweeper: NodeJS.Timeout | undefined;
  let log: ServiceContext["log"];

  return {
    name: "webchat",

    install(context: ServiceContext) {
      const { db, muc, link, router, http, config, ops } = context;
      if (!http) throw new Error("the web chat needs the HTTP server (the http section)");
      log = context.log;
      store = new WebchatStore(db);
      bridge = new Bridge(
        store,
        db,
        muc,
        link,
        {
          componentJid: config.component.jid,
          gracePeriodMs: settings.gracePeriodMs,
          keepaliveMs: settings.keepaliveMs,
          limits: {
            perToken: settings.maxStreamsPerToken,
            perAddress: settings.maxStreamsPerAddress,
            total: settings.maxStreams,
          },
          retry: config.reconnect,
        },
        log,
      );
      router.observe("message", ({ stanza }) => bridge.directMessage(stanza));
      http.routes(webchatRoutes(bridge, store, settings));
      http.onStop(() => bridge.readers.closeAll());
      ops.metrics.onCollect(() => ops.metrics.webStreams.set(bridge.readers.size));
    },

    start() {
      bridge.start();
      sweeper = setInterval(() => {
        store.sweepTokens().then(
          (swept) => swept > 0 && log.debug({ swept }, "expired web chat tokens swept"),
          () => undefined,
        );
      }, settings.sweepIntervalMs);
      sweeper.unref();
      return Promise.resolve();
    },

    async stop(budgetMs: number) {
      clearInterval(sweeper);
      await bridge.stop(budgetMs);
    },

    halt() {
      clearInterval(sweeper);
      bridge.readers.closeAll();
    },
  };
}
