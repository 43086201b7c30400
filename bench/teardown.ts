import { progress } from "./stats.js";

/**
 * What a benchmark started, stopped in reverse order whatever happens: after success, after an
 * error, on SIGINT/SIGTERM (which also abort `signal`, so that a measurement ends early), and on
 * an uncaught exception. Each step is bounded and a failing step does not stop the others.
 */
export class Teardown {
  readonly #steps: { name: string; run: () => Promise<unknown> }[] = [];
  readonly #abort = new AbortController();
  #running: Promise<void> | undefined;

  constructor(private readonly stepTimeoutMs = 15_000) {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.#abort.signal.aborted) {
        progress(`${signal} again: exiting without cleaning up`);
        process.exit(130);
      }
      progress(`${signal}: stopping`);
      this.#abort.abort(new Error(`interrupted by ${signal}`));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("uncaughtException", (error) => {
      progress(`uncaught exception: ${error.stack ?? String(error)}`);
      void this.run().finally(() => process.exit(1));
    });
  }

  /** Aborted by SIGINT/SIGTERM. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  add(name: string, run: () => Promise<unknown>): void {
    this.#steps.push({ name, run });
  }

  /** Runs every step once, newest first; later calls wait for the same run. */
  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const { name, run } of this.#steps.reverse()) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("timed out")), this.stepTimeoutMs);
        });
        try {
          await Promise.race([run(), timeout]);
        } catch (error) {
          progress(
            `cleanup: ${name} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        } finally {
          clearTimeout(timer);
        }
      }
      this.#steps.length = 0;
    })();
    return this.#running;
  }
}
