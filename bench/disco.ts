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
import { parseArgs } from "node:util";
import { FLOOR_JID, testAccounts } from "../test/harness/stack.js";
import { FloorProcess } from "./floor.js";
import { runIqLoad, requestOnce } from "./iq-load.js";
import { findPid } from "./proc-cpu.js";
import type { RawClient } from "./raw-client.js";
import {
  cpuProfFlag,
  loadFlags,
  loadSettings,
  runBench,
  secondsFlag,
  serverFlag,
  serverOption,
} from "./run.js";
import { RawClients, startDaemon, startBenchServer } from "./setup.js";
import { emit, median, percentile, progress, round, sum } from "./stats.js";
import {
  count,
  loadTally,
  measureLoads,
  reportLoad,
  type LoadFigures,
  type LoadTally,
} from "./tally.js";
import type { Teardown } from "./teardown.js";
import { attr, innerXml, startTag } from "./xml-scan.js";
import type { ServerKind } from "../src/dev/server.js";

const BENCH = "disco";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const PAYLOAD = `<query xmlns='${NS_DISCO_INFO}'/>`;
/** Minimum share of the floor Concierge should reach (reported, not asserted). */
const GOAL = 0.9;

const USAGE = `Usage: npm run bench -- [options]

  --server NAME     the private XMPP server: prosody (default) or ejabberd
  --clients N          c2s clients generating load (default 4)
  --window N           requests each client keeps in flight (default 16)
  --seconds S          length of each measured round, per target (default 3)
  --rounds N           rounds; each measures both floors, then Concierge (default 3)
  --warmup S           unmeasured load on each target first (default 2)
  --latency-seconds S  one client, one request in flight, per target and round (default 1)
  --cpu-prof DIR       write a V8 CPU profile of the daemon into DIR
  -h, --help`;

interface Settings {
  /** --server: the private XMPP server. */
  server: ServerKind;
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

/** What is measured of one target over all rounds, with the latency rounds' round trips. */
interface Tally extends LoadTally<TargetName> {
  latenciesMs: number[];
}

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...serverOption,
      ...loadFlags({ clients: "4", window: "16", seconds: "3", rounds: "3", warmup: "2" }),
      "latency-seconds": { type: "string", default: "1" },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  return {
    ...loadSettings(values),
    server: serverFlag(values.server),
    latencySeconds: secondsFlag("latency-seconds", values["latency-seconds"], 0),
    cpuProf: cpuProfFlag(values["cpu-prof"]),
  };
}

async function bench(settings: Settings, teardown: Teardown): Promise<number> {
  const { signal } = teardown;
  progress(
    `disco bench: ${settings.clients} clients × ${settings.window} in flight, ` +
      `${settings.rounds} rounds of ${settings.seconds} s per target, warm-up ${settings.warmup} s`,
  );
  const stack = await startBenchServer(
    teardown,
    testAccounts(settings.clients),
    undefined,
    settings.server,
  );
  // "info", not "warn": the harness waits for the "component online" line; nothing is logged per
  // stanza at info.
  const daemon = await startDaemon(
    stack,
    teardown,
    { logLevel: "info", name: "bench" },
    settings.cpuProf,
  );
  await daemon.waitOnline();

  const raw = new RawClients(stack, teardown);
  const clients: RawClient[] = [];
  for (const [index, account] of stack.accounts.entries()) {
    clients.push(await raw.connect(account, `bench${index}`));
  }
  const conciergeReply = await probe(clients[0]!, "concierge", stack.componentJid);

  const floor = await FloorProcess.start({
    port: stack.prosody.componentPort,
    jid: FLOOR_JID,
    secret: stack.floorSecret,
    nodePayloads: { [SAME_NODE]: innerXml(conciergeReply) },
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
  await measureLoads(tallies, settings, {
    server,
    load: (target, seconds) => load(target, seconds, true),
    unit: "iq/s",
    signal,
    // One client, one request in flight, per target: the round trips.
    afterRound: async () => {
      if (settings.latencySeconds <= 0) return;
      for (const target of tallies) {
        signal.throwIfAborted();
        const result = await load(target, settings.latencySeconds, false);
        count(target, result);
        target.latenciesMs.push(...result.latenciesMs);
      }
    },
  });
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

function tally(name: TargetName, jid: string, pid: number | undefined): Tally {
  return { ...loadTally(name, jid, pid), latenciesMs: [] };
}

function report(tallies: Tally[]): number {
  const [floor, same, concierge] = tallies as [Tally, Tally, Tally];
  let failed = false;
  const figures: LoadFigures<Tally> = {
    bench: BENCH,
    prefix: "",
    digits: 0,
    more: (target, line) => {
      if (target.latenciesMs.length === 0) return;
      line("latency_p50", round(percentile(target.latenciesMs, 50), 3), "ms");
      line("latency_p99", round(percentile(target.latenciesMs, 99), 3), "ms");
    },
  };
  for (const target of tallies) failed = reportLoad(target, figures) || failed;
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
