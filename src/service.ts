import type { Logger } from "pino";
import type { CommandRegistry } from "./adhoc/command.js";
import type { Config } from "./config.js";
import type { Database } from "./db/database.js";
import type { HttpServer } from "./http/server.js";
import type { Ops } from "./ops/wiring.js";
import type { PresencePort } from "./presence/port.js";
import type { ComponentLink } from "./xmpp/component-link.js";
import type { MucClient } from "./xmpp/muc.js";
import type { Router } from "./xmpp/router.js";

/** What every service is built from. Services share nothing else with each other. */
export interface ServiceContext {
  config: Config;
  router: Router;
  /** The component's connection: send, request, and its online/offline events. */
  link: ComponentLink;
  db: Database;
  /** Who is online where, who sees whom, and the one way to address users and devices. */
  presence: PresencePort;
  /** The rooms the component itself is in (as its own JID or as `node@component`). */
  muc: MucClient;
  /** The HTTP server, where the configuration has one (the http section): add routes here. */
  http: HttpServer | undefined;
  /** Admin commands (XEP-0050): add the service's own; only the configured admins run them. */
  commands: CommandRegistry;
  /** Metrics and readiness checks: register what the service knows about itself. */
  ops: Ops;
  /** Whether this instance may act now (active/standby); pass it to connections of your own. */
  acting: () => boolean;
  log: Logger;
}

/**
 * A service registers its handlers and disco features in `install`; `start` and `stop` are
 * called in order at start-up and in reverse order at shutdown. `stop` should return within
 * `budgetMs`; the daemon cuts it off after that anyway.
 */
export interface Service {
  readonly name: string;
  install(context: ServiceContext): void;
  start?(): Promise<void>;
  stop?(budgetMs: number): Promise<void>;
  /** Stop acting at once, synchronously (the lease is lost): cut connections, take no work. */
  halt?(): void;
}
