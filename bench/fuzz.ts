/**
 * A long fuzzing run against the daemon through a private Prosody (test/fuzz/run.ts says what
 * is checked): prints the seed first (stderr), progress on stderr, the figures as one JSON line
 * on stdout at the end, and every failure and finding on stderr. Exit 1 when the run failed.
 *
 *   npm run fuzz -- --stanzas 100000 --seed 12345
 *
 * Flags: --stanzas (default 100,000), --seed (default random), --clients (4), --concurrency
 * (iqs in flight, 16), --timeout (ms until a reply is missing, 5,000), --churn-every (stanzas
 * between two replacements of the client that comes and goes, 2,000; 0 for never),
 * --oversize-rate (share of deliberately oversized stanzas, sent from their own connection,
 * default 0.0001).
 */
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import { describeReport, runFuzz } from "../test/fuzz/run.js";
import { integerFlag, runBench } from "./run.js";
import { progress } from "./stats.js";

const USAGE =
  "usage: npm run fuzz -- [--stanzas N] [--seed N] [--clients N] [--concurrency N] " +
  "[--timeout MS] [--churn-every N] [--oversize-rate X]";

interface Settings {
  stanzas: number;
  seed: number;
  clients: number;
  concurrency: number;
  timeoutMs: number;
  churnEvery: number;
  oversizeRate: number;
}

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      stanzas: { type: "string", default: "100000" },
      seed: { type: "string" },
      clients: { type: "string", default: "4" },
      concurrency: { type: "string", default: "16" },
      timeout: { type: "string", default: "5000" },
      "churn-every": { type: "string", default: "2000" },
      "oversize-rate": { type: "string", default: "0.0001" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return undefined;
  const oversizeRate = Number(values["oversize-rate"]);
  if (!(oversizeRate >= 0 && oversizeRate < 1)) {
    throw new Error("--oversize-rate must be a number from 0 to below 1");
  }
  return {
    stanzas: integerFlag("stanzas", values.stanzas),
    seed:
      values.seed === undefined
        ? randomInt(2 ** 32)
        : integerFlag("seed", values.seed, 0, 2 ** 32 - 1),
    clients: integerFlag("clients", values.clients, 4, 50),
    concurrency: integerFlag("concurrency", values.concurrency, 1, 1_000),
    timeoutMs: integerFlag("timeout", values.timeout, 100),
    churnEvery: integerFlag("churn-every", values["churn-every"], 0),
    oversizeRate,
  };
}

runBench("fuzz", USAGE, parseSettings, async (settings) => {
  progress(`fuzz: seed ${settings.seed} (repeat with --seed ${settings.seed})`);
  const report = await runFuzz({
    stanzas: settings.stanzas,
    seed: settings.seed,
    clients: settings.clients,
    concurrency: settings.concurrency,
    replyTimeoutMs: settings.timeoutMs,
    churnEvery: settings.churnEvery,
    oversizeRate: settings.oversizeRate,
    progress,
  });
  const { findings, ...figures } = report;
  process.stdout.write(
    `${JSON.stringify({
      bench: "fuzz",
      ...figures,
      findings: findings.map(({ kind, message, count }) => ({
        kind,
        message: message.slice(0, 300),
        count,
      })),
    })}\n`,
  );
  progress(describeReport(report) || `fuzz seed ${report.seed}: passed, no findings`);
  return report.failures.length === 0 ? 0 : 1;
});
