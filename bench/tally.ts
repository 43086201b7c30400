/**
 * What the benchmarks against a floor measure of each target, and the steps every one of them
 * takes: rounds of iq load with the processes' CPU time, one change fanned out to many clients,
 * and the JSON figures of both.
 */
import { performance } from "node:perf_hooks";
import { watchArrivals } from "./arrivals.js";
import { runIqLoad, type IqLoadOptions, type IqLoadResult } from "./iq-load.js";
import { CpuMeter } from "./proc-cpu.js";
import type { RawClient } from "./raw-client.js";
import { emit, figureWriter, median, progress, round } from "./stats.js";
import { attr, startTag } from "./xml-scan.js";

export type TargetName = "floor" | "concierge";

/** CPU ms by process name ("component", "server", "load"…); undefined where unknown. */
export type CpuUse = Record<string, number | undefined>;

/** What is measured of one target under iq load, over all rounds. */
export interface LoadTally<N extends string = TargetName> {
  name: N;
  jid: string;
  pid: number | undefined;
  throughputs: number[];
  errors: number;
  lost: number;
  samples: string[];
  /** CPU ms per process and replies, summed over the measured rounds. */
  cpuMs: Record<string, number>;
  replies: number;
}

export function loadTally<N extends string>(
  name: N,
  jid: string,
  pid: number | undefined,
): LoadTally<N> {
  return {
    name,
    jid,
    pid,
    throughputs: [],
    errors: 0,
    lost: 0,
    samples: [],
    cpuMs: {},
    replies: 0,
  };
}

/** Adds a load run's wrong and unanswered replies (and a few samples) to the tally. */
export function count(target: LoadTally<string>, result: IqLoadResult): void {
  target.errors += result.errors;
  target.lost += result.lost;
  target.samples.push(...result.errorSamples.slice(0, 5 - target.samples.length));
}

export function addCpu(total: Record<string, number>, used: CpuUse): void {
  for (const [name, ms] of Object.entries(used)) {
    if (ms !== undefined) total[name] = (total[name] ?? 0) + ms;
  }
}

export function describeCpu(used: CpuUse): string {
  return Object.entries(used)
    .map(([name, ms]) => `${name} ${ms === undefined ? "?" : Math.round(ms)} ms`)
    .join(", ");
}

export interface LoadRounds {
  /** Seconds of unmeasured load on each target first; 0 for none. */
  warmup: number;
  rounds: number;
  /** Seconds of each measured run. */
  seconds: number;
}

export interface LoadRun<T extends LoadTally<string>> {
  /** The server's pid: CPU is metered as "component" (the target's), "server" and "load" (ours). */
  server: number | undefined;
  /** One run of load on `target`. */
  load: (target: T, seconds: number) => Promise<IqLoadResult>;
  /** How progress names a throughput, e.g. "iq/s". */
  unit: string;
  signal: AbortSignal;
  /** After each round (every target measured once). */
  afterRound?: () => Promise<void>;
}

/** Pipelined requests from `clients` (runIqLoad) to the target, for LoadRun's `load`. */
export function iqLoad(
  clients: readonly RawClient[],
  options: Omit<IqLoadOptions, "to" | "durationMs">,
): (target: LoadTally<string>, seconds: number) => Promise<IqLoadResult> {
  return (target, seconds) =>
    runIqLoad(clients, { ...options, to: target.jid, durationMs: seconds * 1000 });
}

/** Warm-up, then rounds of load, the targets in turn within a round; fills the tallies. */
export async function measureLoads<T extends LoadTally<string>>(
  targets: readonly T[],
  rounds: LoadRounds,
  options: LoadRun<T>,
): Promise<void> {
  const { load, unit, signal } = options;
  if (rounds.warmup > 0) {
    for (const target of targets) {
      const result = await load(target, rounds.warmup);
      count(target, result);
      progress(`warm-up ${target.name}: ${Math.round(result.throughput)} ${unit}`);
    }
  }
  for (let roundIndex = 1; roundIndex <= rounds.rounds; roundIndex += 1) {
    for (const target of targets) {
      signal.throwIfAborted();
      const meter = new CpuMeter({
        component: target.pid,
        server: options.server,
        load: process.pid,
      });
      const before = meter.snapshot();
      const result = await load(target, rounds.seconds);
      const used = CpuMeter.since(before, meter.snapshot());
      count(target, result);
      target.throughputs.push(result.throughput);
      target.replies += result.replies;
      addCpu(target.cpuMs, used);
      progress(
        `round ${roundIndex} ${target.name}: ${Math.round(result.throughput)} ${unit}` +
          ` (${result.completed} in ${Math.round(result.elapsedMs)} ms; CPU ${describeCpu(used)})`,
      );
    }
    await options.afterRound?.();
  }
}

export interface LoadFigures<T extends LoadTally<string> = LoadTally<string>> {
  bench: string;
  /** The figures' prefix: `PREFIX_throughput`, `PREFIX_cpu_per_iq`…; "" for none. */
  prefix: string;
  /** Decimals of the throughput figure. */
  digits: number;
  /** Details of the throughput figure. */
  details?: Record<string, string>;
  /** Figures between the throughput and the CPU ones (e.g. latencies). */
  more?: (target: T, line: ReturnType<typeof figureWriter>) => void;
}

/**
 * One target's load figures: throughput (median over rounds), CPU per iq by process, and wrong or
 * unanswered replies. Returns true if there were any.
 */
export function reportLoad<T extends LoadTally<string>>(
  target: T,
  figures: LoadFigures<T>,
): boolean {
  const line = figureWriter(figures.bench, target.name);
  const metric = (name: string) => (figures.prefix ? `${figures.prefix}_${name}` : name);
  const label = figures.prefix ? `${figures.prefix} ${target.name}` : target.name;
  const throughput = median(target.throughputs);
  progress(
    `${label}: median ${Math.round(throughput)} iq/s over rounds ` +
      target.throughputs.map((value) => Math.round(value)).join(", "),
  );
  line(metric("throughput"), round(throughput, figures.digits), "iq/s", figures.details);
  figures.more?.(target, line);
  for (const [name, ms] of Object.entries(target.cpuMs)) {
    const perIq = target.replies > 0 ? (ms * 1000) / target.replies : Number.NaN;
    line(metric("cpu_per_iq"), round(perIq, 1), "us", { process: name });
  }
  line(metric("errors"), target.errors + target.lost, "iq");
  if (target.errors + target.lost === 0) return false;
  progress(
    `${label}: ${target.errors} wrong replies, ${target.lost} unanswered; e.g.\n  ` +
      target.samples.join("\n  "),
  );
  return true;
}

/** Concierge's median throughput over the floor's: the `PREFIX_ratio` figure, with its goal. */
export function reportLoadRatio(
  figures: LoadFigures & { goal: number },
  floor: LoadTally<string>,
  concierge: LoadTally<string>,
): void {
  const ratio = median(concierge.throughputs) / median(floor.throughputs);
  const pairs = concierge.throughputs.map((value, i) => value / floor.throughputs[i]!);
  const { bench, prefix, goal } = figures;
  emit({ bench, metric: `${prefix}_ratio`, value: round(ratio, 3), goal });
  progress(
    `${prefix} ratio: concierge/floor ${ratio.toFixed(3)} (per round ` +
      `${pairs.map((r) => r.toFixed(2)).join(", ")}; goal ≥ ${goal}: ${ratio >= goal ? "met" : "not met"})`,
  );
}

/** What is measured of one target fanning a change out to many clients, over all trials. */
export interface FanoutTally {
  name: TargetName;
  /** Where the change goes, or the sender of what the clients receive. */
  jid: string;
  pid: number | undefined;
  /** From causing the change until the last client, and the first, had it. */
  lastMs: number[];
  firstMs: number[];
  /** From causing the change until what caused it was done (e.g. its iq answered). */
  replyMs: number[];
  cpuMs: Record<string, number>;
  /** Bytes of one stanza as a client received it. */
  messageBytes: number;
  others: number;
  duplicates: number;
}

export function fanoutTally(name: TargetName, jid: string, pid: number | undefined): FanoutTally {
  return {
    name,
    jid,
    pid,
    lastMs: [],
    firstMs: [],
    replyMs: [],
    cpuMs: {},
    messageBytes: 0,
    others: 0,
    duplicates: 0,
  };
}

/** A message from `from` that contains each of `texts` given. */
export function messageFrom(from: string, ...texts: (string | undefined)[]) {
  return (stanza: string): boolean =>
    stanza.startsWith("<message") &&
    attr(startTag(stanza), "from") === from &&
    texts.every((text) => text === undefined || stanza.includes(text));
}

/** How a trial is metered and whether it counts. */
export interface TrialRun {
  pids: Record<string, number | undefined>;
  measured: boolean;
  signal: AbortSignal;
}

export interface TrialOptions<C> extends TrialRun {
  /** The clients that each await one stanza. */
  recipients: readonly RawClient[];
  /** The stanza they await. */
  match: (stanza: string) => boolean;
  /** Sends what causes the fan-out; resolves once the trigger's side is done. */
  cause: () => Promise<C>;
  /** Default 20 s. */
  timeoutMs?: number;
}

export interface TrialResult<C> {
  lastMs: number;
  firstMs: number;
  replyMs: number;
  /** The first awaited stanza, raw. */
  sample: string;
  /** What `cause` resolved with. */
  caused: C;
}

/**
 * One change and its fan-out: resolves once every recipient has received the stanza it awaits
 * and the cause is done, with the times from causing it; measured trials go into the tally.
 */
export async function fanoutTrial<C>(
  target: FanoutTally,
  options: TrialOptions<C>,
): Promise<TrialResult<C>> {
  const meter = new CpuMeter(options.pids);
  const before = meter.snapshot();
  const arrivals = watchArrivals(options.recipients, {
    match: options.match,
    timeoutMs: options.timeoutMs ?? 20_000,
    signal: options.signal,
  });
  const start = performance.now();
  const caused = options.cause().then((value) => ({ value, at: performance.now() }));
  const [got, done] = await Promise.allSettled([arrivals, caused]);
  if (got.status === "rejected") throw got.reason;
  if (done.status === "rejected") throw done.reason;
  const used = CpuMeter.since(before, meter.snapshot());
  const { times, others, duplicates, otherSamples, sample } = got.value;
  if (others > 0) progress(`${target.name}: ${others} unexpected stanzas, e.g. ${otherSamples[0]}`);
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const time of times) {
    first = Math.min(first, time);
    last = Math.max(last, time);
  }
  const result: TrialResult<C> = {
    lastMs: last - start,
    firstMs: first - start,
    replyMs: done.value.at - start,
    sample,
    caused: done.value.value,
  };
  target.messageBytes = Buffer.byteLength(sample);
  target.others += others;
  target.duplicates += duplicates;
  if (options.measured) {
    target.lastMs.push(result.lastMs);
    target.firstMs.push(result.firstMs);
    target.replyMs.push(result.replyMs);
    addCpu(target.cpuMs, used);
  }
  // Let stragglers (such as the trigger's own copy) pass before the next trial.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return result;
}

export interface FanoutFigures<T extends FanoutTally> {
  bench: string;
  /** The figures' prefix: `PREFIX_ms`, `PREFIX_first_ms`…, `PREFIX_ratio`. */
  prefix: string;
  /** How progress names it and its recipients, e.g. "fan-out" and "members". */
  label: string;
  recipients: string;
  /** How many recipients each change reached. */
  reached: number;
  /** Details of the `PREFIX_ms` figure. */
  details: (target: T) => Record<string, string>;
  /** Also `PREFIX_reply_ms`: until the cause was done. */
  reply?: boolean;
  /** Details of the `PREFIX_ratio` figure before `of` (e.g. the ratio at p99). */
  ratioDetails?: (floor: T, concierge: T) => Record<string, number>;
}

/**
 * Each target's fan-out figures (median times to the last and the first recipient, CPU per
 * change by process), then the floor's median time over Concierge's. Returns true if any
 * recipient received a stanza twice.
 */
export function reportFanouts<T extends FanoutTally>(
  targets: readonly [T, T],
  figures: FanoutFigures<T>,
): boolean {
  const { bench, prefix, label } = figures;
  let failed = false;
  for (const target of targets) {
    const line = figureWriter(bench, target.name);
    const last = median(target.lastMs);
    progress(
      `${label} ${target.name}: median ${last.toFixed(1)} ms to the last of ${figures.reached} ` +
        `over trials ${target.lastMs.map((ms) => ms.toFixed(1)).join(", ")}`,
    );
    line(`${prefix}_ms`, round(last, 1), "ms", figures.details(target));
    line(`${prefix}_first_ms`, round(median(target.firstMs), 1), "ms");
    if (figures.reply) line(`${prefix}_reply_ms`, round(median(target.replyMs), 1), "ms");
    for (const [name, ms] of Object.entries(target.cpuMs)) {
      line(`${prefix}_cpu_per_change`, round(ms / target.lastMs.length, 1), "ms", {
        process: name,
      });
    }
    if (target.others + target.duplicates > 0) {
      progress(
        `${label} ${target.name}: ${target.duplicates} duplicate and ${target.others} ` +
          `unexpected stanzas at the ${figures.recipients}`,
      );
    }
    if (target.duplicates > 0) failed = true;
  }
  const [floor, concierge] = targets;
  const ratio = median(floor.lastMs) / median(concierge.lastMs);
  emit({
    bench,
    metric: `${prefix}_ratio`,
    value: round(ratio, 3),
    ...figures.ratioDetails?.(floor, concierge),
    of: "floor time / concierge time",
  });
  progress(
    `${label} ratio: floor/concierge time ${ratio.toFixed(3)} (Concierge takes ` +
      `${(1 / ratio).toFixed(2)}× the floor's time; ${concierge.lastMs.length} trials each)`,
  );
  return failed;
}
