/**
 * Benchmark: the NEERC task board (src/neerc/), each figure next to a floor measured in the same
 * run (bench/floor-component.ts, a component that answers without parsing). Prints one JSON line
 * per figure on stdout; progress on stderr.
 *
 * 1. #tasks throughput. Room `neerc` (the default room, at the component JID itself) has an admin
 *    and members user1…user50; the admin creates 100 tasks, each assigned to all 50 users. Then
 *    several members (raw c2s clients) keep pipelined `<query xmlns='…#tasks'/>` gets in flight,
 *    alternately to Concierge and to the floor, which answers every one with the very payload
 *    Concierge answered (captured first), so the server does the same work for both. Goal
 *    (reported, not asserted): Concierge ≥ 0.8 of the floor.
 * 2. Fan-out. Room `fanout` has the admin and members user1…user500, all 500 online (available
 *    presence sent), and one task assigned to the admin. The admin reports a #taskstatus; Concierge
 *    sends a headline to each of the room's users (the 500 members and the admin). Measured: from
 *    sending the request until the last of the 500 members has received its notification. The
 *    floor, asked by an iq, sends a message of the same size to the same bare JIDs, in one write;
 *    measured the same way. Trials alternate; medians are reported, and `ratio` is floor time /
 *    Concierge time (1 = as fast as the floor).
 *
 * Prosody is given network_default_read_size = 65536 (--read-size): with its default of 4096 a
 * component's large stanzas reach it at about 4 MB/s whatever the CPU (see setReadSize in
 * bench/setup.ts), which would make both figures measure that pacing rather than the server's
 * and component's work.
 *
 *   npm run bench:neerc -- --clients 4 --window 2 --seconds 4 --rounds 5 --trials 15
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Account } from "../src/dev/prosody.js";
import { TestClient } from "../test/harness/client.js";
import { FLOOR_JID, testAccounts } from "../test/harness/stack.js";
import { FloorProcess } from "./floor.js";
import { requestOnce } from "./iq-load.js";
import {
  ADMIN,
  BENCH,
  checkTasksReply,
  createTask,
  FANOUT_ROOM,
  fanoutTrial,
  marker,
  NS_TASKS,
  report,
  type Settings,
  setUpRoom,
  statusReport,
  TASK_TYPES,
  TASKS_NODE,
  TASKS_QUERY,
  TASKS_ROOM,
} from "./neerc-steps.js";
import { findPid } from "./proc-cpu.js";
import type { RawClient } from "./raw-client.js";
import {
  integerFlag,
  loadFlags,
  loadSettings,
  readSizeFlag,
  runBench,
  serverFlag,
  serverOption,
} from "./run.js";
import { inParallel, RawClients, startDaemon, startBenchServer } from "./setup.js";
import { progress, stopwatch } from "./stats.js";
import {
  fanoutTally,
  iqLoad,
  loadTally,
  measureLoads,
  type FanoutTally,
  type LoadTally,
} from "./tally.js";
import type { Teardown } from "./teardown.js";
import { innerXml } from "./xml-scan.js";

const USAGE = `Usage: npm run bench:neerc -- [options]

  --server NAME     the private XMPP server: prosody (default) or ejabberd
  --tasks N        tasks in room neerc (default 100)
  --assignees N    members of room neerc, each assigned to every task (default 50)
  --clients N      members generating #tasks load (default 4)
  --window N       #tasks requests each keeps in flight (default 2)
  --seconds S      length of each measured #tasks round, per target (default 4)
  --rounds N       #tasks rounds; each measures the floor, then Concierge (default 5)
  --warmup S       unmeasured #tasks load on each target first (default 1)
  --users N        online members of room fanout (default 500)
  --trials N       measured fan-outs per target, alternating (default 15)
  --read-size N    Prosody's network_default_read_size in bytes, 0 for Prosody's own default
                   of 4096 (default 65536; see below)
  -h, --help`;

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...serverOption,
      tasks: { type: "string", default: "100" },
      assignees: { type: "string", default: "50" },
      ...loadFlags({ clients: "4", window: "2", seconds: "4", rounds: "5", warmup: "1" }),
      users: { type: "string", default: "500" },
      trials: { type: "string", default: "15" },
      "read-size": { type: "string", default: "65536" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  const settings = {
    tasks: integerFlag("tasks", values.tasks),
    assignees: integerFlag("assignees", values.assignees),
    ...loadSettings(values),
    server: serverFlag(values.server),
    users: integerFlag("users", values.users),
    trials: integerFlag("trials", values.trials),
    readSize: readSizeFlag(values["read-size"]),
  };
  if (settings.clients > settings.assignees) throw new Error("--clients must be ≤ --assignees");
  return settings;
}

async function bench(settings: Settings, teardown: Teardown): Promise<number> {
  const { signal } = teardown;
  const elapsed = stopwatch();
  progress(
    `neerc bench: #tasks of ${settings.tasks} tasks × ${settings.assignees} users from ` +
      `${settings.clients} clients × ${settings.window} in flight, ${settings.rounds} rounds of ` +
      `${settings.seconds} s per target; fan-out to ${settings.users} online users, ` +
      `${settings.trials} trials per target`,
  );
  const members = testAccounts(Math.max(settings.assignees, settings.users));
  const stack = await startBenchServer(
    teardown,
    [ADMIN, ...members],
    settings.readSize,
    settings.server,
  );
  const domain = stack.prosody.domain;
  const bare = (account: Account) => `${account.username}@${domain}`;

  // The daemon starts (and compiles) while the rooms are set up; it reads a room on first use.
  const daemon = await startDaemon(stack, teardown, {
    logLevel: "info",
    name: "bench-neerc",
    extra: {
      neerc: { muc_service: stack.prosody.mucDomain, refresh_interval_ms: 3_600_000 },
    },
  });

  const admin = await TestClient.connect(stack, ADMIN, "setup");
  teardown.add("admin client", () => admin.stop());
  const roomMembers = (count: number) => members.slice(0, count).map(bare);
  await setUpRoom(admin, stack, TASKS_ROOM, roomMembers(settings.assignees));
  await setUpRoom(admin, stack, FANOUT_ROOM, roomMembers(settings.users));
  progress(`${elapsed()}: rooms ${TASKS_ROOM} and ${FANOUT_ROOM} set up`);
  await daemon.waitOnline();
  signal.throwIfAborted();

  // The task list: every task assigned to every member of the room, sent in one burst.
  const assignees = members.slice(0, settings.assignees).map((a) => a.username);
  const created = await Promise.all(
    Array.from({ length: settings.tasks }, (_, index) =>
      createTask(
        admin,
        stack.componentJid,
        `Task ${index + 1}: check the printer in hall ${(index % 10) + 1}`,
        TASK_TYPES[index % TASK_TYPES.length]!,
        assignees,
      ),
    ),
  );
  progress(`${elapsed()}: ${created.length} tasks created`);

  // The fan-out task: assigned to the admin alone, so that its notifications stay small.
  const fanoutJid = `${FANOUT_ROOM}@${stack.componentJid}`;
  const fanoutTask = await createTask(admin, fanoutJid, "Fan-out: is everyone here?", "todo", [
    ADMIN.username,
  ]);
  // The admin, the last recipient of every change, has seen each task's notification: every
  // one of them has passed the server, and none can reach the members about to come online.
  for (const id of [...created, fanoutTask]) {
    await admin.waitFor(
      (stanza) =>
        stanza.name === "message" &&
        stanza.getChild("x", NS_TASKS)?.getChild("task")?.attrs.id === id,
      60_000,
    );
  }
  progress(`${elapsed()}: the notifications of the new tasks have been delivered`);
  // From here on the admin's notifications have no available resource and are dropped.
  await admin.stop();

  const clients = new RawClients(stack, teardown);
  // Load clients send no presence: no headline reaches them, only the replies they asked for.
  const loaders: RawClient[] = [];
  for (const [index, account] of members.slice(0, settings.clients).entries()) {
    loaders.push(await clients.connect(account, `load${index + 1}`));
  }
  const trigger = await clients.connect(ADMIN, "bench");
  const online = await inParallel(members.slice(0, settings.users), 50, async (account) => {
    const client = await clients.connect(account, "fanout");
    await client.available();
    return client;
  });
  progress(`${elapsed()}: ${online.length} members online, ${loaders.length} load clients`);

  // What the floor will answer and send: Concierge's own payloads, as the clients receive them.
  const tasksReply = await requestOnce(loaders[0]!, stack.componentJid, TASKS_QUERY, 10_000);
  checkTasksReply(tasksReply, settings);
  const tasksPayload = innerXml(tasksReply);
  const payloadFile = join(stack.prosody.dir, "floor-tasks-payload.xml");
  await writeFile(payloadFile, tasksPayload);
  progress(`Concierge answers #tasks with ${Buffer.byteLength(tasksReply)} bytes`);

  const fanouts: [FanoutTally, FanoutTally] = [
    fanoutTally("floor", `${FANOUT_ROOM}@${FLOOR_JID}`, undefined),
    fanoutTally("concierge", fanoutJid, daemon.child.pid),
  ];
  const [floorFanout, conciergeFanout] = fanouts;
  const server = findPid((command) => command.includes(stack.prosody.configPath));
  let trial = 0;
  const fanout = (target: FanoutTally, measured: boolean) =>
    fanoutTrial(target, {
      trigger,
      online,
      payload: statusReport(fanoutTask, ++trial),
      marker: marker(trial),
      pids: { component: target.pid, server, load: process.pid },
      measured,
      signal,
    });
  const warm = await fanout(conciergeFanout, false);
  const notification = warm.sample;
  progress(
    `Concierge's notification: ${Buffer.byteLength(notification)} bytes, e.g.\n  ${notification}`,
  );

  const floor = await FloorProcess.start({
    port: stack.prosody.componentPort,
    jid: FLOOR_JID,
    secret: stack.floorSecret,
    nodePayloadFiles: { [TASKS_NODE]: payloadFile },
    nodePayloads: { [FANOUT_ROOM]: innerXml(warm.caused) },
    fanout: {
      node: FANOUT_ROOM,
      // The recipients Concierge notifies: the room's members, then its owner.
      recipients: [...roomMembers(settings.users), bare(ADMIN)],
      payload: innerXml(notification),
    },
  });
  teardown.add("floor component", () => floor.stop());
  floorFanout.pid = floor.pid;
  const floorReply = await requestOnce(loaders[0]!, `${TASKS_NODE}@${FLOOR_JID}`, TASKS_QUERY);
  // Prosody writes attributes in no fixed order, so the two are compared by size only.
  if (Buffer.byteLength(innerXml(floorReply)) !== Buffer.byteLength(tasksPayload)) {
    throw new Error(`the floor's #tasks payload differs from Concierge's: ${floorReply}`);
  }
  progress(`${elapsed()}: floor (pid ${floor.pid}) and Concierge (pid ${daemon.child.pid}) online`);

  // 1. #tasks throughput.
  const loads: [LoadTally, LoadTally] = [
    loadTally("floor", `${TASKS_NODE}@${FLOOR_JID}`, floor.pid),
    loadTally("concierge", stack.componentJid, daemon.child.pid),
  ];
  const queries = { payload: TASKS_QUERY, window: settings.window, expect: NS_TASKS };
  await measureLoads(loads, settings, {
    server,
    load: iqLoad(loaders, { ...queries, drainTimeoutMs: 15_000, signal }),
    unit: "#tasks/s",
    signal,
  });
  progress(`${elapsed()}: #tasks measured`);

  // 2. Fan-out: one more unmeasured trial each, then measured trials, alternating.
  await fanout(floorFanout, false);
  await fanout(conciergeFanout, false);
  for (let index = 1; index <= settings.trials; index += 1) {
    for (const target of fanouts) {
      signal.throwIfAborted();
      const result = await fanout(target, true);
      progress(
        `trial ${index} ${target.name}: last of ${online.length} after ` +
          `${result.lastMs.toFixed(1)} ms (first ${result.firstMs.toFixed(1)} ms, reply ` +
          `${result.replyMs.toFixed(1)} ms)`,
      );
    }
  }
  progress(`${elapsed()}: fan-out measured`);
  signal.throwIfAborted();
  return report(loads, fanouts, {
    replyBytes: Buffer.byteLength(tasksReply),
    readSize: settings.readSize,
    recipients: settings.users + 1,
    online: online.length,
  });
}

runBench(BENCH, USAGE, parseSettings, bench);
