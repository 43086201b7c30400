import type { Logger } from "pino";
import { App, type AppOptions } from "./app.js";
import { aborted } from "./backoff.js";
import type { Config } from "./config.js";
import { watchLaunchers } from "./launcher.js";
import { armWatchdog } from "./watchdog.js";

/** How much longer than shutdown_timeout_ms the watchdog waits for a stuck event loop. */
const WATCHDOG_GRACE_MS = 750;

/**
 * Runs the daemon until SIGTERM or SIGINT, then shuts down within `shutdown_timeout_ms`, from
 * whatever state it is in (waiting for the database, migrating, connecting, online).
 * Resolves with the process exit code: 0 after a clean stop, 1 if start-up failed or the stop
 * overran its time. A second signal exits at once.
 */
export async function runUntilSignal(
  config: Config,
  log: Logger,
  options: AppOptions,
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
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  if (options.earlySignal) onSignal("SIGTERM");
  const unwatch = watchLaunchers((launcher) => {
    if (stopping.signal.aborted) return;
    log.warn(
      { launcher },
      `the program that started concierge, ${launcher}, has ended or lost its parent; shutting down`,
    );
    stopping.abort();
  });

  const app = new App(config, log, options);
  let code = 0;
  const { component } = config;
  log.info({ jid: component.jid, server: `${component.host}:${component.port}` }, "starting");
  const startup = app.start(stopping.signal).then(
    (running) => running,
    (error: unknown) => {
      log.fatal({ err: error }, `start-up failed: ${(error as Error).message}`);
      code = 1;
      return false;
    },
  );
  if (await Promise.race([startup, aborted(stopping.signal).then(() => false)])) {
    // Started means serving: say so once the server has accepted the component.
    void app.link.waitOnline(stopping.signal).then((online) => {
      if (online) log.info({ jid: component.jid }, "concierge started");
    });
    await aborted(stopping.signal);
  }

  const budget = config.shutdownTimeoutMs;
  const disarm = armWatchdog(budget + WATCHDOG_GRACE_MS);
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<"overrun">((resolve) => {
    timer = setTimeout(() => resolve("overrun"), budget);
  });
  const stopped = (async () => {
    stopping.abort();
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
    code = 1;
  } else {
    log.info("stopped");
  }
  unwatch();
  process.off("SIGTERM", onSignal);
  process.off("SIGINT", onSignal);
  return code;
}
