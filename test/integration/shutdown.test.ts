import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { chmod, mkdir, readdir, readFile } from "node:fs/promises";
import { after, before, describe, test, type TestContext } from "node:test";
import { projectRoot } from "../../src/paths.js";
import { Daemon, type DaemonOptions, type Launcher } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { descendants, running } from "../harness/process-tree.js";
import { seededRandom } from "../../src/dev/random.js";
import { TestClient, xml } from "../harness/client.js";
import {
  COMPONENT_JID,
  FLOOR_JID,
  startStack,
  testServerKind,
  type Stack,
} from "../harness/stack.js";

const NS_NEERC_USERS = "http://neerc.ifmo.ru/protocol/neerc#users";

/**
 * The daemon stops cleanly whenever it is told to: SIGTERM at random moments from start-up to
 * well after the bot is online, and during a reconnect; through the launchers people use; and
 * with a service that misbehaves when stopped. "Within the bound" is what the exit code says:
 * 0 is a stop that finished before shutdown_timeout_ms, 1 one the timer cut short, and SIGKILL
 * one the watchdog ended because the event loop itself was stuck.
 */

const SHUTDOWN_MS = 3_000;
const SEED = Number(process.env.SHUTDOWN_SEED ?? randomInt(1, 2 ** 31));
let stack: Stack;

before(async () => {
  stack = await startStack({
    accounts: [
      { username: "bot1", password: "pw-bot1" },
      { username: "bot2", password: "pw-bot2" },
    ],
  });
});

after(async () => {
  await stack?.stop();
});

/** Two lanes run side by side, each with its own component JID and bot account. */
function lane(index: 0 | 1, name: string): DaemonOptions {
  const bot = `bot${index + 1}`;
  return {
    name,
    logLevel: "info",
    shutdownTimeoutMs: SHUTDOWN_MS,
    reconnect: { initial_delay_ms: 100, max_delay_ms: 1_000 },
    ...(index === 1 ? { secret: stack.floorSecret, componentJid: FLOOR_JID } : {}),
    extra: {
      neerc: { muc_service: stack.prosody.mucDomain },
      olpc: {},
      roompool: {
        service: stack.prosody.service,
        jid: `${bot}@localhost`,
        password: `pw-${bot}`,
        nickname: bot,
        muc_service: stack.prosody.mucDomain,
        min_available: 2,
        max_rooms: 4,
        maintenance_interval_ms: 200,
      },
    },
  };
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How far start-up had come when the signal was sent. */
  reached: string;
  /** From the signal to the exit (reported, not asserted: the exit code is the bound). */
  stopMs: number;
}

/** Starts a daemon, signals it after `delayMs`, and checks how it ended. */
async function stopAfter(options: DaemonOptions, delayMs: number): Promise<Outcome> {
  const daemon = await Daemon.start(stack, options);
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  const reached = progress(daemon);
  const tree = daemon.child.pid ? descendants(daemon.child.pid) : [];
  const signalled = Date.now();
  const { code, signal } = await daemon.stop("SIGTERM", SHUTDOWN_MS + 10_000);
  const stopMs = Date.now() - signalled;
  const what = `${options.name} after ${delayMs} ms (${reached}), seed ${SEED}`;
  // Before our code has loaded, Node's own SIGTERM handler ends the process: nothing had started.
  const killedBeforeStart = signal === "SIGTERM" && daemon.logs.length === 0;
  assert.ok(
    code === 0 || killedBeforeStart,
    `${what}: exit ${code} ${signal}\n${daemon.transcript()}`,
  );
  if (code === 0 && daemon.logs.length > 0) {
    assert.equal(daemon.logs.at(-1)?.msg, "stopped", `${what}: the last line says it stopped`);
  }
  assert.doesNotMatch(daemon.transcript(), /shutdown took too long|shutdown stalled/, what);
  await noneLeft(tree, what);
  return { code, signal, reached, stopMs };
}

function progress(daemon: Daemon): string {
  const seen = (msg: string) => daemon.logs.some((line) => line.msg === msg);
  if (seen("rooms resynchronised")) return "bot online";
  if (seen("bot online")) return "bot logging in rooms";
  if (seen("concierge started")) return "component online";
  if (seen("starting")) return "starting";
  return "loading";
}

async function noneLeft(tree: number[], what: string): Promise<void> {
  await eventually(
    () => tree.filter(running),
    (left) => left.length === 0,
    `${what}: processes left behind`,
  );
}

describe("stop at any moment", () => {
  test("SIGTERM at 24 seeded moments, from start-up to well after the bot is online", async (t) => {
    t.diagnostic(`seed ${SEED} (SHUTDOWN_SEED=${SEED} repeats this run)`);
    const random = seededRandom(SEED);
    const reached = new Map<string, number>();
    const stops: number[] = [];
    await Promise.all(
      ([0, 1] as const).map(async (index) => {
        for (let run = 0; run < 12; run++) {
          // Spread over 0–5 s: loading, database, migrations, component, bot login, rooms.
          const delay = Math.floor(random() * 5_000);
          const outcome = await stopAfter(lane(index, `lane${index}-${run}`), delay);
          reached.set(outcome.reached, (reached.get(outcome.reached) ?? 0) + 1);
          stops.push(outcome.stopMs);
        }
      }),
    );
    t.diagnostic(`signals by stage: ${JSON.stringify(Object.fromEntries(reached))}`);
    stops.sort((a, b) => a - b);
    t.diagnostic(
      `signal to exit: median ${stops[stops.length >> 1]} ms, longest ${stops.at(-1)} ms`,
    );
  });

  test("SIGTERM while the server restarts: lost, waiting, reconnecting", async (t) => {
    const random = seededRandom(SEED + 1);
    for (let run = 0; run < 6; run++) {
      const daemon = await Daemon.start(stack, lane(0, `reconnect-${run}`));
      await daemon.waitForLog((line) => line.msg === "rooms resynchronised", 30_000);
      const tree = descendants(daemon.child.pid!);
      await stack.prosody.stop({ remove: false });
      const delay = Math.floor(random() * 1_500);
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (run % 2 === 1) await stack.prosody.restart(); // the other half: while it comes back
      const { code } = await daemon.stop("SIGTERM", SHUTDOWN_MS + 10_000);
      const what = `reconnect run ${run}, ${delay} ms after the server went, seed ${SEED}`;
      assert.equal(code, 0, `${what}\n${daemon.transcript()}`);
      assert.equal(daemon.logs.at(-1)?.msg, "stopped", what);
      await noneLeft(tree, what);
      if (run % 2 === 0) await stack.prosody.restart();
    }
    t.diagnostic(`seed ${SEED}`);
  });
});

describe("the launchers people use", () => {
  before(() => {
    const build = spawnSync("npm", ["run", "build"], { cwd: projectRoot, encoding: "utf8" });
    assert.equal(build.status, 0, `npm run build: ${build.stdout}${build.stderr}`);
  });

  for (const launcher of ["node", "dist", "npx-tsx"] satisfies Launcher[]) {
    test(`${launcher}: SIGTERM to the launcher stops the daemon, and nothing is left`, async () => {
      const daemon = await Daemon.start(stack, { ...lane(0, `launcher-${launcher}`), launcher });
      await daemon.waitForLog((line) => line.msg === "rooms resynchronised", 30_000);
      const tree = descendants(daemon.child.pid!);
      await daemon.stop("SIGTERM", SHUTDOWN_MS + 10_000);
      await noneLeft(tree, launcher);
      // Whatever the launcher does with the signal, the daemon underneath stopped cleanly.
      assert.ok(
        daemon.logs.some((line) => line.msg === "stopped"),
        `${launcher}: the daemon stopped\n${daemon.transcript()}`,
      );
    });
  }

  test("the built entry point is executable", () => {
    const mode = spawnSync("stat", ["-c", "%A", "dist/src/main.js"], {
      cwd: projectRoot,
      encoding: "utf8",
    });
    assert.match(mode.stdout, /^-..x/);
  });

  test("npm run demo: the NEERC room is ready; SIGTERM to npm stops the daemon and its server", async (t: TestContext) => {
    const kind = testServerKind();
    const dir = `${stack.prosody.dir}/demo`;
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755); // the ejabberd user must get through to its folder inside
    const child = spawn("npm", ["run", "demo", "--", "--server", kind], {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        DATABASE_URL: "",
        CONCIERGE_DEMO_DIR: dir,
        CONCIERGE_DEMO_DATABASE: `concierge_demo_test_${process.pid}`,
      },
    });
    const demo = new Daemon(child);
    try {
      await demo.waitForLog((line) => line.msg === "rooms resynchronised", 60_000);
      // ejabberdctl starts ejabberd detached, so the server is found by its folder, not as a child
      // (on ejabberd: its Erlang VM and the harness's control node).
      const server = await processesMentioning(`${dir}/${kind}`);
      assert.ok(server.length > 0, `the demo runs its own ${kind}`);
      const port = /XMPP server +\S+ on 127\.0\.0\.1:(\d+)/.exec(demo.stderr.join("\n"))?.[1];
      assert.ok(port, demo.transcript());
      const alice = await TestClient.connect(
        { service: `xmpp://127.0.0.1:${port}`, domain: "localhost" },
        { username: "alice", password: "demo" },
      );
      try {
        const reply = await alice.request(
          xml("iq", { type: "get", to: COMPONENT_JID }, xml("query", { xmlns: NS_NEERC_USERS })),
        );
        const users = reply.getChild("query", NS_NEERC_USERS)?.getChildren("user") ?? [];
        assert.deepEqual(
          users.map((u) => [String(u.attrs.name), String(u.attrs.power)]),
          [
            ["alice", "no"],
            ["bob", "no"],
            ["staff", "yes"],
          ],
          reply.toString(),
        );
      } finally {
        await alice.stop();
      }
      const tree = [...descendants(child.pid!), ...server];
      const { signal, code } = await demo.stop("SIGTERM", SHUTDOWN_MS + 15_000);
      t.diagnostic(`npm exited with ${code ?? signal}`);
      await noneLeft(tree, "npm run demo");
      assert.ok(
        demo.logs.some((line) => line.msg === "stopped"),
        demo.transcript(),
      );
    } finally {
      child.kill("SIGKILL");
      spawnSync("dropdb", [
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "--if-exists",
        `concierge_demo_test_${process.pid}`,
      ]);
    }
  });
});

describe("a service that misbehaves when stopped", () => {
  const fixture = (mode: string): DaemonOptions => ({
    name: `misbehaving-${mode}`,
    logLevel: "info",
    shutdownTimeoutMs: SHUTDOWN_MS,
    componentJid: COMPONENT_JID,
    fixture: { script: "test/fixtures/misbehaving-service.ts", args: [mode] },
  });

  test("one that never settles is cut off; the rest stops and the exit is clean", async () => {
    const daemon = await Daemon.start(stack, fixture("hang"));
    await daemon.waitForLog((line) => line.msg === "concierge started");
    const { code } = await daemon.stop("SIGTERM", SHUTDOWN_MS + 10_000);
    assert.equal(code, 0, daemon.transcript());
    assert.ok(daemon.logs.some((line) => line.msg === "service did not stop in time"));
  });

  for (const mode of ["spin", "block"]) {
    test(`one that ${mode === "spin" ? "spins on promise callbacks" : "blocks the thread"}: the watchdog ends the process`, async () => {
      const daemon = await Daemon.start(stack, fixture(mode));
      await daemon.waitForLog((line) => line.msg === "concierge started");
      const { signal } = await daemon.stop("SIGTERM", SHUTDOWN_MS + 10_000);
      assert.equal(signal, "SIGKILL", daemon.transcript());
      const line = daemon.logs.find((l) => l.msg.startsWith("shutdown stalled"));
      assert.ok(line, `the watchdog says why\n${daemon.transcript()}`);
      assert.equal(line.level, 60);
    });
  }
});

/** Live processes whose command line mentions `text`. */
async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const args = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (args.includes(text) && running(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}
