import { resolve } from "node:path";
import { progress } from "./stats.js";
import { Teardown } from "./teardown.js";
import type { ServerKind } from "../src/dev/server.js";

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

type LoadFlag = "clients" | "window" | "seconds" | "rounds" | "warmup";

/**
 * parseArgs options of the flags of rounds of iq load, with one benchmark's defaults: --clients,
 * --window (requests each keeps in flight), --seconds (of a measured round), --rounds, --warmup.
 */
export function loadFlags(defaults: Record<LoadFlag, string>) {
  const flag = (value: string) => ({ type: "string", default: value }) as const;
  return {
    clients: flag(defaults.clients),
    window: flag(defaults.window),
    seconds: flag(defaults.seconds),
    rounds: flag(defaults.rounds),
    warmup: flag(defaults.warmup),
  };
}

/** The values of loadFlags, checked. */
export function loadSettings(values: Record<LoadFlag, string>) {
  return {
    clients: integerFlag("clients", values.clients),
    window: integerFlag("window", values.window),
    seconds: secondsFlag("seconds", values.seconds, 0.1),
    rounds: integerFlag("rounds", values.rounds),
    warmup: secondsFlag("warmup", values.warmup, 0),
  };
}

/** --read-size: Prosody's network_default_read_size in bytes, 0 for Prosody's own default. */
export function readSizeFlag(text: string): number {
  return text === "0" ? 0 : integerFlag("read-size", text);
}

/** --cpu-prof DIR, made absolute. */
export function cpuProfFlag(text: string | undefined): string | undefined {
  return text === undefined ? undefined : resolve(text);
}

/** --server: the private XMPP server the benchmark runs on (prosody, the default, or ejabberd). */
export const serverOption = { server: { type: "string", default: "prosody" } } as const;

export function serverFlag(text: string): ServerKind {
  if (text !== "prosody" && text !== "ejabberd") {
    throw new Error(`--server must be prosody or ejabberd, not ${text}`);
  }
  return text;
}
