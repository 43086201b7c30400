import { progress } from "./stats.js";
import { Teardown } from "./teardown.js";

/**
 * The entry point every benchmark shares: parse flags (exit 2 with the usage on a bad one), run,
 * clean up whatever happened, and exit 1 on failure.
 */
export function runBench<S>(
  name: string,
  usage: string,
  parseSettings: (argv: string[]) => S | undefined,
  bench: (settings: S, teardown: Teardown) => Promise<number>,
): void {
  const describe = (error: unknown) =>
    error instanceof Error ? (error.stack ?? error.message) : String(error);
  const main = async (): Promise<number> => {
    let settings: S | undefined;
    try {
      settings = parseSettings(process.argv.slice(2));
    } catch (error) {
      progress(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
      return 2;
    }
    if (!settings) {
      progress(usage);
      return 0;
    }
    const teardown = new Teardown();
    try {
      return await bench(settings, teardown);
    } catch (error) {
      const interrupted = teardown.signal.aborted && error === teardown.signal.reason;
      progress(`${name} bench failed: ${interrupted ? String(error) : describe(error)}`);
      return 1;
    } finally {
      progress("cleaning up");
      await teardown.run();
    }
  };
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      progress(`${name} bench failed: ${describe(error)}`);
      process.exit(1);
    },
  );
}

/** A whole-number flag within [min, max]; a bad value throws a message naming the flag. */
export function integerFlag(name: string, text: string, min = 1, max = Number.MAX_SAFE_INTEGER) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new Error(`--${name} must be an integer ${range}`);
  }
  return value;
}

/** A number-of-seconds flag of at least `min`. */
export function secondsFlag(name: string, text: string, min: number) {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be ≥ ${min}`);
  return value;
}
