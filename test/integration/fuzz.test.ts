import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { test } from "node:test";
import { describeReport, runFuzz } from "../fuzz/run.js";

/**
 * A short fuzzing run in the normal suite (test/fuzz/run.ts says what is checked). 10,000
 * stanzas take about 20–30 s on the project's 2-core machine. FUZZ_SEED=N repeats a run; a
 * failure names its seed. Longer runs: `npm run fuzz -- --stanzas 100000 --seed N`.
 */
const STANZAS = 10_000;
const seed = seedFromEnvironment();

test(
  `${STANZAS} fuzzed stanzas (seed ${seed}): no exit, one reply per iq, bounded memory`,
  {
    timeout: 300_000,
  },
  async (t) => {
    t.diagnostic(`FUZZ_SEED=${seed}`);
    const report = await runFuzz({
      stanzas: STANZAS,
      seed,
      progress: (line) => t.diagnostic(line),
    });
    const figures = {
      ...report,
      findings: undefined,
      repliesByNamespace: undefined,
      received: undefined,
    };
    t.diagnostic(JSON.stringify(figures));
    for (const finding of report.findings) {
      t.diagnostic(`finding ${finding.kind} ×${finding.count}: ${finding.message.slice(0, 300)}`);
    }
    assert.deepEqual(report.failures, [], `seed ${seed}:\n${describeReport(report)}`);
  },
);

function seedFromEnvironment(): number {
  const text = process.env.FUZZ_SEED;
  if (text === undefined || text === "") return randomInt(2 ** 32);
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** 32) {
    throw new Error(`FUZZ_SEED must be an integer from 0 to 2^32 - 1, not ${text}`);
  }
  return value;
}
