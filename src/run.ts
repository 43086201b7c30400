import type { Logger } from "pino";
import { App, type AppOptions } from "./app.js";
import type { Config } from "./config.js";

/**
 * Runs the daemon until SIGTERM or SIGINT, then shuts down within `shutdown_timeout_ms`.
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

  const app = new App(config, log, options);
  let code = 0;
  try {
    if (await app.start(stopping.signal)) {
      log.info({ jid: config.component.jid }, "concierge started");
      await new Promise((resolve) => stopping.signal.addEventListener("abort", resolve));
    }
  } catch (error) {
    log.fatal({ err: error }, `start-up failed: ${(error as Error).message}`);
    code = 1;
  }

  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<"overrun">((resolve) => {
    timer = setTimeout(() => resolve("overrun"), config.shutdown_timeout_ms);
  });
  const stopped = (async () => {
    await app.stop();
    await afterStop();
    return "stopped" as const;
  })().catch((error: unknown) => {
    log.error({ err: error }, "error while stopping");
    return "stopped" as const;
  });
  const outcome = await Promise.race([stopped, overrun]);
  clearTimeout(timer);
  if (outcome === "overrun") {
    log.error({ timeoutMs: config.shutdown_timeout_ms }, "shutdown took too long; exiting anyway");
    code = 1;
  } else {
    log.info("stopped");
  }
  process.off("SIGTERM", onSignal);
  process.off("SIGINT", onSignal);
  return code;
}
