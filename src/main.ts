#!/usr/bin/env node
/**
 * The `concierge` command. It stays this small so that SIGTERM and SIGINT are caught from the
 * first moment: a signal that comes while the rest is loading is a stop before start-up (exit 0),
 * not a kill by the runtime's default handler.
 */
import { Signals } from "./signals.js";

const signals = new Signals();

process.on("unhandledRejection", (reason) => {
  // Every promise should be handled where it is made; if one slips through, say so and go on.
  process.stderr.write(`concierge: unhandled rejection: ${String(reason)}\n`);
});

const { main, exitOnError } = await import("./cli.js");
main(process.argv.slice(2), signals).then((code) => process.exit(code), exitOnError);
