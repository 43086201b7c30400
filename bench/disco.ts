/**
 * Benchmark: pipelined XEP-0030 disco#info round trips from c2s clients through a private Prosody
 * to Concierge, against the floor (bench/floor-component.ts, a component that answers without
 * parsing) measured alternately in the same run. Prints one JSON line per figure on stdout;
 * progress on stderr. Goal (reported, not asserted): Concierge ≥ 0.9 of the floor.
 *
 * The floor is measured twice: at same@floor.localhost it answers with the very payload Concierge
 * answers, so the server does the same work for both and `ratio` is the component's own cost (the
 * goal); at floor.localhost it answers with a minimal result (one identity). On two cores the
 * server is the bottleneck and a bigger reply costs it more, so `ratio_minimal_reply` also
 * includes the server's price for Concierge's longer feature list.
 *
 *   npm run bench -- --clients 4 --window 16 --seconds 3 --rounds 3
 *
 * --cpu-prof DIR writes a V8 CPU profile of the daemon into DIR (open it in Chrome DevTools, or
 * summarize it: npx tsx bench/cpuprofile-summary.ts DIR/concierge-*.cpuprofile).
 */
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Daemon } from "../test/harness/daemon.js";
import { FLOOR_JID, startStack, testAccounts, type Stack } from "../test/harness/stack.js";
import { FloorProcess } from "./floor.js";
import { runIqLoad, requestOnce, type IqLoadResult } from "./iq-load.js";
import { CpuMeter, findPid } from "./proc-cpu.js";
import { RawClient } from "./raw-client.js";
import { emit, figureWriter, median, percentile, progress, round, sum } from "./stats.js";
import { integerFlag, runBench, secondsFlag } from "./run.js";
import type { Teardown } from "./teardown.js";
import { attr, startTag } from "./xml-scan.js";

const BENCH = "disco";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const PAYLOAD = `<query xmlns='${NS_DISCO_INFO}'/>`;
/** Minimum share of the floor Concierge should reach (reported, not asserted). */
const GOAL = 0.9;

const USAGE = `Usage: npm run bench -- [options]

  --clients N          c2s clients generating load (default 4)
  --window N           requests each client keeps in flight (default 16)
  --seconds S          length of each measured round, per target (default 3)
  --rounds N           rounds; each measures both floors, then Concierge (default 3)
  --warmup S           unmeasured load on each target first (default 2)
  --latency-seconds S  one client, one request in flight, per target and round (default 1)
  --cpu-prof DIR       write a V8 CPU profile of the daemon into DIR
  -h, --help`;

interface Settings {
  clients: number;
  window: number;
  seconds: number;
  rounds: number;
  warmup: number;
  latencySeconds: number;
  cpuProf: string | undefined;
}

type TargetName = "floor" | "floor-same-reply" | "concierge";
/** The node of the floor that answers with Concierge's payload: same@floor.localhost. */
const SAME_NODE = "same";

/** What is measured of one target over all rounds. */
interface Tally {
  name: TargetName;
  jid: string;
  pid: number | undefined;
  throughputs: number[];
  latenciesMs: number[];
  errors: number;
  lost: number;
  samples: string[];
  /** CPU ms per process and replies, summed over the throughput rounds. */
  cpuMs: Record<string, number>;
  replies: number;
}

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: "string", default: "4" },
      window: { type: "string", default: "16" },
      seconds: { type: "string", default: "3" },
      rounds: { type: "string", default: "3" },
      warmup: { type: "string", default: "2" },
      "latency-seconds": { type: "string", default: "1" },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  const integer = (name: string, text: string) => integerFlag(name, text);
  const seconds = secondsFlag;
  return {
    clients: integer("clients", values.clients),
    window: integer("window", values.window),
    seconds: seconds("seconds", values.seconds, 0.1),
    rounds: integer("rounds", values.rounds),
    warmup: seconds("warmup", values.warmup, 0),
    latencySeconds: seconds("latency-seconds", values["latency-seconds"], 0),
    cpuProf: values["cpu-prof"] === undefined ? undefined : resolve(values["cpu-prof"]),
  };
}

async function startDaemon(stack: Stack, cpuProf: string | undefined): Promise<Daemon> {
  // "info", not "warn": the harness waits for the "component online" line; nothing is logged per
  // stanza at info. The daemon inherits our environment, so a profile is asked for through it
  // (Node 20 refuses --cpu-prof in NODE_OPTIONS, hence a preloaded hook).
  if (!cpuProf) return Daemon.start(stack, { logLevel: "info", name: "bench" });
  await mkdir(cpuProf, { recursive: true });
  const saved = { ...process.env };
  const hook = fileURLToPath(new URL("cpu-profile-hook.ts", import.meta.url));
  process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ""} --import tsx --import ${hook}`.trim();
  process.env.BENCH_CPU_PROF_DIR = cpuProf;
  process.env.BENCH_CPU_PROF_NAME = "concierge";
  try {
    return await Daemon.start(stack, { logLevel: "info", name: "bench" });
  } finally {
    for (const key of ["NODE_OPTIONS", "BENCH_CPU_PROF_DIR", "BENCH_CPU_PROF_NAME"]) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

async function bench(settings: Settings, teardown: Teardown): Promise<number> {
  const { signal } = teardown;
  progress(
    `disco bench: ${settings.clients} clients × ${settings.window} in flight, ` +
      `${settings.rounds} rounds of ${settings.seconds} s per target, warm-up ${settings.warmup} s`,
  );
  const stack = await startStack({ accounts: testAccounts(settings.clients) });
  teardown.add("Prosody and the scratch database", () => stack.stop());
  progress(`Prosody on c2s port ${stack.prosody.c2sPort}, database ${stack.db.name}`);

  const daemon = await startDaemon(stack, settings.cpuProf);
  teardown.add("daemon", async () => {
    const { code, signal: killed } = await daemon.stop();
    if (code !== 0) progress(`daemon exited with ${code ?? killed}:\n${daemon.transcript()}`);
  });
  await daemon.waitOnline();

  const clients: RawClient[] = [];
  teardown.add("clients", () => Promise.all(clients.map((client) => client.close())));
  for (const [index, account] of stack.accounts.entries()) {
    clients.push(
      await RawClient.connect({
        host: "127.0.0.1",
        port: stack.prosody.c2sPort,
        domain: stack.prosody.domain,
        username: account.username,
        password: account.password,
        resource: `bench${index}`,
      }),
    );
  }
  const conciergeReply = await probe(clients[0]!, "concierge", stack.componentJid);

  const floor = await FloorProcess.start({
    port: stack.prosody.componentPort,
    jid: FLOOR_JID,
    secret: stack.floorSecret,
    nodePayloads: { [SAME_NODE]: resultPayload(conciergeReply) },
  });
  teardown.add("floor component", () => floor.stop());
  const tallies: Tally[] = [
    tally("floor", FLOOR_JID, floor.pid),
    tally("floor-same-reply", `${SAME_NODE}@${FLOOR_JID}`, floor.pid),
    tally("concierge", stack.componentJid, daemon.child.pid),
  ];
  for (const target of tallies.slice(0, 2)) await probe(clients[0]!, target.name, target.jid);
  progress(`floor (pid ${floor.pid}) and Concierge (pid ${daemon.child.pid}) online`);

  const server = findPid((command) => command.includes(stack.prosody.configPath));
  const load = (target: Tally, seconds: number, many: boolean) =>
    runIqLoad(many ? clients : clients.slice(0, 1), {
      to: target.jid,
      payload: PAYLOAD,
      window: many ? settings.window : 1,
      durationMs: seconds * 1000,
      expect: NS_DISCO_INFO,
      recordLatency: !many,
      signal,
    });

  if (settings.warmup > 0) {
    for (const target of tallies) {
      const warm = await load(target, settings.warmup, true);
      count(target, warm);
      progress(`warm-up ${target.name}: ${Math.round(warm.throughput)} iq/s`);
    }
  }

  for (let roundIndex = 1; roundIndex <= settings.rounds; roundIndex += 1) {
    for (const target of tallies) {
      signal.throwIfAborted();
      const meter = new CpuMeter({ component: target.pid, server, load: process.pid });
      const before = meter.snapshot();
      const result = await load(target, settings.seconds, true);
      const used = CpuMeter.since(before, meter.snapshot());
      count(target, result);
      target.throughputs.push(result.throughput);
      target.replies += result.replies;
      for (const [name, ms] of Object.entries(used)) {
        if (ms !== undefined) target.cpuMs[name] = (target.cpuMs[name] ?? 0) + ms;
      }
      const cpu = Object.entries(used)
        .map(([name, ms]) => `${name} ${ms === undefined ? "?" : Math.round(ms)} ms`)
        .join(", ");
      progress(
        `round ${roundIndex} ${target.name}: ${Math.round(result.throughput)} iq/s` +
          ` (${result.completed} in ${Math.round(result.elapsedMs)} ms; CPU ${cpu})`,
      );
    }
    if (settings.latencySeconds > 0) {
      for (const target of tallies) {
        signal.throwIfAborted();
        const result = await load(target, settings.latencySeconds, false);
        count(target, result);
        target.latenciesMs.push(...result.latenciesMs);
      }
    }
  }
  signal.throwIfAborted();
  return report(tallies);
}

/** One disco#info request; throws unless it is answered with a result. */
async function probe(client: RawClient, name: string, jid: string): Promise<string> {
  const reply = await requestOnce(client, jid, PAYLOAD);
  if (attr(startTag(reply), "type") !== "result") {
    throw new Error(`${name} does not answer disco#info: ${reply}`);
  }
  progress(`${name} answers disco#info with ${Buffer.byteLength(reply)} bytes`);
  return reply;
}

/** The child of a result iq, as raw XML. */
function resultPayload(reply: string): string {
  return reply.slice(startTag(reply).length, reply.lastIndexOf("</iq>"));
}

function tally(name: TargetName, jid: string, pid: number | undefined): Tally {
  return {
    name,
    jid,
    pid,
    throughputs: [],
    latenciesMs: [],
    errors: 0,
    lost: 0,
    samples: [],
    cpuMs: {},
    replies: 0,
  };
}

function count(target: Tally, result: IqLoadResult): void {
  target.errors += result.errors;
  target.lost += result.lost;
  target.samples.push(...result.errorSamples.slice(0, 5 - target.samples.length));
}

function report(tallies: Tally[]): number {
  const [floor, same, concierge] = tallies as [Tally, Tally, Tally];
  let failed = false;
  for (const target of tallies) {
    const line = figureWriter(BENCH, target.name);
    const throughput = median(target.throughputs);
    progress(
      `${target.name}: median ${Math.round(throughput)} iq/s over rounds ` +
        target.throughputs.map((value) => Math.round(value)).join(", "),
    );
    line("throughput", round(throughput), "iq/s");
    if (target.latenciesMs.length > 0) {
      line("latency_p50", round(percentile(target.latenciesMs, 50), 3), "ms");
      line("latency_p99", round(percentile(target.latenciesMs, 99), 3), "ms");
    }
    for (const [name, ms] of Object.entries(target.cpuMs)) {
      const perIq = target.replies > 0 ? (ms * 1000) / target.replies : Number.NaN;
      line("cpu_per_iq", round(perIq, 1), "us", { process: name });
    }
    line("errors", target.errors + target.lost, "iq");
    if (target.errors + target.lost > 0) {
      failed = true;
      progress(
        `${target.name}: ${target.errors} wrong replies, ${target.lost} unanswered; e.g.\n  ` +
          target.samples.join("\n  "),
      );
    }
  }
  for (const [metric, base] of [
    ["ratio", same],
    ["ratio_minimal_reply", floor],
  ] as const) {
    const ratio = median(concierge.throughputs) / median(base.throughputs);
    const pairs = concierge.throughputs.map((value, i) => value / base.throughputs[i]!);
    emit({ bench: BENCH, metric, value: round(ratio, 3) });
    progress(
      `${metric}: concierge/${base.name} ${ratio.toFixed(3)} ` +
        `(per round ${pairs.map((r) => r.toFixed(2)).join(", ")}; ` +
        `goal ≥ ${GOAL}: ${ratio >= GOAL ? "met" : "not met"})`,
    );
  }
  progress(`${sum(tallies.map((t) => t.replies))} replies measured`);
  if (failed) progress("some replies were wrong or missing: exiting 1");
  return failed ? 1 : 0;
}

runBench("disco", USAGE, parseSettings, bench);
