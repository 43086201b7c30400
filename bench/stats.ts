/** Small statistics and output helpers shared by the benchmarks. */
import { performance } from "node:perf_hooks";

export { seededRandom } from "../src/dev/random.js";

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The p-th percentile (0–100) by nearest rank; NaN for no samples. */
export function percentile(values: readonly number[] | Float64Array, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** Rounds to `digits` decimals (for output only). */
export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** One figure, printed as one JSON line on stdout. */
export interface Figure {
  bench: string;
  target?: string;
  metric: string;
  value: number;
  unit?: string;
  [detail: string]: string | number | undefined;
}

export function emit(figure: Figure): void {
  process.stdout.write(`${JSON.stringify(figure)}\n`);
}

/** Progress and diagnostics: stderr, so that stdout carries only figures. */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** emit() for one bench and target: `figure(metric, value, unit, extra)`. */
export function figureWriter(bench: string, target: string) {
  return (metric: string, value: number, unit: string, extra: Record<string, string> = {}) =>
    emit({ bench, target, metric, value, unit, ...extra });
}

/** A clock for progress lines: each call of the result gives the time since, e.g. "12.3 s". */
export function stopwatch(): () => string {
  const started = performance.now();
  return () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
}
