import type { Logger } from "pino";
import type { Config } from "./config.js";
import { migrate } from "./db/migrate.js";
import { createPool, waitForDatabase, type Pool } from "./db/pool.js";
import { migrationsDir, packageVersion } from "./paths.js";
import { PresenceCore } from "./presence/service.js";
import type { Service } from "./service.js";
import { buildServices } from "./services.js";
import { installBuiltins } from "./xmpp/builtins.js";
import { ComponentLink, NotConnectedError } from "./xmpp/component-link.js";
import { Router } from "./xmpp/router.js";

export interface AppOptions {
  /** Apply pending migrations at start (the default; `start --no-migrate` turns it off). */
  migrate: boolean;
  services?: Service[];
}

/**
 * The composition root. Start: database (retried) → migrations → router and services →
 * component connection. Stop: in reverse, each step bounded, the pool last.
 */
export class App {
  readonly link: ComponentLink;
  readonly router: Router;
  readonly db: Pool;
  readonly presence: PresenceCore;
  readonly #services: Service[];
  #started: Service[] = [];

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly options: AppOptions,
  ) {
    this.db = createPool(config.database.url, config.database.pool_size, log.child({ svc: "db" }));
    this.link = new ComponentLink({
      host: config.component.host,
      port: config.component.port,
      domain: config.component.jid,
      secret: config.component.secret,
      reconnect: backoffPolicy(config),
      log: log.child({ svc: "component" }),
    });
    this.router = new Router((stanza) => this.link.send(stanza), log.child({ svc: "router" }));
    this.presence = new PresenceCore(
      config,
      this.link,
      this.router,
      this.db,
      log.child({ svc: "presence" }),
    );
    this.#services = options.services ?? buildServices(config);
  }

  /** Returns false if `signal` aborted start-up (e.g. SIGTERM while the database was down). */
  async start(signal: AbortSignal): Promise<boolean> {
    const dbLog = this.log.child({ svc: "db" });
    if (!(await waitForDatabase(this.db, backoffPolicy(this.config), dbLog, signal))) return false;
    if (this.options.migrate) await migrate(this.db, migrationsDir, dbLog);

    this.router.identity({
      category: "component",
      type: "generic",
      name: this.config.component.name,
    });
    installBuiltins(this.router, { name: "Concierge", version: packageVersion });
    for (const service of this.#services) {
      service.install({
        config: this.config,
        router: this.router,
        link: this.link,
        db: this.db,
        presence: this.presence,
        log: this.log.child({ svc: service.name }),
      });
    }

    this.link.on("stanza", (stanza) => this.router.dispatch(stanza));
    this.link.on("offline", () => this.router.caller.rejectAll(new NotConnectedError()));
    this.link.start();
    this.presence.start();

    for (const service of this.#services) {
      if (signal.aborted) return false;
      await service.start?.();
      this.#started.push(service);
    }
    return true;
  }

  async stop(): Promise<void> {
    const drainMs = Math.floor(this.config.shutdown_timeout_ms / 3);
    await this.router.close(drainMs);
    for (const service of this.#started.reverse()) {
      try {
        await service.stop?.();
      } catch (error) {
        this.log.error({ err: error, svc: service.name }, "service failed to stop cleanly");
      }
    }
    this.#started = [];
    await this.presence.stop();
    await this.link.stop();
    this.router.caller.rejectAll(new NotConnectedError());
    await this.db.end();
  }
}

function backoffPolicy(config: Config) {
  return {
    initialDelayMs: config.reconnect.initial_delay_ms,
    maxDelayMs: config.reconnect.max_delay_ms,
  };
}
