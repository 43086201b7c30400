import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Pool } from "./db/pool.js";
import type { Presence } from "./presence/service.js";
import type { ComponentLink } from "./xmpp/component-link.js";
import type { Router } from "./xmpp/router.js";

/** What every service is built from. Services share nothing else with each other. */
export interface ServiceContext {
  config: Config;
  router: Router;
  link: ComponentLink;
  db: Pool;
  /** Who is online where, who sees whom, and the one way to address users and devices. */
  presence: Presence;
  log: Logger;
}

/**
 * A service registers its handlers and disco features in `install`; `start` and `stop` are
 * called in order at start-up and in reverse order at shutdown.
 */
export interface Service {
  readonly name: string;
  install(context: ServiceContext): void;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}
