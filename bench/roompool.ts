/**
 * Benchmark: the MUC room pool (src/roompool/). Prints one JSON line per figure on stdout;
 * progress on stderr. Goals (reported, not asserted): pool fill ≥ 0.5 of the floor; join → table
 * p99 < 50 ms.
 *
 * a. Pool fill: from the daemon's "bot online" until the rooms table holds `--rooms` available
 *    rows (polled every 10 ms), in rooms/s; against a floor that does the same MUC work (join a
 *    new room, wait for status 201, fetch the muc#owner form, submit the configuration) with
 *    @xmpp/client over the same server, the same concurrency and no database. Measured floor,
 *    Concierge, (b), floor once the daemon has stopped and its rooms are gone (Prosody creates
 *    rooms about half as fast with 200 rooms around); the floor figure is the median of its runs.
 * b. Join → table: a room claimed for staff in SQL, then a client joins it with the password;
 *    from sending the join presence until NOTIFY roompool reports 'staff_waiting' (p50/p99), and
 *    for comparison until the client's own self-presence arrives (what the server alone takes).
 *    The client then leaves and the room goes back to available.
 *
 *   npm run bench:roompool -- --rooms 200 --concurrency 8 --joins 100
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { xml } from "@xmpp/client";
import pg from "pg";
import { Daemon } from "../test/harness/daemon.js";
import { startStack } from "../test/harness/stack.js";
import {
  HISTORY_LENGTH,
  MAX_OCCUPANTS,
  MucPeer,
  NS_MUC,
  account,
  floorFill,
  sleep,
  within,
} from "./muc-floor.js";
import { emit, median, percentile, progress, round } from "./stats.js";
import { integerFlag, runBench } from "./run.js";
import type { Teardown } from "./teardown.js";

const BENCH = "roompool";
const FILL_GOAL = 0.5;
const LATENCY_GOAL_MS = 50;
/** The room settings of both the daemon and the floor. */

const USAGE = `Usage: npm run bench:roompool -- [options]

  --rooms N        rooms to fill the pool with (default 200)
  --concurrency N  rooms created at once, by the daemon and the floor (default 8)
  --joins N        measured joins for the join → table latency (default 100)
  --warmup N       unmeasured joins first (default 10)
  --floors N       floor runs: 1 (before Concierge) or 2 (before and after; default)
  -h, --help`;

interface Settings {
  rooms: number;
  concurrency: number;
  joins: number;
  warmup: number;
  floors: number;
}

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      rooms: { type: "string", default: "200" },
      concurrency: { type: "string", default: "8" },
      joins: { type: "string", default: "100" },
      warmup: { type: "string", default: "10" },
      floors: { type: "string", default: "2" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  const integer = integerFlag;
  return {
    rooms: integer("rooms", values.rooms, 1, 1_000),
    concurrency: integer("concurrency", values.concurrency, 1, 100),
    joins: integer("joins", values.joins, 1, 100_000),
    warmup: integer("warmup", values.warmup, 0, 100_000),
    floors: integer("floors", values.floors, 1, 2),
  };
}

/** NOTIFY roompool payloads, with the time each arrived. */
class Notifications {
  readonly #waiters = new Set<{ jid: string; status: string; resolve: (at: number) => void }>();

  constructor(readonly db: pg.Client) {
    db.on("notification", (message) => {
      const at = performance.now();
      if (message.channel !== "roompool" || !message.payload) return;
      const { jid, status } = JSON.parse(message.payload) as { jid: string; status: string };
      for (const waiter of this.#waiters) {
        if (waiter.jid === jid && waiter.status === status) {
          this.#waiters.delete(waiter);
          waiter.resolve(at);
        }
      }
    });
  }

  /** The time the room's status next becomes `status` (register before causing it). */
  status(jid: string, status: string, timeoutMs = 10_000): Promise<number> {
    let waiter: { jid: string; status: string; resolve: (at: number) => void };
    const seen = new Promise<number>((resolve) => {
      waiter = { jid, status, resolve };
      this.#waiters.add(waiter);
    });
    return within(seen, timeoutMs, `${jid} → ${status}`).finally(() =>
      this.#waiters.delete(waiter),
    );
  }
}

async function bench(settings: Settings, teardown: Teardown): Promise<number> {
  const { signal } = teardown;
  const { rooms, concurrency } = settings;
  progress(`roompool bench: ${rooms} rooms, concurrency ${concurrency}, ${settings.joins} joins`);
  const stack = await startStack({
    accounts: ["bot", "floor1", "floor2", "staff"].map(account),
  });
  teardown.add("Prosody and the scratch database", () => stack.stop());
  progress(`Prosody on c2s port ${stack.prosody.c2sPort}, database ${stack.db.name}`);

  const db = new pg.Client({ connectionString: stack.db.url });
  await db.connect();
  teardown.add("database client", () => db.end());

  // a. Pool fill: floor, Concierge, floor.
  const floors: number[] = [];
  const runFloor = async (index: number) => {
    signal.throwIfAborted();
    const rate = await floorFill(stack, `floor${index}`, rooms, concurrency);
    floors.push(rate);
    progress(`floor ${index}: ${rate.toFixed(1)} rooms/s`);
  };
  await runFloor(1);

  signal.throwIfAborted();
  const daemon = await Daemon.start(stack, {
    name: "bench-roompool",
    logLevel: "info",
    extra: {
      roompool: {
        service: stack.prosody.service,
        jid: "bot@localhost",
        password: "pw-bot",
        muc_service: stack.prosody.mucDomain,
        min_available: rooms,
        max_rooms: rooms,
        max_occupants: MAX_OCCUPANTS,
        history_length: HISTORY_LENGTH,
        create_concurrency: concurrency,
      },
    },
  });
  teardown.add("daemon", async () => {
    const { code, signal: killed } = await daemon.stop();
    if (code !== 0) progress(`daemon exited with ${code ?? killed}:\n${daemon.transcript()}`);
  });
  const online = await daemon.waitForLog((line) => line.msg === "bot online", 30_000);
  const deadline = Date.now() + 60_000;
  let available = 0;
  let filledAt = 0;
  for (;;) {
    signal.throwIfAborted();
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM roompool_rooms WHERE status = 'available'",
    );
    available = rows[0]!.n;
    if (available >= rooms) {
      filledAt = Date.now();
      break;
    }
    if (Date.now() > deadline || daemon.child.exitCode !== null) {
      throw new Error(`the pool holds ${available} of ${rooms} rooms:\n${daemon.transcript()}`);
    }
    await sleep(10);
  }
  const fillMs = filledAt - online.time;
  const concierge = (rooms * 1000) / fillMs;
  progress(`concierge: ${rooms} rooms in ${fillMs} ms, ${concierge.toFixed(1)} rooms/s`);
  const spread = await db.query<{ first: Date; last: Date }>(
    "SELECT min(created_at) AS first, max(created_at) AS last FROM roompool_rooms",
  );
  const { first, last } = spread.rows[0]!;
  progress(
    `  first row ${first.getTime() - online.time} ms after "bot online", ` +
      `last row ${last.getTime() - online.time} ms after (the table's own clock)`,
  );

  // b. Join → table latency.
  signal.throwIfAborted();
  const listener = new pg.Client({ connectionString: stack.db.url });
  await listener.connect();
  teardown.add("LISTEN client", () => listener.end());
  const notifications = new Notifications(listener);
  await listener.query("LISTEN roompool");
  const staff = await MucPeer.connect(stack, "staff");
  teardown.add("staff client", () => staff.stop());

  const toTable: number[] = [];
  const toSelf: number[] = [];
  for (let i = 0; i < settings.warmup + settings.joins; i += 1) {
    signal.throwIfAborted();
    const id = `staff-${i}`;
    const { rows } = await db.query<{ room_jid: string; room_password: string }>(
      "SELECT * FROM roompool_claim_staff($1, $2)",
      [id, "staff"],
    );
    const claim = rows[0];
    if (!claim) throw new Error("no room was available to claim");
    const occupant = `${claim.room_jid}/staff`;
    const waiting = notifications.status(claim.room_jid, "staff_waiting");
    const self = staff.self(occupant, true);
    const sent = performance.now();
    await staff.xmpp.send(
      xml(
        "presence",
        { to: occupant },
        xml("x", { xmlns: NS_MUC }, xml("password", {}, claim.room_password)),
      ),
    );
    const presence = await self;
    const selfAt = performance.now();
    if (presence.attrs.type === "error") {
      throw new Error(`joining ${claim.room_jid} failed: ${presence.toString()}`);
    }
    const tableAt = await waiting;
    if (i >= settings.warmup) {
      toSelf.push(selfAt - sent);
      toTable.push(tableAt - sent);
    }
    const back = notifications.status(claim.room_jid, "available");
    const left = staff.self(occupant, false);
    await staff.xmpp.send(xml("presence", { to: occupant, type: "unavailable" }));
    await left;
    await back;
  }
  const figures = (target: string, samples: number[]) => {
    for (const p of [50, 99]) {
      emit({
        bench: BENCH,
        target,
        metric: `join_latency_p${p}`,
        value: round(percentile(samples, p), 3),
        unit: "ms",
        samples: samples.length,
      });
    }
  };
  figures("server_self_presence", toSelf);
  figures("concierge_table", toTable);
  const p99 = percentile(toTable, 99);
  progress(
    `join → self-presence p50 ${percentile(toSelf, 50).toFixed(2)} ms, p99 ${percentile(toSelf, 99).toFixed(2)} ms; ` +
      `join → staff_waiting p50 ${percentile(toTable, 50).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms ` +
      `(goal p99 < ${LATENCY_GOAL_MS} ms: ${p99 < LATENCY_GOAL_MS ? "met" : "not met"})`,
  );
  const warnings = daemon.logs.filter((line) => line.level >= 40);
  if (warnings.length > 0) {
    progress(`the daemon logged ${warnings.length} warnings, e.g. ${JSON.stringify(warnings[0])}`);
  }

  // Prosody creates rooms more slowly the more rooms exist (about half as fast with 200 more),
  // so the second floor runs once the daemon's rooms are gone: stopping the bot empties them and
  // Prosody removes temporary rooms when they are empty. Both floors start from an empty service.
  const stopped = await daemon.stop();
  if (stopped.code !== 0)
    throw new Error(`the daemon exited with ${stopped.code ?? stopped.signal}`);
  await sleep(500);
  if (settings.floors > 1) await runFloor(2);
  const floor = median(floors);

  emit({
    bench: BENCH,
    target: "floor",
    metric: "fill_rate",
    value: round(floor, 1),
    unit: "rooms/s",
    runs: floors.map((f) => round(f, 1)).join(","),
  });
  emit({
    bench: BENCH,
    target: "concierge",
    metric: "fill_rate",
    value: round(concierge, 1),
    unit: "rooms/s",
  });
  emit({ bench: BENCH, target: "concierge", metric: "fill_time", value: fillMs, unit: "ms" });
  const ratio = concierge / floor;
  emit({ bench: BENCH, metric: "fill_ratio", value: round(ratio, 3) });
  progress(
    `fill ratio concierge/floor ${ratio.toFixed(3)} (goal ≥ ${FILL_GOAL}: ${ratio >= FILL_GOAL ? "met" : "not met"})`,
  );

  return warnings.length > 0 ? 1 : 0;
}

runBench("roompool", USAGE, parseSettings, bench);
