/**
 * Benchmark: the OLPC activity and buddy index (src/olpc/), each figure next to a floor measured
 * in the same run (bench/floor-component.ts, a component that answers without parsing). Prints
 * one JSON line per figure on stdout; progress on stderr.
 *
 * The index holds 10,000 buddies and 5,000 activities (1–3 participants each; properties color,
 * name, private = false as a bool, tags and type, one of ten types in turn), written straight into
 * olpc_buddies, olpc_activities and olpc_participants before the daemon starts and loads them.
 *
 * 1. Property queries. Several raw c2s clients keep pipelined draft activity queries in flight
 *    (`<activity><property type='str' name='type'>…</property></activity>` with RSM max 10: one
 *    in ten activities match, a page of 10 is returned), alternately to Concierge and to the
 *    floor, which answers every one with the very payload Concierge answered (captured first),
 *    so that the server does the same work for both. Goal (reported, not asserted): Concierge
 *    ≥ 0.8 of the floor.
 * 2. The component's CPU time per query over those rounds (from /proc, bench/proc-cpu.ts); and
 *    (--switching) per query when every query opens a different result set (each client
 *    alternates between two other types): a draft result set holds every match, not only the
 *    page, and each item's presence relation is refreshed when it enters or leaves one.
 * 3. One change reaching 1,000 watchers. Each watcher (a raw client) sends available presence to
 *    the component and opens a draft result set (`<activity id/>`; with --watch view, a view;
 *    with --watch type, the result set of a `type` query: one in ten activities) holding the same
 *    activity; then one of the activity's participants sends new properties for it
 *    (`<message><properties xmlns=activity-properties activity room>`). Measured: from sending
 *    that message until the last watcher has its notice. The floor, asked by an iq, sends a
 *    message of the same size (Concierge's own notice, captured) to the same clients in one
 *    write; measured the same way. Trials alternate; medians are reported, and `notify_ratio` is
 *    floor time / Concierge time (1 = as fast as the floor). `watchers_open_ms` is how long the
 *    watchers took to send their presence and open their watches (50 at a time).
 *
 * Prosody is given network_default_read_size = 65536 (--read-size), as in bench/neerc.ts: with
 * its default of 4096 a component's stream of multi-kilobyte stanzas reaches it at about 4 MB/s
 * whatever the CPU. The daemon runs with `olpc: {}` and presence liveness checks off
 * (`presence.liveness_interval_ms: 0`): the raw clients do not answer XEP-0199 pings, and a
 * check would drop every watcher 15 s later.
 *
 *   npm run bench:olpc -- --buddies 10000 --activities 5000 --watchers 1000 --rounds 7 --seconds 3
 *
 * --cpu-prof DIR writes a V8 CPU profile of the daemon into DIR (summarize it with
 * npx tsx bench/cpuprofile-summary.ts DIR/concierge-*.cpuprofile).
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Account } from "../src/dev/prosody.js";
import { FLOOR_JID, testAccounts } from "../test/harness/stack.js";
import { FloorProcess } from "./floor.js";
import { requestOnce } from "./iq-load.js";
import { ACTIVITY_TYPES, activityTitle, generate, loadDataSet } from "./olpc-data.js";
import {
  BENCH,
  FANOUT_NODE,
  flush,
  measureSwitching,
  NS_ACTIVITY,
  propertiesMessage,
  QUERY_NODE,
  report,
  typeQuery,
  watchRequest,
  type Settings,
} from "./olpc-steps.js";
import { findPid } from "./proc-cpu.js";
import type { RawClient } from "./raw-client.js";
import {
  cpuProfFlag,
  integerFlag,
  loadFlags,
  loadSettings,
  readSizeFlag,
  runBench,
  secondsFlag,
  serverFlag,
  serverOption,
} from "./run.js";
import { inParallel, RawClients, startDaemon, startBenchServer } from "./setup.js";
import { progress, stopwatch } from "./stats.js";
import {
  fanoutTally,
  fanoutTrial,
  iqLoad,
  loadTally,
  measureLoads,
  messageFrom,
  type FanoutTally,
  type LoadTally,
} from "./tally.js";
import type { Teardown } from "./teardown.js";
import { attr, innerXml, startTag } from "./xml-scan.js";

const USAGE = `Usage: npm run bench:olpc -- [options]

  --server NAME     the private XMPP server: prosody (default) or ejabberd
  --buddies N      buddies in the index (default 10000)
  --activities N   activities in the index, 1–3 participants each (default 5000)
  --clients N      c2s clients generating query load (default 4)
  --window N       queries each keeps in flight (default 8)
  --seconds S      length of each measured query round, per target (default 3)
  --rounds N       query rounds; each measures the floor, then Concierge (default 7)
  --warmup S       unmeasured query load on each target first (default 2)
  --watchers N     clients watching the changed activity (default 1000)
  --switching S    seconds of queries that each open a different result set (two types in
                   turn, one in flight per client), Concierge only; 0 skips (default 3)
  --trials N       measured changes per target, alternating (default 20)
  --watch KIND     what each watcher opens: draft (the result set of an id query), view (a
                   view by id) or type (the result set of a type query) (default draft)
  --read-size N    Prosody's network_default_read_size in bytes, 0 for Prosody's own default
                   of 4096 (default 65536)
  --cpu-prof DIR   write a V8 CPU profile of the daemon into DIR
  -h, --help`;

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...serverOption,
      buddies: { type: "string", default: "10000" },
      activities: { type: "string", default: "5000" },
      ...loadFlags({ clients: "4", window: "8", seconds: "3", rounds: "7", warmup: "2" }),
      watchers: { type: "string", default: "1000" },
      trials: { type: "string", default: "20" },
      switching: { type: "string", default: "3" },
      watch: { type: "string", default: "draft" },
      "read-size": { type: "string", default: "65536" },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  if (values.watch !== "draft" && values.watch !== "view" && values.watch !== "type") {
    throw new Error("--watch must be draft, view or type");
  }
  const settings: Settings = {
    buddies: integerFlag("buddies", values.buddies, 3),
    activities: integerFlag("activities", values.activities, ACTIVITY_TYPES.length),
    ...loadSettings(values),
    server: serverFlag(values.server),
    watchers: integerFlag("watchers", values.watchers),
    trials: integerFlag("trials", values.trials),
    switching: secondsFlag("switching", values.switching, 0),
    watch: values.watch,
    readSize: readSizeFlag(values["read-size"]),
    cpuProf: cpuProfFlag(values["cpu-prof"]),
  };
  return settings;
}

async function bench(settings: Settings, teardown: Teardown): Promise<number> {
  const { signal } = teardown;
  const elapsed = stopwatch();
  progress(
    `olpc bench: ${settings.buddies} buddies, ${settings.activities} activities; queries from ` +
      `${settings.clients} clients × ${settings.window} in flight, ${settings.rounds} rounds of ` +
      `${settings.seconds} s per target; one change to ${settings.watchers} watchers ` +
      `(${settings.watch}), ${settings.trials} trials per target`,
  );
  const domain = "localhost";
  const data = generate({
    buddies: settings.buddies,
    activities: settings.activities,
    domain,
    mucDomain: `conference.${domain}`,
  });
  const queryType = ACTIVITY_TYPES[0];
  const matches = data.activities.filter((a) => a.type === queryType).length;
  // The watched activity is of another type, so that the load clients' result sets miss it; the
  // first of its type by id, so that a type query's first page shows it.
  const watched = data.activities
    .filter((a) => a.type === ACTIVITY_TYPES[1])
    .reduce((first, a) => (a.id < first.id ? a : first));
  const participant = watched.participants[0]!;
  const triggerAccount: Account = {
    username: participant.slice(0, participant.indexOf("@")),
    password: "pw-participant",
  };
  const loaderAccounts = testAccounts(settings.clients, "loader");
  const watcherAccounts = testAccounts(settings.watchers, "watcher");

  const stack = await startBenchServer(
    teardown,
    [...loaderAccounts, ...watcherAccounts, triggerAccount],
    settings.readSize,
    settings.server,
  );
  if (stack.prosody.domain !== domain) throw new Error(`unexpected domain ${stack.prosody.domain}`);
  await loadDataSet(stack.db.url, data);
  progress(
    `${elapsed()}: ${data.buddies.length} buddies, ${data.activities.length} activities, ` +
      `${data.activities.reduce((n, a) => n + a.participants.length, 0)} participants stored`,
  );

  // Closed after the daemon has stopped: it need not follow a thousand departures on its way out.
  const clients = new RawClients(stack, teardown);
  // "info": the harness waits for log lines; nothing is logged per stanza at info.
  const daemon = await startDaemon(
    stack,
    teardown,
    {
      logLevel: "info",
      name: "bench-olpc",
      extra: { olpc: {}, presence: { liveness_interval_ms: 0 } },
    },
    settings.cpuProf,
  );
  await daemon.waitOnline(1, 60_000);
  await daemon.waitForLog((line) => line.msg === "concierge started", 60_000);
  progress(`${elapsed()}: Concierge (pid ${daemon.child.pid}) online with the index loaded`);
  signal.throwIfAborted();

  // Load clients send no presence: they get the replies they ask for and nothing else.
  const loaders: RawClient[] = [];
  for (const [index, account] of loaderAccounts.entries()) {
    loaders.push(await clients.connect(account, `load${index + 1}`));
  }

  // 1. Property queries: Concierge's reply, then the floor answering with the same payload.
  const query = typeQuery(queryType);
  const reply = await requestOnce(loaders[0]!, stack.componentJid, query, 10_000);
  const counted = /<count>(\d+)<\/count>/.exec(reply)?.[1];
  const items = reply.split("<activity ").length - 1;
  const page = Math.min(10, matches);
  if (attr(startTag(reply), "type") !== "result" || Number(counted) !== matches || items !== page) {
    throw new Error(`expected ${page} of ${matches} activities, got: ${reply.slice(0, 600)}`);
  }
  const payload = innerXml(reply);
  progress(
    `Concierge answers the query with ${Buffer.byteLength(reply)} bytes (${page} of ${matches}), e.g.\n` +
      `  ${reply.slice(0, 400)}…`,
  );
  const queryFloor = await FloorProcess.start({
    port: stack.prosody.componentPort,
    jid: FLOOR_JID,
    secret: stack.floorSecret,
    nodePayloads: { [QUERY_NODE]: payload },
  });
  teardown.add("floor component (queries)", () => queryFloor.stop());
  const queryFloorJid = `${QUERY_NODE}@${FLOOR_JID}`;
  const floorReply = await requestOnce(loaders[0]!, queryFloorJid, query);
  // Prosody writes attributes in no fixed order, so the two are compared by size only.
  if (Buffer.byteLength(innerXml(floorReply)) !== Buffer.byteLength(payload)) {
    throw new Error(`the floor's payload differs from Concierge's: ${floorReply.slice(0, 600)}`);
  }
  const server = findPid((command) => command.includes(stack.prosody.configPath));
  const loads: [LoadTally, LoadTally] = [
    loadTally("floor", queryFloorJid, queryFloor.pid),
    loadTally("concierge", stack.componentJid, daemon.child.pid),
  ];
  const queries = { payload: query, window: settings.window, expect: "<count>" };
  await measureLoads(loads, settings, {
    server,
    load: iqLoad(loaders, { ...queries, drainTimeoutMs: 15_000, signal }),
    unit: "iq/s",
    signal,
  });
  await queryFloor.stop();

  // 1b. Queries that each open a different result set: every client alternates between two
  // other types, one query in flight (Concierge only: the floor's work does not change).
  const switching =
    settings.switching > 0
      ? await measureSwitching(
          loaders,
          stack.componentJid,
          [typeQuery(ACTIVITY_TYPES[2]), typeQuery(ACTIVITY_TYPES[3])],
          { component: daemon.child.pid, server, load: process.pid },
          settings.switching,
        )
      : undefined;
  progress(`${elapsed()}: queries measured`);

  // 3. Watchers: log in, then each sends presence to the component and opens its watch.
  const trigger = await clients.connect(triggerAccount, "laptop");
  const watchers = await inParallel(watcherAccounts, 50, (account) =>
    clients.connect(account, "watch"),
  );
  progress(`${elapsed()}: ${watchers.length} watchers logged in`);
  const openStarted = performance.now();
  const request = watchRequest(settings.watch, watched);
  await inParallel(watchers, 50, async (client) => {
    client.send(`<presence to='${stack.componentJid}'/>`);
    const answer = await requestOnce(client, stack.componentJid, request, 60_000);
    if (attr(startTag(answer), "type") !== "result" || !answer.includes(watched.id)) {
      throw new Error(`${client.jid} could not open its ${settings.watch}: ${answer}`);
    }
  });
  const openMs = performance.now() - openStarted;
  const stray = await flush(watchers);
  progress(
    `${elapsed()}: ${watchers.length} ${settings.watch === "view" ? "views" : "result sets"} ` +
      `of activity ${watched.id} open in ${Math.round(openMs)} ms (${stray} other stanzas dropped)`,
  );

  let trial = 0;
  const triggerErrors: string[] = [];
  trigger.listen((stanza) => triggerErrors.push(stanza.slice(0, 500)));
  const conciergeFanout = fanoutTally("concierge", stack.componentJid, daemon.child.pid);
  const changeOnce = async (measured: boolean) => {
    const title = activityTitle(++trial);
    try {
      return await fanoutTrial(conciergeFanout, {
        recipients: watchers,
        match: messageFrom(conciergeFanout.jid, title),
        cause: () => {
          trigger.send(propertiesMessage(stack.componentJid, watched, title));
          return Promise.resolve();
        },
        pids: { component: daemon.child.pid, server, load: process.pid },
        measured,
        signal,
      });
    } catch (error) {
      if (triggerErrors.length > 0) {
        throw new Error(`the participant received: ${triggerErrors.join("\n")}`, { cause: error });
      }
      throw error;
    }
  };
  const warm = await changeOnce(false);
  const notice = warm.sample;
  progress(`Concierge's notice: ${Buffer.byteLength(notice)} bytes, e.g.\n  ${notice}`);
  if (!notice.includes(NS_ACTIVITY)) throw new Error(`unexpected notice: ${notice}`);

  const fanFloor = await FloorProcess.start({
    port: stack.prosody.componentPort,
    jid: FLOOR_JID,
    secret: stack.floorSecret,
    fanout: {
      node: FANOUT_NODE,
      recipients: watchers.map((client) => client.jid),
      payload: innerXml(notice),
    },
  });
  teardown.add("floor component (fan-out)", () => fanFloor.stop());
  const floorFanout = fanoutTally("floor", `${FANOUT_NODE}@${FLOOR_JID}`, fanFloor.pid);
  const fanOnce = (measured: boolean) => {
    trigger.listen(undefined);
    return fanoutTrial(floorFanout, {
      recipients: watchers,
      match: messageFrom(floorFanout.jid),
      cause: () =>
        requestOnce(trigger, floorFanout.jid, "<ping xmlns='urn:xmpp:ping'/>", 20_000).finally(() =>
          trigger.listen((stanza) => triggerErrors.push(stanza.slice(0, 500))),
        ),
      pids: { component: fanFloor.pid, server, load: process.pid },
      measured,
      signal,
    });
  };
  progress(`${elapsed()}: floor (pid ${fanFloor.pid}) online for the fan-out`);
  await fanOnce(false);
  await changeOnce(false);
  const fanouts: [FanoutTally, FanoutTally] = [floorFanout, conciergeFanout];
  for (let index = 1; index <= settings.trials; index += 1) {
    for (const target of fanouts) {
      signal.throwIfAborted();
      const result = target === floorFanout ? await fanOnce(true) : await changeOnce(true);
      progress(
        `trial ${index} ${target.name}: last of ${watchers.length} after ` +
          `${result.lastMs.toFixed(1)} ms (first ${result.firstMs.toFixed(1)} ms)`,
      );
    }
  }
  trigger.listen(undefined);
  if (triggerErrors.length > 0) {
    progress(`the participant received ${triggerErrors.length} stanzas, e.g. ${triggerErrors[0]}`);
  }
  progress(`${elapsed()}: notifications measured`);
  signal.throwIfAborted();
  return report(settings, loads, fanouts, {
    replyBytes: Buffer.byteLength(reply),
    matches,
    watchers: watchers.length,
    watch: settings.watch,
    openMs,
    readSize: settings.readSize,
    switching,
  });
}

runBench(BENCH, USAGE, parseSettings, bench);
