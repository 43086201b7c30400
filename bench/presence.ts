/**
 * Benchmark: the presence core (src/presence/), each figure next to a floor measured in the same
 * run. Prints one JSON line per figure on stdout; progress on stderr.
 *
 * 1. Combined-presence updates, in process. `--users` users × `--devices` devices report a random,
 *    realistic stream of `--reports` presence reports (hand-set states, XEP-0319 idle, back from
 *    idle, devices leaving and coming back; bench/presence-core.ts). Measured, alternating round
 *    by round: the floor, a plain Map write of each report by device with no aggregation; the
 *    SessionBook alone (apply the report, recombine the user's devices); and the hub's whole path
 *    short of XML parsing and the socket (router → hub → book → relations of rooms of
 *    `--room-size` users → outbox building one stanza per listening device → a wire that drops
 *    it). Reported: updates/s, ns per update, how many reports changed the combined value, and
 *    the time per report against the floor's. Also the cost of Relations.setGroup for one room
 *    of observers + 1 members, first read and re-read (the NEERC directory re-reads every room on
 *    a schedule).
 * 2. One change reaching `--observers` observers through Prosody. A NEERC room (`presence`) has
 *    the admin (the changing user) and user1…userN as members; every member is online with one
 *    raw c2s device that sent directed presence to the component, so each sees every other (the
 *    bring-up alone relays n × (n + 1) presences, also reported). The admin's device then sends
 *    a presence change to the component, alternately idle away and available, and we measure
 *    until the last observer has received the admin's new combined presence. The floor
 *    (bench/floor-component.ts with FLOOR_PRESENCE_FILE) answers the same presence, sent to it,
 *    by writing a presence stanza with the very children Concierge sent to every device
 *    Concierge sends to, in one write. Trials alternate; p50/p99 are reported, and `ratio` is
 *    floor time / Concierge time (1 = as fast as the floor).
 *
 * Prosody gets network_default_read_size = 65536 (--read-size), as in bench/neerc.ts: with its
 * default of 4096 the component's stream of small stanzas is paced by Prosody's read pauses, and
 * the bring-up of 1,000 observers took 192 s instead of 80–100 s. The daemon runs with liveness
 * checks off: the raw clients answer no pings. The whole run takes about 2.5 minutes on 2 cores,
 * two thirds of it the bring-up, which is Prosody's CPU (~100 µs per presence) and grows as n².
 *
 *   npm run bench:presence -- --users 5000 --observers 1000 --rounds 15
 */
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Account } from "../src/dev/prosody.js";
import { TestClient, xml } from "../test/harness/client.js";
import { FLOOR_JID, testAccounts } from "../test/harness/stack.js";
import { FloorProcess } from "./floor.js";
import { ADMIN, setUpRoom } from "./neerc-steps.js";
import { cpuTimeMs, findPid } from "./proc-cpu.js";
import { measureCore, type CoreSettings } from "./presence-core.js";
import {
  mirrorAt,
  PresenceCounter,
  presenceTally,
  presenceTrial,
  type PresenceTally,
  type TrialShow,
} from "./presence-fanout.js";
import {
  cpuProfFlag,
  integerFlag,
  readSizeFlag,
  runBench,
  serverFlag,
  serverOption,
} from "./run.js";
import { inParallel, RawClients, startDaemon, startBenchServer } from "./setup.js";
import { emit, percentile, progress, round, stopwatch } from "./stats.js";
import { reportFanouts } from "./tally.js";
import type { Teardown } from "./teardown.js";
import { innerXml } from "./xml-scan.js";
import type { ServerKind } from "../src/dev/server.js";

const BENCH = "presence";
/** The NEERC room of the fan-out, served at presence@component. */
const ROOM = "presence";
const NS_USERS = "http://neerc.ifmo.ru/protocol/neerc#users";

const USAGE = `Usage: npm run bench:presence -- [options]

  --server NAME     the private XMPP server: prosody (default) or ejabberd
  --users N         users of the in-process stream (default 5000)
  --devices N       devices per user (default 3)
  --reports N       reports in the stream (default 200000)
  --room-size N     users per room for the hub figure (default 10)
  --core-rounds N   measured in-process rounds per target (default 3)
  --observers N     online members besides the changing user (default 1000)
  --rounds N        measured changes per target, alternating (default 15)
  --read-size N     Prosody's network_default_read_size in bytes, 0 for Prosody's own default
                    of 4096 (default 65536, as in bench:neerc)
  --skip-core       only the fan-out through Prosody
  --skip-fanout     only the in-process figures
  --cpu-prof DIR    write a V8 CPU profile of the daemon into DIR
  -h, --help`;

interface Settings extends CoreSettings {
  /** --server: the private XMPP server. */
  server: ServerKind;
  coreRounds: number;
  observers: number;
  trials: number;
  readSize: number;
  core: boolean;
  fanout: boolean;
  cpuProf: string | undefined;
}

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...serverOption,
      users: { type: "string", default: "5000" },
      devices: { type: "string", default: "3" },
      reports: { type: "string", default: "200000" },
      "room-size": { type: "string", default: "10" },
      "core-rounds": { type: "string", default: "3" },
      observers: { type: "string", default: "1000" },
      rounds: { type: "string", default: "15" },
      "read-size": { type: "string", default: "65536" },
      "skip-core": { type: "boolean", default: false },
      "skip-fanout": { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  const integer = integerFlag;
  const settings: Settings = {
    server: serverFlag(values.server),
    users: integer("users", values.users, 1, 1_000_000),
    devices: integer("devices", values.devices, 1, 100),
    reports: integer("reports", values.reports, 1, 100_000_000),
    roomSize: integer("room-size", values["room-size"], 1, 10_000),
    coreRounds: integer("core-rounds", values["core-rounds"]),
    seed: 20240501,
    observers: integer("observers", values.observers, 1, 10_000),
    trials: integer("rounds", values.rounds),
    readSize: readSizeFlag(values["read-size"]),
    core: !values["skip-core"],
    fanout: !values["skip-fanout"],
    cpuProf: cpuProfFlag(values["cpu-prof"]),
  };
  if (!settings.core && !settings.fanout) throw new Error("nothing left to measure");
  return settings;
}

// ---- through Prosody (the in-process figures: measureCore in bench/presence-core.ts) ----

async function measureFanout(settings: Settings, teardown: Teardown): Promise<number> {
  const { signal } = teardown;
  const elapsed = stopwatch();
  progress(
    `fan-out: one change reaching ${settings.observers} observers, ${settings.trials} ` +
      `changes per target`,
  );
  const observerAccounts = testAccounts(settings.observers);
  const stack = await startBenchServer(
    teardown,
    [ADMIN, ...observerAccounts],
    settings.readSize,
    settings.server,
  );
  const domain = stack.prosody.domain;
  const bare = (account: Account) => `${account.username}@${domain}`;
  const component = stack.componentJid;
  const roomAddress = `${ROOM}@${component}`;

  // Registered before the daemon's step, so that the daemon stops first: clients closing while it
  // runs would make it tell everyone of every departure (n² presences again).
  const clients = new RawClients(stack, teardown, 30_000);
  const admin = await TestClient.connect(stack, ADMIN, "setup");
  teardown.add("admin client", () => admin.stop());
  await setUpRoom(admin, stack, ROOM, observerAccounts.map(bare));
  progress(`${elapsed()}: room ${ROOM} set up with ${settings.observers} members and the admin`);
  // Started once the room is set up: a daemon connecting while Prosody stores a thousand
  // affiliations has once failed to come online within the harness's 15 s.
  const daemon = await startDaemon(
    stack,
    teardown,
    {
      logLevel: "info",
      name: "bench-presence",
      extra: {
        // The raw clients answer no pings: liveness checks would drop them mid-run.
        presence: { liveness_interval_ms: 0 },
        neerc: { muc_service: stack.prosody.mucDomain, refresh_interval_ms: 3_600_000 },
      },
    },
    settings.cpuProf,
  );
  await daemon.waitOnline(1, 30_000);
  // The first request to the room makes Concierge read it, and its members see each other.
  const reply = await admin.request(
    xml("iq", { type: "get", to: roomAddress }, xml("query", { xmlns: NS_USERS })),
    60_000,
  );
  const listed = reply.getChild("query", NS_USERS)?.getChildren("user").length ?? 0;
  if (reply.attrs.type !== "result" || listed !== settings.observers + 1) {
    throw new Error(`expected ${settings.observers + 1} users in ${ROOM}: ${reply.toString()}`);
  }
  await admin.stop();
  signal.throwIfAborted();

  // The changing device first, then the observers: every one of them gets everyone online so far
  // at once, and each later arrival as it comes.
  const changerCounter = new PresenceCounter(component);
  const changer = await clients.connect(ADMIN, "changer");
  changer.listen(changerCounter.listener);
  changer.send(`<presence to='${component}'/>`);
  const counter = new PresenceCounter(component);
  const server = findPid((command) => command.includes(stack.prosody.configPath));
  const bringUp = performance.now();
  const daemonCpu = cpuNow(daemon.child.pid);
  const serverCpu = cpuNow(server);
  const observers = await inParallel(observerAccounts, 50, async (account) => {
    const client = await clients.connect(account, "observer");
    client.listen(counter.listener);
    client.send(`<presence to='${component}'/>`);
    return client;
  });
  const n = settings.observers;
  // Each observer: the changing user, the n − 1 others and its own combined presence.
  const expected = n * (n + 1);
  progress(`${elapsed()}: ${n} observers connected; waiting for ${expected} presences`);
  const delivered = await counter.settle(expected, 20_000, signal);
  await changerCounter.settle(n + 1, 5_000, signal);
  const bringUpMs = performance.now() - bringUp;
  const bringUpCpu = cpuNow(daemon.child.pid) - daemonCpu;
  const bringUpServerCpu = cpuNow(server) - serverCpu;
  if (delivered < expected) {
    throw new Error(`only ${delivered} of ${expected} presences reached the observers`);
  }
  progress(
    `${elapsed()}: everyone sees everyone: ${delivered} presences to observers in ` +
      `${(bringUpMs / 1000).toFixed(1)} s (CPU: Concierge ${Math.round(bringUpCpu)} ms, ` +
      `Prosody ${Math.round(bringUpServerCpu)} ms)`,
  );
  for (const client of observers) client.listen(undefined);

  const targets: [PresenceTally, PresenceTally] = [
    presenceTally("floor", FLOOR_JID, mirrorAt(bare(ADMIN), FLOOR_JID)),
    presenceTally("concierge", component, mirrorAt(bare(ADMIN), component)),
  ];
  const [floorTarget, conciergeTarget] = targets;
  conciergeTarget.pid = daemon.child.pid;
  const trial = (target: PresenceTally, show: TrialShow, measured: boolean) =>
    presenceTrial(target, {
      changer,
      observers,
      show,
      pids: { component: target.pid, server, bench: process.pid },
      measured,
      signal,
    });
  // Concierge's own presence for each state, as the observers receive it: what the floor sends.
  const samples = {
    away: (await trial(conciergeTarget, "away", false)).sample,
    online: (await trial(conciergeTarget, "online", false)).sample,
  };
  progress(`Concierge's presence (${Buffer.byteLength(samples.away)} bytes):\n  ${samples.away}`);
  const floor = await FloorProcess.start({
    port: stack.prosody.componentPort,
    jid: FLOOR_JID,
    secret: stack.floorSecret,
    presence: {
      file: join(stack.prosody.dir, "presence-floor.json"),
      trigger: bare(ADMIN),
      from: floorTarget.from,
      // Whom Concierge sends to: the observers' devices, then the changing user's own.
      recipients: [...observers.map((client) => client.jid), changer.jid],
      payloads: { away: innerXml(samples.away), online: innerXml(samples.online) },
    },
  });
  teardown.add("presence floor", () => floor.stop());
  floorTarget.pid = floor.pid;
  await trial(floorTarget, "away", false);
  await trial(floorTarget, "online", false);
  progress(`${elapsed()}: floor (pid ${floor.pid}) and Concierge (pid ${daemon.child.pid}) ready`);

  for (let index = 1; index <= settings.trials; index += 1) {
    const show: TrialShow = index % 2 === 1 ? "away" : "online";
    for (const target of targets) {
      signal.throwIfAborted();
      const result = await trial(target, show, true);
      progress(
        `change ${index} ${target.name} (${show}): last of ${n} after ` +
          `${result.lastMs.toFixed(1)} ms (first ${result.firstMs.toFixed(1)} ms)`,
      );
    }
  }
  progress(`${elapsed()}: fan-out measured`);
  return reportFanout(targets, {
    observers: n,
    bringUpMs,
    bringUpCpu,
    bringUpServerCpu,
    delivered,
  });
}

function cpuNow(pid: number | undefined): number {
  return cpuTimeMs(pid) ?? Number.NaN;
}

function reportFanout(
  targets: [PresenceTally, PresenceTally],
  facts: {
    observers: number;
    bringUpMs: number;
    bringUpCpu: number;
    bringUpServerCpu: number;
    delivered: number;
  },
): number {
  emit({
    bench: BENCH,
    target: "concierge",
    metric: "room_online_s",
    value: round(facts.bringUpMs / 1000, 1),
    unit: "s",
    members_online: String(facts.observers + 1),
    presences: String(facts.delivered),
    concierge_cpu_ms: String(Math.round(facts.bringUpCpu)),
    server_cpu_ms: String(Math.round(facts.bringUpServerCpu)),
    of: "every member's device online, until each has seen every other",
  });
  const p99 = (target: PresenceTally) => percentile(target.lastMs, 99);
  const duplicated = reportFanouts(targets, {
    bench: BENCH,
    prefix: "fanout",
    label: "fan-out",
    recipients: "observers",
    reached: facts.observers,
    details: (target) => ({
      p99: String(round(p99(target), 1)),
      observers: String(facts.observers),
      recipients: String(facts.observers + 1),
      stanza_bytes: `${target.stanzaBytes.away ?? "?"}/${target.stanzaBytes.online ?? "?"}`,
      changes: String(target.lastMs.length),
    }),
    ratioDetails: (floor, concierge) => ({ p99: round(p99(floor) / p99(concierge), 3) }),
  });
  if (duplicated) progress("some presences were duplicated: exiting 1");
  return duplicated ? 1 : 0;
}

async function bench(settings: Settings, teardown: Teardown): Promise<number> {
  if (settings.core) await measureCore(BENCH, settings, settings.observers + 1);
  teardown.signal.throwIfAborted();
  return settings.fanout ? measureFanout(settings, teardown) : 0;
}

runBench(BENCH, USAGE, parseSettings, bench);
