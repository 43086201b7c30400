/** The OLPC benchmark's parts: constants, settings, queries, the report. */
import { performance } from "node:perf_hooks";
import { requestOnce } from "./iq-load.js";
import { propertiesXml, type BenchActivity } from "./olpc-data.js";
import { CpuMeter } from "./proc-cpu.js";
import type { RawClient } from "./raw-client.js";
import { emit, progress, round } from "./stats.js";
import {
  describeCpu,
  reportFanouts,
  reportLoad,
  reportLoadRatio,
  type FanoutTally,
  type LoadTally,
} from "./tally.js";
import { attr, startTag } from "./xml-scan.js";
import type { ServerKind } from "../src/dev/server.js";

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
  /** --server: the private XMPP server. */
  server: ServerKind;
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

/**
 * Queries that each open a different result set: every client sends `payloads` in turn, one in
 * flight, for `seconds` (see sequentialLoad); the component's CPU time per query and throughput.
 */
export async function measureSwitching(
  clients: readonly RawClient[],
  to: string,
  payloads: readonly string[],
  pids: { component: number | undefined; server: number | undefined; load: number },
  seconds: number,
): Promise<NonNullable<Facts["switching"]>> {
  const meter = new CpuMeter(pids);
  const before = meter.snapshot();
  const result = await sequentialLoad(clients, to, payloads, seconds * 1000);
  const used = CpuMeter.since(before, meter.snapshot());
  if (result.errors > 0) {
    throw new Error(`switching queries failed: ${result.errors}, e.g. ${result.sample}`);
  }
  const switching = {
    cpuUs: ((used.component ?? Number.NaN) * 1000) / result.completed,
    throughput: (result.completed * 1000) / result.elapsedMs,
    queries: result.completed,
  };
  progress(
    `switching types: ${Math.round(switching.throughput)} iq/s with one in flight per ` +
      `client (${result.completed} queries; CPU ${describeCpu(used)})`,
  );
  return switching;
}

/** The watched activity's properties with a new title, as its participant sends them. */
export function propertiesMessage(to: string, activity: BenchActivity, title: string): string {
  const properties = activity.properties.map((p) =>
    p.name === "name" ? { ...p, value: title } : p,
  );
  return (
    `<message to='${to}'><properties xmlns='${NS_ACTIVITY_PROPS}' activity='${activity.id}'` +
    ` room='${activity.room}'>${propertiesXml(properties)}</properties></message>`
  );
}

/** Drops whatever the clients have received so far (stray presence and the like); returns how much. */
export async function flush(clients: readonly RawClient[], settleMs = 200): Promise<number> {
  let dropped = 0;
  for (const client of clients) client.listen(() => (dropped += 1));
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  for (const client of clients) client.listen(undefined);
  return dropped;
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
  loads: [LoadTally, LoadTally],
  fanouts: [FanoutTally, FanoutTally],
  facts: Facts,
): number {
  const readSize = String(facts.readSize || 4096);
  const figures = {
    bench: BENCH,
    prefix: "query",
    digits: 1,
    details: {
      reply_bytes: String(facts.replyBytes),
      matches: String(facts.matches),
      buddies: String(settings.buddies),
      activities: String(settings.activities),
      prosody_read_size: readSize,
    },
  };
  let failed = false;
  for (const target of loads) failed = reportLoad(target, figures) || failed;
  const [, conciergeLoad] = loads;
  reportLoadRatio({ ...figures, goal: GOAL }, ...loads);
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
  const duplicated = reportFanouts(fanouts, {
    bench: BENCH,
    prefix: "notify",
    label: "notify",
    recipients: "watchers",
    reached: facts.watchers,
    details: (target) => ({
      watchers: String(facts.watchers),
      watch: facts.watch,
      message_bytes: String(target.messageBytes),
      prosody_read_size: readSize,
    }),
  });
  if (!failed && !duplicated) return 0;
  progress("some replies or notifications were wrong or missing: exiting 1");
  return 1;
}
