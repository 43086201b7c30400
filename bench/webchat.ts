/**
 * Benchmark: the browser chat bridge (src/webchat/). One JSON line per figure on stdout,
 * progress on stderr. Goals (reported, not asserted): staff → browser p99 ≤ 1.5 × the floor;
 * < 50 KB of daemon RSS per idle stream.
 *
 * a. Latency: a staff client (raw c2s) writes in its pool room, one message in flight; the time
 *    until the message is parsed out of the browser session's SSE stream. Floor, in alternating
 *    rounds: the same kind of client writing to another raw c2s client in a plain room of the
 *    same MUC service. p50 and p99 of each, and the ratio of the p99s.
 * b. Token minting: POST /nereid-chat/token continuing one session (a new token each time),
 *    `--concurrency` at a time, in tokens/s; and new sessions (each claims a pool room and joins
 *    it) while they are set up for (c).
 * c. Idle streams: `--sessions` staff sessions, `--streams` SSE connections spread over them;
 *    the daemon's RSS before and after, per stream.
 *
 *   npm run bench:webchat -- --streams 2000 --sessions 250 --messages 400 --mints 2000
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import pg from "pg";
import { SseParser, API_KEY, webchatConfig } from "../test/harness/webchat.js";
import type { RawClient } from "./raw-client.js";
import { integerFlag, runBench } from "./run.js";
import { RawClients, inParallel, startDaemon, startBenchServer } from "./setup.js";
import { emit, percentile, progress, round } from "./stats.js";
import type { Teardown } from "./teardown.js";
import { escapeXml } from "./xml-scan.js";

const BENCH = "webchat";
const USAGE = `Usage: npm run bench:webchat -- [options]

  --streams N      idle SSE streams to hold (default 2000)
  --sessions N     browser sessions they are spread over, one pool room each (default 250)
  --messages N     measured messages per target for the latency (default 400)
  --rounds N       alternating rounds the messages are split into (default 8)
  --mints N        tokens minted for the minting rate (default 2000)
  --concurrency N  token requests in flight (default 8)
  -h, --help`;

interface Settings {
  streams: number;
  sessions: number;
  messages: number;
  rounds: number;
  mints: number;
  concurrency: number;
}

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      streams: { type: "string", default: "2000" },
      sessions: { type: "string", default: "250" },
      messages: { type: "string", default: "400" },
      rounds: { type: "string", default: "8" },
      mints: { type: "string", default: "2000" },
      concurrency: { type: "string", default: "8" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  return {
    streams: integerFlag("streams", values.streams, 1, 100_000),
    sessions: integerFlag("sessions", values.sessions, 1, 5_000),
    messages: integerFlag("messages", values.messages, 10, 1_000_000),
    rounds: integerFlag("rounds", values.rounds, 1, 1_000),
    mints: integerFlag("mints", values.mints, 1, 1_000_000),
    concurrency: integerFlag("concurrency", values.concurrency, 1, 256),
  };
}

const account = (name: string) => ({ username: name, password: `pw-${name}` });

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
}

async function api(base: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const reply = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  const json = (await reply.json()) as Record<string, unknown>;
  if (!reply.ok) throw new Error(`${path}: ${reply.status} ${JSON.stringify(json)}`);
  return json;
}

/** An SSE stream on a raw socket; `onEvent` sees each event's data as it is parsed. */
function openStream(
  port: number,
  path: string,
  onEvent?: (data: Record<string, unknown>) => void,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1" });
    const parser = new SseParser();
    let opened = false;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      if (!opened && chunk.includes("retry: ")) {
        opened = true;
        resolve(socket);
      }
      parser.push(chunk);
      if (onEvent) for (const event of parser.events.splice(0)) onEvent(event.data);
      else parser.events.length = 0;
    });
    socket.on("error", reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

async function joinRoom(client: RawClient, room: string, nick: string, password?: string) {
  const to = `${room}/${nick}`;
  const joined = new Promise<void>((resolve) =>
    client.listen((xml) => {
      if (xml.startsWith("<presence") && xml.includes(`from='${to}'`) && xml.includes("110"))
        resolve();
      if (xml.startsWith("<presence") && xml.includes(`from="${to}"`) && xml.includes("110"))
        resolve();
    }),
  );
  client.send(
    `<presence to='${escapeXml(to)}'><x xmlns='http://jabber.org/protocol/muc'>` +
      `<history maxstanzas='0'/>${password ? `<password>${escapeXml(password)}</password>` : ""}</x></presence>`,
  );
  await joined;
  client.listen(undefined);
}

async function bench(settings: Settings, teardown: Teardown): Promise<number> {
  const stack = await startBenchServer(teardown, ["bot", "staff", "floora", "floorb"].map(account));
  const db = new pg.Pool({ connectionString: stack.db.url });
  teardown.add("database pool", () => db.end());
  const clients = new RawClients(stack, teardown);
  const config = webchatConfig(stack, {
    grace_period_ms: 3_600_000,
    max_streams_per_token: 1_000,
    max_streams_per_address: 1_000_000,
    max_streams: 1_000_000,
    requests_per_minute: 1_000_000,
    token_requests_per_minute: 1_000_000,
    messages_per_minute: 1_000_000,
  });
  config.roompool.min_available = settings.sessions + 4;
  config.roompool.max_rooms = settings.sessions + 20;
  Object.assign(config.roompool, { create_concurrency: 16 });
  const daemon = await startDaemon(stack, teardown, {
    name: "bench",
    logLevel: "info",
    extra: config,
  });
  const listening = await daemon.waitForLog((line) => line.msg === "http listening", 30_000);
  progress("waiting for the pool to fill");
  const available = async () =>
    (
      await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM roompool_rooms WHERE status = 'available'",
      )
    ).rows[0]!.n;
  for (let waited = 0; (await available()) < settings.sessions + 2; waited++) {
    if (waited > 600 || daemon.child.exitCode !== null) {
      throw new Error(`the pool did not fill:\n${daemon.transcript().slice(-3_000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const port = Number(listening.port);
  const base = `http://127.0.0.1:${port}`;

  // ---- a. latency ----
  const staff = await clients.connect(account("staff"), "bench");
  await staff.available();
  const { rows } = await db.query<{ room_jid: string; room_password: string }>(
    "SELECT * FROM roompool_claim_staff('staff', 'Staff')",
  );
  const poolRoom = rows[0]!.room_jid;
  await joinRoom(staff, poolRoom, "Staff", rows[0]!.room_password);
  const browser = await api(base, "/nereid-chat/token", {
    person: "visitor",
    name: "Visitor",
    role: "client",
    claim: true,
  });
  let onBrowser: ((text: string) => void) | undefined;
  await openStream(port, `/nereid-chat/stream/${String(browser.token)}`, (data) => {
    const text = (data.message as { text?: string } | undefined)?.text;
    if (text !== undefined) onBrowser?.(text);
  });

  progress("browser stream open; joining the floor's room");
  const floorA = await clients.connect(account("floora"), "bench");
  const floorB = await clients.connect(account("floorb"), "bench");
  await floorA.available();
  await floorB.available();
  const floorRoom = `floor-${randomUUID().slice(0, 8)}@${stack.prosody.mucDomain}`;
  await joinRoom(floorA, floorRoom, "a");
  // A new room stays locked until configured: the second client may join once it is.
  const configured = new Promise<void>((resolve) =>
    floorA.listen((xml) => {
      if (xml.startsWith("<iq") && /id=['"]instant['"]/.test(xml)) resolve();
    }),
  );
  floorA.send(
    `<iq type='set' id='instant' to='${floorRoom}'><query xmlns='http://jabber.org/protocol/muc#owner'>` +
      `<x xmlns='jabber:x:data' type='submit'/></query></iq>`,
  );
  await configured;
  floorA.listen(undefined);
  await joinRoom(floorB, floorRoom, "b");
  let onFloor: ((text: string) => void) | undefined;
  floorB.listen((xml) => {
    const match = /<body>([^<]*)<\/body>/.exec(xml);
    if (match && xml.startsWith("<message")) onFloor?.(match[1]!);
  });

  const oneMessage = (
    sender: RawClient,
    room: string,
    set: (f: (t: string) => void) => void,
    text: string,
  ) =>
    new Promise<number>((resolve) => {
      const started = performance.now();
      set((got) => {
        if (got === text) resolve(performance.now() - started);
      });
      sender.send(
        `<message to='${room}' type='groupchat' id='${randomUUID()}'><body>${text}</body></message>`,
      );
    });
  progress("floor room ready");
  const concierge: number[] = [];
  const floor: number[] = [];
  const perRound = Math.ceil(settings.messages / settings.rounds);
  for (let i = 0; i < 20; i++) {
    await oneMessage(staff, poolRoom, (f) => (onBrowser = f), `warm-${i}`);
    await oneMessage(floorA, floorRoom, (f) => (onFloor = f), `warm-${i}`);
  }
  progress(`latency: ${settings.rounds} rounds of ${perRound} messages per target`);
  for (let round = 0; round < settings.rounds; round++) {
    for (let i = 0; i < perRound; i++) {
      floor.push(await oneMessage(floorA, floorRoom, (f) => (onFloor = f), `f-${round}-${i}`));
    }
    for (let i = 0; i < perRound; i++) {
      concierge.push(await oneMessage(staff, poolRoom, (f) => (onBrowser = f), `c-${round}-${i}`));
    }
  }
  const figure = (target: string, metric: string, value: number, unit: string, extra = {}) =>
    emit({ bench: BENCH, target, metric, value, unit, ...extra });
  for (const [target, samples] of [
    ["floor", floor],
    ["concierge", concierge],
  ] as const) {
    figure(target, "latency_p50", round(percentile(samples, 50), 3), "ms", {
      samples: samples.length,
    });
    figure(target, "latency_p99", round(percentile(samples, 99), 3), "ms", {
      samples: samples.length,
    });
  }
  figure(
    "concierge",
    "latency_p99_ratio",
    round(percentile(concierge, 99) / percentile(floor, 99), 2),
    "x floor",
    {
      goal: "<= 1.5",
    },
  );
  figure(
    "concierge",
    "latency_p50_ratio",
    round(percentile(concierge, 50) / percentile(floor, 50), 2),
    "x floor",
  );

  // ---- b. token minting ----
  const again = { person: "visitor", name: "Visitor", role: "client", room: String(browser.room) };
  await inParallel(Array.from({ length: 50 }), settings.concurrency, () =>
    api(base, "/nereid-chat/token", again),
  );
  let started = performance.now();
  await inParallel(Array.from({ length: settings.mints }), settings.concurrency, () =>
    api(base, "/nereid-chat/token", again),
  );
  figure(
    "concierge",
    "tokens_per_second",
    round(settings.mints / ((performance.now() - started) / 1000)),
    "tokens/s",
    {
      concurrency: String(settings.concurrency),
    },
  );

  progress(`${settings.sessions} sessions, each in its own pool room`);
  started = performance.now();
  const tokens = await inParallel(
    Array.from({ length: settings.sessions }, (_, i) => i),
    settings.concurrency,
    async (i) =>
      String(
        (
          await api(base, "/nereid-chat/token", {
            person: `staff-${i}`,
            name: `Staff ${i}`,
            role: "staff",
            claim: true,
          })
        ).token,
      ),
  );
  figure(
    "concierge",
    "sessions_per_second",
    round(settings.sessions / ((performance.now() - started) / 1000), 1),
    "sessions/s",
    {
      what: "token with claim: the pool's claim, a new session, its occupant joined",
    },
  );

  // ---- c. idle streams ----
  const pid = daemon.child.pid!;
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const before = await rssKb(pid);
  progress(`opening ${settings.streams} streams (daemon RSS ${before} kB)`);
  const sockets: Socket[] = [];
  teardown.add("streams", () => {
    for (const socket of sockets) socket.destroy();
    return Promise.resolve();
  });
  await inParallel(
    Array.from({ length: settings.streams }, (_, i) => i),
    64,
    async (i) => {
      sockets.push(await openStream(port, `/nereid-chat/stream/${tokens[i % tokens.length]!}`));
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const open = sockets.filter((s) => !s.destroyed).length;
  const afterRss = await rssKb(pid);
  figure("concierge", "open_streams", open, "streams", { sessions: String(settings.sessions) });
  figure("concierge", "rss_before_streams", before, "kB");
  figure("concierge", "rss_with_streams", afterRss, "kB");
  figure(
    "concierge",
    "rss_per_stream",
    round(((afterRss - before) * 1024) / open / 1024, 1),
    "kB/stream",
    {
      goal: "< 50",
    },
  );
  return 0;
}

runBench(BENCH, USAGE, parseSettings, bench);
