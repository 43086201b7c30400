import type { Logger } from "pino";
import { AdHocCommands, noCommands } from "./adhoc/registry.js";
import { within } from "./backoff.js";
import type { Config } from "./config.js";
import { Database } from "./db/database.js";
import { migrate, pendingMigrations } from "./db/migrate.js";
import { explainFailure } from "./errors.js";
import { httpServerFor, httpService, type HttpServer } from "./http/server.js";
import { newOps, opsRoutes, watchDatabase, watchLink, type Ops } from "./ops/wiring.js";
import { migrationsDir, packageVersion } from "./paths.js";
import { PresenceService } from "./presence/service.js";
import type { Service, ServiceContext } from "./service.js";
import { buildServices } from "./services.js";
import { installBuiltins } from "./xmpp/builtins.js";
import { componentLink, type ComponentLink } from "./xmpp/component-link.js";
import { MucClient } from "./xmpp/muc.js";
import { Router } from "./xmpp/router.js";

export interface AppOptions {
  /** Apply pending migrations at start (false: `--no-migrate` or `migrate_on_start: false`). */
  migrate: boolean;
  /** The services to run (default: the ones the configuration turns on). */
  services?: Service[];
}

/** The active/standby term this App acts in. */
export interface TermFence {
  /** Set on every database connection: the database refuses writes of a term that is over. */
  fence: string;
  /** Whether the term still holds; false ends it (see Lease.holds). */
  holds: () => boolean;
}

/**
 * Waits for the database (one line per attempt), then applies the pending migrations, or (not
 * migrating) checks that none is pending. False if `signal` aborted first.
 */
export async function prepareDatabase(
  db: Database,
  migrateIt: boolean,
  log: Logger,
  signal: AbortSignal,
): Promise<boolean> {
  if (!(await db.waitUntilReachable(signal))) return false;
  if (migrateIt) {
    await migrate(db, migrationsDir, log);
  } else {
    const missing = await pendingMigrations(db, migrationsDir);
    if (missing.length > 0) {
      throw new StartupError(
        `the database lacks migrations ${missing.join(", ")}: run \`concierge migrate\` ` +
          `(or start without --no-migrate, with database.migrate_on_start: true)`,
      );
    }
  }
  return !signal.aborted;
}

/** A start-up failure whose message says what to do. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

/**
 * The composition root. Start: database (retried) → migrations → router and services →
 * component connection. Stop, from whatever point start-up reached: in reverse, each step
 * bounded by what is left of the shutdown budget, the database last.
 */
export class App {
  readonly db: Database;
  readonly link: ComponentLink;
  readonly router: Router;
  readonly muc: MucClient;
  /** The HTTP server (the http section): health, metrics, the web chat; it listens last. */
  readonly http: HttpServer | undefined;
  /** Whether this instance may act now: always without active/standby, else while it leads. */
  readonly acting: () => boolean;
  readonly #services: Service[];
  #installed = false;
  #started: Service[] = [];
  #starting: Promise<boolean> | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly options: AppOptions,
    private readonly ops: Ops = newOps(),
    term?: TermFence,
  ) {
    const { component, database, reconnect } = config;
    const { metrics } = ops;
    this.acting = term?.holds ?? (() => true);
    this.db = new Database({
      url: database.url,
      poolSize: database.poolSize,
      connectTimeoutMs: database.connectTimeoutMs,
      queryTimeoutMs: database.queryTimeoutMs,
      retry: { initialDelayMs: reconnect.initialDelayMs, maxDelayMs: database.maxRetryDelayMs },
      ...(term ? { fence: term.fence } : {}),
      log: log.child({ svc: "db" }),
    });
    this.link = componentLink({
      host: component.host,
      port: component.port,
      domain: component.jid,
      secret: component.secret,
      reconnect,
      loginTimeoutMs: reconnect.loginTimeoutMs,
      maxStanzaBytes: component.maxStanzaBytes,
      sent: (kind) => metrics.stanzasOut.inc({ link: "component", kind }),
      acting: this.acting,
      log: log.child({ svc: "component" }),
    });
    const routerLog = log.child({ svc: "router" });
    this.router = new Router((stanza) => this.link.send(stanza), routerLog, explainFailure, {
      received: (kind, ns) => metrics.stanzasIn.inc({ kind, ns }),
      answered: (ns, seconds) => metrics.handlerSeconds.observe({ ns }, seconds),
      refused: (condition) => metrics.errors.inc({ condition }),
    });
    this.muc = new MucClient(this.link, {
      defaultAs: component.jid,
      stampFrom: true,
      log: log.child({ svc: "muc" }),
    });
    this.http = config.http ? httpServerFor(config.http, log) : undefined;
    if (this.http) {
      opsRoutes(this.http, ops);
      this.http.admit(this.acting);
    }
    watchLink(ops, "component", this.link);
    watchDatabase(ops, this.db);
    this.#services = [
      new PresenceService(config.presence),
      ...(options.services ?? buildServices(config)),
      ...(this.http ? [httpService(this.http)] : []),
    ];
  }

  /** Returns false if `signal` aborted start-up (e.g. SIGTERM while the database was down). */
  start(signal: AbortSignal): Promise<boolean> {
    return (this.#starting ??= this.#start(signal));
  }

  async #start(signal: AbortSignal): Promise<boolean> {
    const dbLog = this.log.child({ svc: "db" });
    if (!(await prepareDatabase(this.db, this.options.migrate, dbLog, signal))) return false;
    this.#install();
    this.link.start();
    for (const service of this.#services) {
      if (signal.aborted) return false;
      await service.start?.();
      this.#started.push(service);
    }
    return !signal.aborted;
  }

  /**
   * This instance must stop acting at once (it no longer holds the lease): no request is taken
   * and the XMPP connections are cut, synchronously; stop() then tidies up.
   */
  halt(): void {
    void this.router.close(0);
    this.link.halt();
    for (const service of this.#services) service.halt?.();
  }

  /** Stops whatever has started, in reverse order, within about `budgetMs`. */
  async stop(budgetMs: number): Promise<void> {
    const deadline = Date.now() + budgetMs;
    const left = (share = 1) => Math.max(0, Math.floor((deadline - Date.now()) * share));
    // A start-up still under way sees its signal at its next step; let it get there first.
    if (this.#starting)
      await within(
        this.#starting.catch(() => false),
        left(1 / 4),
      );
    await this.router.close(left(1 / 4));
    for (const service of this.#started.reverse()) {
      const budget = left(1 / 2);
      try {
        const done = await within(
          (service.stop?.(budget) ?? Promise.resolve()).then(() => true),
          budget,
        );
        if (!done) this.log.warn({ svc: service.name }, "service did not stop in time");
      } catch (error) {
        this.log.error({ err: error, svc: service.name }, "service failed to stop cleanly");
      }
    }
    this.#started = [];
    await this.link.stop(left(2 / 3));
    this.muc.reset();
    await within(this.db.end(), left());
  }

  #install(): void {
    if (this.#installed) return;
    this.#installed = true;
    this.router.identity({
      category: "component",
      type: "generic",
      name: this.config.component.name,
    });
    installBuiltins(this.router, { name: "Concierge", version: packageVersion });
    const settings = this.config.commands;
    const commands = settings?.enabled
      ? new AdHocCommands(this.router, {
          componentJid: this.config.component.jid,
          admins: settings.admins,
          maxSessions: settings.maxSessions,
          timeoutMs: settings.sessionTimeoutMs,
          log: this.log.child({ svc: "commands" }),
        })
      : noCommands;
    const [presence] = this.#services as [PresenceService, ...Service[]];
    const context: ServiceContext = {
      config: this.config,
      router: this.router,
      link: this.link,
      db: this.db,
      presence,
      muc: this.muc,
      http: this.http,
      commands,
      ops: this.ops,
      acting: this.acting,
      log: this.log,
    };
    // Room traffic reaches the rooms' occupants before any handler sees it.
    this.router.observe("presence", ({ stanza }) => void this.muc.handle(stanza));
    this.router.observe("message", ({ stanza }) => void this.muc.handle(stanza));
    for (const service of this.#services) {
      service.install({ ...context, log: this.log.child({ svc: service.name }) });
    }
    this.link.on("stanza", (stanza) => this.router.dispatch(stanza));
    this.link.on("offline", () => this.muc.reset());
  }
}
