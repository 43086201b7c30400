/** The OLPC benchmark's parts: constants, settings, tallies, one fan-out trial, the report. */
import { performance } from "node:perf_hooks";
import { watchArrivals } from "./arrivals.js";
import { requestOnce, type IqLoadResult } from "./iq-load.js";
import { CpuMeter } from "./proc-cpu.js";
import type { RawClient } from "./raw-client.js";
import { emit, figureWriter, median, progress, round } from "./stats.js";
import { attr, startTag } from "./xml-scan.js";

export const BENCH = "olpc";
export const NS_ACTIVITY = "http://laptop.org/xmpp/activity";
export const NS_ACTIVITY_PROPS = "http://laptop.org/xmpp/activity-properties";
export const NS_RSM = "http://jabber.org/protocol/rsm";
/** Minimum share of the floor's query throughput Concierge should reach (reported only). */
export const GOAL = 0.8;
/** The floor node answering with Concierge's query payload: query@floor.localhost. */
export const QUERY_NODE = "query";
/** The floor node that fans out: as long as "concierge.localhost", so messages weigh the same. */
export const FANOUT_NODE = "fan";

/**
 * What each watcher opens: a draft result set of the one activity (`<activity id/>`), a view of
 * it, or the draft result set of a `type` query (every activity of that type, ~1/10 of all).
 */
export type WatchKind = "draft" | "view" | "type";

export interface Settings {
  buddies: number;
  activities: number;
  clients: number;
  window: number;
  seconds: number;
  rounds: number;
  warmup: number;
  watchers: number;
  trials: number;
  switching: number;
  watch: WatchKind;
  readSize: number;
  cpuProf: string | undefined;
}

export type TargetName = "floor" | "concierge";

export interface LoadTally {
  name: TargetName;
  jid: string;
  pid: number | undefined;
  throughputs: number[];
  errors: number;
  lost: number;
  samples: string[];
  cpuMs: Record<string, number>;
  replies: number;
}

export interface FanoutTally {
  name: TargetName;
  /** Sender of the notifications (for the floor, also where the trigger iq goes). */
  jid: string;
  pid: number | undefined;
  lastMs: number[];
  firstMs: number[];
  cpuMs: Record<string, number>;
  /** Bytes of one notification as a watcher received it. */
  messageBytes: number;
  others: number;
  duplicates: number;
}

/** The draft activity query of the throughput figure: one `type`, pages of 10. */
export function typeQuery(type: string): string {
  return (
    `<query xmlns='${NS_ACTIVITY}'><activity><property type='str' name='type'>${type}</property>` +
    `</activity><set xmlns='${NS_RSM}'><max>10</max></set></query>`
  );
}

/** The request a watcher opens its watch with (see WatchKind). */
export function watchRequest(kind: WatchKind, activity: { id: string; type: string }): string {
  switch (kind) {
    case "draft":
      return `<query xmlns='${NS_ACTIVITY}'><activity id='${activity.id}'/></query>`;
    case "view":
      return `<view xmlns='${NS_ACTIVITY}' id='1' size='1'><activity id='${activity.id}'/></view>`;
    case "type":
      return typeQuery(activity.type);
  }
}

export interface SequentialResult {
  completed: number;
  elapsedMs: number;
  errors: number;
  sample: string | undefined;
}

/**
 * Each client sends `payloads` in turn, one request in flight, for `durationMs`: with two
 * different queries every request replaces the client's result set with a different one.
 */
export async function sequentialLoad(
  clients: readonly RawClient[],
  to: string,
  payloads: readonly string[],
  durationMs: number,
): Promise<SequentialResult> {
  const result: SequentialResult = { completed: 0, elapsedMs: 0, errors: 0, sample: undefined };
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    clients.map(async (client, index) => {
      for (let n = index; performance.now() < deadline; n += 1) {
        const reply = await requestOnce(client, to, payloads[n % payloads.length]!, 10_000);
        if (attr(startTag(reply), "type") === "result" && reply.includes("<count>")) {
          result.completed += 1;
        } else {
          result.errors += 1;
          result.sample ??= reply.slice(0, 500);
        }
      }
    }),
  );
  result.elapsedMs = performance.now() - started;
  return result;
}

export function loadTally(name: TargetName, jid: string, pid: number | undefined): LoadTally {
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

export function fanoutTally(name: TargetName, jid: string, pid: number | undefined): FanoutTally {
  return {
    name,
    jid,
    pid,
    lastMs: [],
    firstMs: [],
    cpuMs: {},
    messageBytes: 0,
    others: 0,
    duplicates: 0,
  };
}

export function count(target: LoadTally, result: IqLoadResult): void {
  target.errors += result.errors;
  target.lost += result.lost;
  target.samples.push(...result.errorSamples.slice(0, 5 - target.samples.length));
}

export function addCpu(
  total: Record<string, number>,
  used: Record<string, number | undefined>,
): void {
  for (const [name, ms] of Object.entries(used)) {
    if (ms !== undefined) total[name] = (total[name] ?? 0) + ms;
  }
}

export function describeCpu(used: Record<string, number | undefined>): string {
  return Object.entries(used)
    .map(([name, ms]) => `${name} ${ms === undefined ? "?" : Math.round(ms)} ms`)
    .join(", ");
}

/** The child of a result iq, as raw XML. */
export function resultPayload(reply: string): string {
  return reply.slice(startTag(reply).length, reply.lastIndexOf("</iq>"));
}

/** The children of a message, as raw XML. */
export function messagePayload(message: string): string {
  return message.slice(startTag(message).length, message.lastIndexOf("</message>"));
}

/** Runs `work` on every item with at most `limit` at a time; results in item order. */
export async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Drops whatever the clients have received so far (stray presence and the like); returns how much. */
export async function flush(clients: readonly RawClient[], settleMs = 200): Promise<number> {
  let dropped = 0;
  for (const client of clients) client.listen(() => (dropped += 1));
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  for (const client of clients) client.listen(undefined);
  return dropped;
}

export interface TrialOptions {
  watchers: readonly RawClient[];
  /** Sends what causes the fan-out; resolves once the trigger's side is done. */
  cause: () => Promise<unknown>;
  /** Concierge's notices of this trial carry this text; the floor's are told apart by sender. */
  marker: string | undefined;
  pids: Record<string, number | undefined>;
  measured: boolean;
  signal: AbortSignal;
}

export interface TrialResult {
  lastMs: number;
  firstMs: number;
  sample: string;
}

/**
 * One change and its fan-out: resolves once every watcher has received its notice (from the
 * target's JID, with this trial's marker if given), with the time to the first and the last.
 */
export async function fanoutTrial(
  target: FanoutTally,
  options: TrialOptions,
): Promise<TrialResult> {
  const { watchers, marker, signal } = options;
  const meter = new CpuMeter(options.pids);
  const before = meter.snapshot();
  const arrivals = watchArrivals(watchers, {
    match: (stanza) =>
      stanza.startsWith("<message") &&
      attr(startTag(stanza), "from") === target.jid &&
      (marker === undefined || stanza.includes(marker)),
    timeoutMs: 20_000,
    signal,
  });
  const start = performance.now();
  const caused = options.cause();
  const [got, done] = await Promise.allSettled([arrivals, caused]);
  if (got.status === "rejected") throw got.reason;
  if (done.status === "rejected") throw done.reason;
  const used = CpuMeter.since(before, meter.snapshot());
  const { times, others, duplicates, otherSamples, sample } = got.value;
  if (others > 0) progress(`${target.name}: ${others} unexpected stanzas, e.g. ${otherSamples[0]}`);
  const result: TrialResult = {
    lastMs: Math.max(...times) - start,
    firstMs: Math.min(...times) - start,
    sample,
  };
  target.messageBytes = Buffer.byteLength(sample);
  target.others += others;
  target.duplicates += duplicates;
  if (options.measured) {
    target.lastMs.push(result.lastMs);
    target.firstMs.push(result.firstMs);
    addCpu(target.cpuMs, used);
  }
  // Let any straggler pass before the next trial.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return result;
}

export interface Facts {
  replyBytes: number;
  matches: number;
  watchers: number;
  watch: WatchKind;
  openMs: number;
  readSize: number;
  /** Queries that each open a different result set (two types in turn), Concierge only. */
  switching: { cpuUs: number; throughput: number; queries: number } | undefined;
}

export function report(
  settings: Settings,
  loads: LoadTally[],
  fanouts: FanoutTally[],
  facts: Facts,
): number {
  let failed = false;
  const readSize = String(facts.readSize || 4096);
  for (const target of loads) {
    const line = figureWriter(BENCH, target.name);
    const throughput = median(target.throughputs);
    progress(
      `query ${target.name}: median ${Math.round(throughput)} iq/s over rounds ` +
        target.throughputs.map((value) => Math.round(value)).join(", "),
    );
    line("query_throughput", round(throughput, 1), "iq/s", {
      reply_bytes: String(facts.replyBytes),
      matches: String(facts.matches),
      buddies: String(settings.buddies),
      activities: String(settings.activities),
      prosody_read_size: readSize,
    });
    for (const [name, ms] of Object.entries(target.cpuMs)) {
      const perIq = target.replies > 0 ? (ms * 1000) / target.replies : Number.NaN;
      line("query_cpu_per_iq", round(perIq, 1), "us", { process: name });
    }
    line("query_errors", target.errors + target.lost, "iq");
    if (target.errors + target.lost > 0) {
      failed = true;
      progress(
        `query ${target.name}: ${target.errors} wrong replies, ${target.lost} unanswered; e.g.\n  ` +
          target.samples.join("\n  "),
      );
    }
  }
  const [floorLoad, conciergeLoad] = loads as [LoadTally, LoadTally];
  const ratio = median(conciergeLoad.throughputs) / median(floorLoad.throughputs);
  const pairs = conciergeLoad.throughputs.map((value, i) => value / floorLoad.throughputs[i]!);
  emit({ bench: BENCH, metric: "query_ratio", value: round(ratio, 3), goal: GOAL });
  progress(
    `query ratio: concierge/floor ${ratio.toFixed(3)} (per round ` +
      `${pairs.map((r) => r.toFixed(2)).join(", ")}; goal ≥ ${GOAL}: ${ratio >= GOAL ? "met" : "not met"})`,
  );
  const componentMs = conciergeLoad.cpuMs.component;
  if (componentMs !== undefined && conciergeLoad.replies > 0) {
    emit({
      bench: BENCH,
      target: "concierge",
      metric: "component_cpu_per_query",
      value: round((componentMs * 1000) / conciergeLoad.replies, 1),
      unit: "us",
      queries: conciergeLoad.replies,
    });
  }

  if (facts.switching) {
    emit({
      bench: BENCH,
      target: "concierge",
      metric: "component_cpu_per_query_switching",
      value: round(facts.switching.cpuUs, 1),
      unit: "us",
      queries: facts.switching.queries,
      throughput: round(facts.switching.throughput, 1),
      of: "each query opens a different result set (two types in turn, one in flight per client)",
    });
  }
  emit({
    bench: BENCH,
    target: "concierge",
    metric: "watchers_open_ms",
    value: round(facts.openMs),
    unit: "ms",
    watchers: facts.watchers,
    watch: facts.watch,
  });
  for (const target of fanouts) {
    const line = figureWriter(BENCH, target.name);
    const last = median(target.lastMs);
    progress(
      `notify ${target.name}: median ${last.toFixed(1)} ms to the last of ${facts.watchers} over ` +
        `trials ${target.lastMs.map((ms) => ms.toFixed(1)).join(", ")}`,
    );
    line("notify_ms", round(last, 1), "ms", {
      watchers: String(facts.watchers),
      watch: facts.watch,
      message_bytes: String(target.messageBytes),
      prosody_read_size: readSize,
    });
    line("notify_first_ms", round(median(target.firstMs), 1), "ms");
    for (const [name, ms] of Object.entries(target.cpuMs)) {
      line("notify_cpu_per_change", round(ms / target.lastMs.length, 1), "ms", { process: name });
    }
    if (target.others + target.duplicates > 0) {
      progress(
        `notify ${target.name}: ${target.duplicates} duplicate and ${target.others} ` +
          `unexpected stanzas at the watchers`,
      );
    }
    if (target.duplicates > 0) failed = true;
  }
  const [floorFanout, conciergeFanout] = fanouts as [FanoutTally, FanoutTally];
  const fanoutRatio = median(floorFanout.lastMs) / median(conciergeFanout.lastMs);
  emit({
    bench: BENCH,
    metric: "notify_ratio",
    value: round(fanoutRatio, 3),
    of: "floor time / concierge time",
  });
  progress(
    `notify ratio: floor/concierge time ${fanoutRatio.toFixed(3)} (Concierge takes ` +
      `${(1 / fanoutRatio).toFixed(2)}× the floor's time; ${settings.trials} trials each)`,
  );
  if (failed) progress("some replies or notifications were wrong or missing: exiting 1");
  return failed ? 1 : 0;
}
