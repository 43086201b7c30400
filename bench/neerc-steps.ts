/** The NEERC benchmark's parts: constants, tallies, room set-up, one fan-out trial, reports. */
import { readFile, writeFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import type { Account } from "../src/dev/prosody.js";
import { TestClient, xml } from "../test/harness/client.js";
import { createRoom, setAffiliation } from "../test/harness/muc.js";
import type { Stack } from "../test/harness/stack.js";
import { watchArrivals } from "./arrivals.js";
import { requestOnce, type IqLoadResult } from "./iq-load.js";
import { CpuMeter } from "./proc-cpu.js";
import { RawClient } from "./raw-client.js";
import { emit, figureWriter, median, progress, round } from "./stats.js";
import { attr, startTag } from "./xml-scan.js";

export const BENCH = "neerc";
export const NS = "http://neerc.ifmo.ru/protocol/neerc";
export const NS_TASKS = `${NS}#tasks`;
export const NS_TASK = `${NS}#task`;
export const NS_TASKSTATUS = `${NS}#taskstatus`;
export const NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin";
export const TASKS_QUERY = `<query xmlns='${NS_TASKS}'/>`;
/** Minimum share of the floor's #tasks throughput Concierge should reach (reported only). */
export const GOAL = 0.8;
/** The default room, served at the component JID itself. */
export const TASKS_ROOM = "neerc";
/** The fan-out room, served at fanout@component; the floor fans out for iqs to fanout@floor. */
export const FANOUT_ROOM = "fanout";
/** The floor node answering with Concierge's #tasks payload: tasks@floor.localhost. */
export const TASKS_NODE = "tasks";
export const TASK_TYPES = ["todo", "confirm", "okfail", "question", "todofail"] as const;
export const ADMIN: Account = { username: "admin", password: "pw-admin" };

export interface Settings {
  tasks: number;
  assignees: number;
  clients: number;
  window: number;
  seconds: number;
  rounds: number;
  warmup: number;
  users: number;
  trials: number;
  readSize: number;
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
  /** Where the trigger goes, and the sender of the notifications. */
  jid: string;
  pid: number | undefined;
  lastMs: number[];
  firstMs: number[];
  replyMs: number[];
  cpuMs: Record<string, number>;
  /** Bytes of one notification as a member received it. */
  messageBytes: number;
  others: number;
  duplicates: number;
}

/**
 * Prosody 0.12 reads each connection `network_default_read_size` bytes at a time (default 4096)
 * while LuaSocket fetches 8 KiB from the kernel; the leftover marks the socket "dirty" and Prosody
 * pauses reading it until a timer fires, which takes at least a millisecond (its min_wait). A
 * stream of large stanzas from one component, such as 180 KB #tasks answers, then arrives at about
 * 4 MB/s with the server mostly idle, and more requests in flight only add waiting. Reads larger
 * than LuaSocket's buffer leave nothing behind: the server is then limited by its CPU.
 */
export async function setReadSize(stack: Stack, bytes: number): Promise<void> {
  const config = await readFile(stack.prosody.configPath, "utf8");
  const at = config.indexOf("\nVirtualHost ");
  if (at < 0) throw new Error(`no VirtualHost in ${stack.prosody.configPath}`);
  const line = `\nnetwork_default_read_size = ${bytes}\n`;
  await writeFile(stack.prosody.configPath, config.slice(0, at) + line + config.slice(at));
  await stack.prosody.restart();
}

/** A members-only room owned by `owner` and the component, with `members`. */
export async function setUpRoom(
  owner: TestClient,
  stack: Stack,
  room: string,
  members: string[],
): Promise<void> {
  const roomJid = `${room}@${stack.prosody.mucDomain}`;
  await createRoom(owner, roomJid);
  await setAffiliation(owner, roomJid, stack.componentJid, "owner");
  // Prosody applies one item per request: all of them in flight at once (setAffiliation waits for
  // each reply in turn, and its 5 s bound is too short for hundreds queued behind each other).
  const replies = await Promise.all(
    members.map((jid) =>
      owner.request(
        xml(
          "iq",
          { type: "set", to: roomJid },
          xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { jid, affiliation: "member" })),
        ),
        60_000,
      ),
    ),
  );
  const failed = replies.find((reply) => reply.attrs.type !== "result");
  if (failed) throw new Error(`making a member of ${roomJid} failed: ${failed.toString()}`);
}

/** Creates a task through the admin's client; resolves with its id. */
export async function createTask(
  admin: TestClient,
  to: string,
  title: string,
  type: string,
  assignees: string[],
): Promise<string> {
  const reply = await admin.request(
    xml(
      "iq",
      { type: "set", to },
      xml(
        "task",
        { xmlns: NS_TASK, title, type },
        ...assignees.map((name) => xml("status", { for: name, type: "none" })),
      ),
    ),
    60_000,
  );
  const id = reply.getChild("task", NS_TASK)?.attrs.id as string | undefined;
  if (reply.attrs.type !== "result" || !id) {
    throw new Error(`creating task '${title}' failed: ${reply.toString()}`);
  }
  return id;
}

export function checkTasksReply(reply: string, settings: Settings): void {
  const tasks = reply.split("<task ").length - 1;
  const statuses = reply.split("<status ").length - 1;
  if (
    attr(startTag(reply), "type") !== "result" ||
    tasks !== settings.tasks ||
    statuses !== settings.tasks * settings.assignees
  ) {
    throw new Error(
      `expected ${settings.tasks} tasks with ${settings.assignees} statuses each, got ` +
        `${tasks} tasks and ${statuses} statuses: ${reply.slice(0, 500)}`,
    );
  }
}

/** The admin's report on the fan-out task; its value tells the trials' notifications apart. */
export function statusReport(taskId: string, trial: number): string {
  const type = trial % 2 === 0 ? "success" : "running";
  return `<taskstatus xmlns='${NS_TASKSTATUS}' id='${taskId}' type='${type}' value='${marker(trial)}'/>`;
}

export function marker(trial: number): string {
  return `trial-${String(trial).padStart(4, "0")}`;
}

export interface TrialOptions {
  trigger: RawClient;
  online: RawClient[];
  payload: string;
  marker: string;
  pids: Record<string, number | undefined>;
  measured: boolean;
  signal: AbortSignal;
}

export interface TrialResult {
  lastMs: number;
  firstMs: number;
  replyMs: number;
  sample: string;
  reply: string;
}

/**
 * One change and its fan-out: the trigger sends the report; resolves once every online member has
 * received the target's notification (Concierge's must carry this trial's marker; the floor sends
 * the same captured payload every time, told apart by its sender).
 */
export async function fanoutTrial(
  target: FanoutTally,
  options: TrialOptions,
): Promise<TrialResult> {
  const { trigger, online, payload, signal } = options;
  const matchMarker = target.name === "concierge" ? options.marker : undefined;
  const meter = new CpuMeter(options.pids);
  const before = meter.snapshot();
  const arrivals = watchArrivals(online, {
    match: (stanza) =>
      stanza.startsWith("<message") &&
      attr(startTag(stanza), "from") === target.jid &&
      stanza.includes(NS_TASKS) &&
      (matchMarker === undefined || stanza.includes(matchMarker)),
    timeoutMs: 20_000,
    signal,
  });
  const start = performance.now();
  const replied = requestOnce(trigger, target.jid, payload, 20_000).then((reply) => ({
    reply,
    at: performance.now(),
  }));
  const [got, answer] = await Promise.allSettled([arrivals, replied]);
  if (got.status === "rejected") throw got.reason;
  if (answer.status === "rejected") throw answer.reason;
  const used = CpuMeter.since(before, meter.snapshot());
  const { reply, at } = answer.value;
  if (attr(startTag(reply), "type") !== "result") {
    throw new Error(`${target.name} refused the status report: ${reply}`);
  }
  const { times, others, duplicates, otherSamples, sample } = got.value;
  if (others > 0) progress(`${target.name}: ${others} unexpected stanzas, e.g. ${otherSamples[0]}`);
  const result: TrialResult = {
    lastMs: Math.max(...times) - start,
    firstMs: Math.min(...times) - start,
    replyMs: at - start,
    sample,
    reply,
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
  // Let the stragglers (the admin's copy, dropped by the server) pass before the next trial.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return result;
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

/** The child of a result iq, as raw XML. */
export function resultPayload(reply: string): string {
  return reply.slice(startTag(reply).length, reply.lastIndexOf("</iq>"));
}

/** The children of a message, as raw XML. */
export function messagePayload(message: string): string {
  return message.slice(startTag(message).length, message.lastIndexOf("</message>"));
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
    replyMs: [],
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

export function report(
  settings: Settings,
  loads: LoadTally[],
  fanouts: FanoutTally[],
  facts: { replyBytes: number; readSize: number; recipients: number; online: number },
): number {
  let failed = false;
  for (const target of loads) {
    const line = figureWriter(BENCH, target.name);
    const throughput = median(target.throughputs);
    progress(
      `#tasks ${target.name}: median ${Math.round(throughput)}/s over rounds ` +
        target.throughputs.map((value) => Math.round(value)).join(", "),
    );
    line("tasks_throughput", round(throughput, 1), "iq/s", {
      reply_bytes: String(facts.replyBytes),
      prosody_read_size: String(facts.readSize || 4096),
    });
    for (const [name, ms] of Object.entries(target.cpuMs)) {
      const perIq = target.replies > 0 ? (ms * 1000) / target.replies : Number.NaN;
      line("tasks_cpu_per_iq", round(perIq, 1), "us", { process: name });
    }
    line("tasks_errors", target.errors + target.lost, "iq");
    if (target.errors + target.lost > 0) {
      failed = true;
      progress(
        `#tasks ${target.name}: ${target.errors} wrong replies, ${target.lost} unanswered; e.g.\n  ` +
          target.samples.join("\n  "),
      );
    }
  }
  const [floorLoad, conciergeLoad] = loads as [LoadTally, LoadTally];
  const ratio = median(conciergeLoad.throughputs) / median(floorLoad.throughputs);
  const pairs = conciergeLoad.throughputs.map((value, i) => value / floorLoad.throughputs[i]!);
  emit({ bench: BENCH, metric: "tasks_ratio", value: round(ratio, 3), goal: GOAL });
  progress(
    `#tasks ratio: concierge/floor ${ratio.toFixed(3)} (per round ` +
      `${pairs.map((r) => r.toFixed(2)).join(", ")}; goal ≥ ${GOAL}: ${ratio >= GOAL ? "met" : "not met"})`,
  );

  for (const target of fanouts) {
    const line = figureWriter(BENCH, target.name);
    const last = median(target.lastMs);
    progress(
      `fan-out ${target.name}: median ${last.toFixed(1)} ms to the last of ${facts.online} over ` +
        `trials ${target.lastMs.map((ms) => ms.toFixed(1)).join(", ")}`,
    );
    line("fanout_ms", round(last, 1), "ms", {
      online: String(facts.online),
      recipients: String(facts.recipients),
      message_bytes: String(target.messageBytes),
      prosody_read_size: String(facts.readSize || 4096),
    });
    line("fanout_first_ms", round(median(target.firstMs), 1), "ms");
    line("fanout_reply_ms", round(median(target.replyMs), 1), "ms");
    for (const [name, ms] of Object.entries(target.cpuMs)) {
      line("fanout_cpu_per_change", round(ms / target.lastMs.length, 1), "ms", { process: name });
    }
    if (target.others + target.duplicates > 0) {
      progress(
        `fan-out ${target.name}: ${target.duplicates} duplicate and ${target.others} ` +
          `unexpected stanzas at the members`,
      );
    }
    if (target.duplicates > 0) failed = true;
  }
  const [floorFanout, conciergeFanout] = fanouts as [FanoutTally, FanoutTally];
  const fanoutRatio = median(floorFanout.lastMs) / median(conciergeFanout.lastMs);
  emit({
    bench: BENCH,
    metric: "fanout_ratio",
    value: round(fanoutRatio, 3),
    of: "floor time / concierge time",
  });
  progress(
    `fan-out ratio: floor/concierge time ${fanoutRatio.toFixed(3)} (Concierge takes ` +
      `${(1 / fanoutRatio).toFixed(2)}× the floor's time; ${settings.trials} trials each)`,
  );
  if (failed) progress("some replies or notifications were wrong or missing: exiting 1");
  return failed ? 1 : 0;
}
