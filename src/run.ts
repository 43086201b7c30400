import type { Logger } from "pino";
import { App, prepareDatabase, type AppOptions } from "./app.js";
import { aborted, watchAbort } from "./backoff.js";
import type { Config } from "./config.js";
import { Database } from "./db/database.js";
import { standby } from "./ha/standby.js";
import { Lease, type Term } from "./ha/lease.js";
import { watchLaunchers } from "./launcher.js";
import { newOps, type Ops } from "./ops/wiring.js";
import { Signals } from "./signals.js";
import { armWatchdog } from "./watchdog.js";

/** How much longer than shutdown_timeout_ms the watchdog waits for a stuck event loop. */
const WATCHDOG_GRACE_MS = 750;

/**
 * Runs the daemon until SIGTERM or SIGINT, then shuts down within `shutdown_timeout_ms`, from
 * whatever state it is in (waiting for the database, migrating, connecting, online, standing by).
 * With active/standby (the `ha` section) it acts only while it holds the lease, and stands by
 * again when it loses it. Resolves with the process exit code: 0 after a clean stop, 1 if
 * start-up failed or the stop overran its time. A second signal exits at once.
 */
export async function runUntilSignal(
  config: Config,
  log: Logger,
  options: AppOptions & { signals?: Signals },
  afterStop: () => Promise<void> = async () => {},
): Promise<number> {
  const stopping = new AbortController();
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping.signal.aborted) {
      // A terminal's Ctrl-C reaches us both directly and relayed by a wrapper (npm, tsx): only a
      // signal that comes a second later is a person insisting.
      if (Date.now() - firstSignalAt < 1_000) return;
      log.warn({ signal }, "second signal: exiting at once");
      process.exit(1);
    }
    firstSignalAt = Date.now();
    log.info({ signal }, "shutting down");
    stopping.abort();
  };
  const untake = (options.signals ?? new Signals()).take(onSignal);
  const unwatch = watchLaunchers((launcher) => {
    if (stopping.signal.aborted) return;
    log.warn(
      { launcher },
      `the program that started concierge, ${launcher}, has ended or lost its parent; shutting down`,
    );
    stopping.abort();
  });

  const { component } = config;
  log.info({ jid: component.jid, server: `${component.host}:${component.port}` }, "starting");
  const ops = newOps();
  const run = config.ha?.enabled ? activeStandby : onlyInstance;
  const code = await run(config, log, options, ops, stopping.signal, afterStop);
  unwatch();
  untake();
  return code;
}

type Runner = (
  config: Config,
  log: Logger,
  options: AppOptions,
  ops: Ops,
  signal: AbortSignal,
  afterStop: () => Promise<void>,
) => Promise<number>;

/** One instance, always acting. */
const onlyInstance: Runner = async (config, log, options, ops, signal, afterStop) => {
  ops.metrics.leader.set(1);
  const app = new App(config, log, options, ops);
  const failed = await serve(app, log, signal);
  return (await stopBounded(app, config, log, afterStop, "stopped")) || failed ? 1 : 0;
};

/** Acts while holding the lease, stands by otherwise, until stopped. */
const activeStandby: Runner = async (config, log, options, ops, signal, afterStop) => {
  const ha = config.ha!;
  // The lease lives in the database: it must be there, migrated, before anyone asks for it.
  try {
    if (!(await prepared(config, log, options, signal))) return 0;
  } catch (error) {
    log.fatal({ err: error }, `start-up failed: ${(error as Error).message}`);
    return 1;
  }
  const lease = new Lease({
    url: config.database.url,
    name: ha.name,
    ttlMs: ha.leaseMs,
    renewMs: ha.renewMs,
    retry: {
      initialDelayMs: config.reconnect.initialDelayMs,
      maxDelayMs: config.database.maxRetryDelayMs,
    },
    log: log.child({ svc: "ha" }),
  });
  let failed = false;
  while (!signal.aborted) {
    ops.metrics.leader.set(0);
    const term = await standby(config, log, ops, lease, signal);
    if (!term) break;
    ops.metrics.leader.set(1);
    const outcome = await actFor(term, config, log, options, ops, lease, signal, afterStop);
    if (outcome === "failed") failed = true;
    if (outcome !== "lost") break;
  }
  await lease.close();
  return failed ? 1 : 0;
};

async function prepared(
  config: Config,
  log: Logger,
  options: AppOptions,
  signal: AbortSignal,
): Promise<boolean> {
  const db = new Database({
    url: config.database.url,
    poolSize: 2,
    connectTimeoutMs: config.database.connectTimeoutMs,
    queryTimeoutMs: 600_000,
    retry: {
      initialDelayMs: config.reconnect.initialDelayMs,
      maxDelayMs: config.database.maxRetryDelayMs,
    },
    log: log.child({ svc: "db" }),
  });
  try {
    return await prepareDatabase(db, options.migrate, log.child({ svc: "db" }), signal);
  } finally {
    await db.end();
  }
}

/** One term: start an App fenced by the term, run it until the lease is lost or a stop. */
async function actFor(
  term: Term,
  config: Config,
  log: Logger,
  options: AppOptions,
  ops: Ops,
  lease: Lease,
  signal: AbortSignal,
  afterStop: () => Promise<void>,
): Promise<"stopped" | "lost" | "failed"> {
  ops.health.clear();
  ops.health.register("leader", () => ({
    ok: true,
    detail: `holds the lease (epoch ${term.epoch})`,
  }));
  const app = new App(config, log, options, ops, {
    fence: term.fence,
    holds: () => lease.holds(term),
  });
  const termOver = new AbortController();
  // Synchronous: the moment the lease is in doubt, nothing more is done.
  const lose = (reason: string) => {
    if (termOver.signal.aborted) return;
    log.warn({ epoch: term.epoch, reason }, "no longer the leader: standing by");
    app.halt();
    termOver.abort();
  };
  lease.on("lost", lose);
  app.db.on("fenced", lose);
  const stop = watchAbort(signal);
  void stop.promise.then(() => termOver.abort());
  const failed = await serve(app, log, termOver.signal);
  stop.dispose();
  lease.off("lost", lose);
  const lost = !signal.aborted && !failed;
  const overran = lost
    ? await stopBounded(app, config, log, async () => {}, "term ended")
    : await stopBounded(app, config, log, afterStop, "stopped");
  if (!lost) await lease.release();
  if (failed || overran) return "failed";
  return lost ? "lost" : "stopped";
}

/** Starts the App and serves until `until` aborts; true if start-up failed. */
async function serve(app: App, log: Logger, until: AbortSignal): Promise<boolean> {
  let failed = false;
  const startup = app.start(until).then(
    (running) => running,
    (error: unknown) => {
      log.fatal({ err: error }, `start-up failed: ${(error as Error).message}`);
      failed = true;
      return false;
    },
  );
  if (await Promise.race([startup, aborted(until).then(() => false)])) {
    // Started means serving: say so once the server has accepted the component.
    void app.link.waitOnline(until).then((online) => {
      if (online) log.info({ jid: app.link.jid }, "concierge started");
    });
    await aborted(until);
  }
  return failed;
}

/** Stops the App within shutdown_timeout_ms; true if the bound had to cut it short. */
async function stopBounded(
  app: App,
  config: Config,
  log: Logger,
  afterStop: () => Promise<void>,
  done: string,
): Promise<boolean> {
  const budget = config.shutdownTimeoutMs;
  const disarm = armWatchdog(budget + WATCHDOG_GRACE_MS);
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<"overrun">((resolve) => {
    timer = setTimeout(() => resolve("overrun"), budget);
  });
  const stopped = (async () => {
    await app.stop(budget - 100);
    await afterStop();
    return "stopped" as const;
  })().catch((error: unknown) => {
    log.error({ err: error }, "error while stopping");
    return "stopped" as const;
  });
  const outcome = await Promise.race([stopped, overrun]);
  clearTimeout(timer);
  disarm();
  if (outcome === "overrun") {
    log.error({ timeoutMs: budget }, "shutdown took too long; exiting anyway");
    return true;
  }
  log.info(done);
  return false;
}
