/**
 * The presence benchmark's in-process part: the pure core (src/presence/) fed with a random but
 * realistic stream of device reports, next to a floor that stores the same reports in a plain Map
 * with no aggregation, alternated round by round in the same process.
 */
import { performance } from "node:perf_hooks";
import xml, { type Element } from "@xmpp/xml";
import { pino } from "pino";
import { DIRECT, SessionBook } from "../src/presence/book.js";
import type { ContactStore } from "../src/presence/contacts.js";
import { PresenceHub } from "../src/presence/hub.js";
import type { Wire } from "../src/presence/outbox.js";
import { Relations } from "../src/presence/relations.js";
import { DEVICE_SHOWS, type DeviceReport } from "../src/presence/rules.js";
import type { BareJid } from "../src/xmpp/jid.js";
import { NS_IDLE } from "../src/xmpp/namespaces.js";
import { Router } from "../src/xmpp/router.js";
import { emit, figureWriter, median, progress, round, seededRandom } from "./stats.js";

export interface CoreSettings {
  users: number;
  devices: number;
  reports: number;
  /** Users per room (everyone in a room sees everyone else), for the hub figure. */
  roomSize: number;
  seed: number;
}

/**
 * Report kinds: 0–4 a hand-set DEVICE_SHOWS[kind], 5–9 an idle DEVICE_SHOWS[kind - 5] (XEP-0319),
 * LEAVE the device going offline.
 */
const IDLE = DEVICE_SHOWS.length;
const LEAVE = 2 * DEVICE_SHOWS.length;
const SHOW = Object.fromEntries(DEVICE_SHOWS.map((show, index) => [show, index])) as Record<
  (typeof DEVICE_SHOWS)[number],
  number
>;

export interface ReportStream {
  /** Device index (user × devices + k) of each report. */
  device: Int32Array;
  kind: Uint8Array;
  users: BareJid[];
  /** Every device's full JID, by device index. */
  jids: string[];
  /** Every device's bare JID, by device index. */
  userOf: string[];
  devicesPerUser: number;
  leaves: number;
  idles: number;
}

/**
 * What devices report over a day, compressed: a device picked at random either comes back online
 * (if it had left: with the state it last chose), leaves (6 %), gets a state chosen by hand
 * (30 %: online, away, dnd, chat, xa by decreasing odds), goes idle (34 %: away or xa with
 * `<idle/>`), or reports its hand-set state again (back from idle, or a client re-sending).
 */
export function reportStream(settings: CoreSettings): ReportStream {
  const next = seededRandom(settings.seed);
  const count = settings.users * settings.devices;
  const users = Array.from(
    { length: settings.users },
    (_, i) => `user${i + 1}@localhost` as BareJid,
  );
  const jids: string[] = [];
  const userOf: string[] = [];
  for (const user of users) {
    for (let k = 1; k <= settings.devices; k += 1) {
      jids.push(`${user}/device${k}`);
      userOf.push(user);
    }
  }
  const online = new Uint8Array(count);
  const handSet = new Int8Array(count).fill(-1);
  const device = new Int32Array(settings.reports);
  const kind = new Uint8Array(settings.reports);
  let leaves = 0;
  let idles = 0;
  const chosen = () => {
    const r = next();
    if (r < 0.5) return SHOW.online;
    if (r < 0.7) return SHOW.away;
    if (r < 0.85) return SHOW.dnd;
    if (r < 0.95) return SHOW.chat;
    return SHOW.xa;
  };
  for (let i = 0; i < settings.reports; i += 1) {
    const d = Math.floor(next() * count);
    device[i] = d;
    const previous = handSet[d]! >= 0 ? handSet[d]! : SHOW.online;
    if (!online[d]) {
      online[d] = 1;
      kind[i] = previous;
      continue;
    }
    const r = next();
    if (r < 0.06) {
      online[d] = 0;
      kind[i] = LEAVE;
      leaves += 1;
    } else if (r < 0.36) {
      handSet[d] = chosen();
      kind[i] = handSet[d]!;
    } else if (r < 0.7) {
      kind[i] = IDLE + (next() < 0.7 ? SHOW.away : SHOW.xa);
      idles += 1;
    } else {
      kind[i] = previous;
    }
  }
  return {
    device,
    kind,
    users,
    jids,
    userOf,
    devicesPerUser: settings.devices,
    leaves,
    idles,
  };
}

const REPORTS: DeviceReport[] = [
  ...DEVICE_SHOWS.map((show) => ({ show, idle: false })),
  ...DEVICE_SHOWS.map((show) => ({ show, idle: true })),
];

export interface RoundResult {
  ms: number;
  /** Reports that changed the user's combined presence. */
  changes: number;
  /** Stanzas handed to the wire (hub only). */
  stanzas: number;
  /** Only the time spent setting up the rooms (hub only). */
  setupMs: number;
}

/** The floor: the same reports written to a Map by device, with no aggregation at all. */
export function floorRound(stream: ReportStream): RoundResult {
  const { device, kind, jids } = stream;
  const last = new Map<string, DeviceReport>();
  const start = performance.now();
  for (let i = 0; i < device.length; i += 1) {
    const k = kind[i]!;
    if (k === LEAVE) last.delete(jids[device[i]!]!);
    else last.set(jids[device[i]!]!, REPORTS[k]!);
  }
  const ms = performance.now() - start;
  if (last.size === 0) throw new Error("the floor kept nothing");
  return { ms, changes: 0, stanzas: 0, setupMs: 0 };
}

/** The session book alone: every report applied and the user's devices recombined. */
export function bookRound(stream: ReportStream): RoundResult {
  const { device, kind, jids, userOf } = stream;
  const book = new SessionBook();
  let changes = 0;
  const start = performance.now();
  for (let i = 0; i < device.length; i += 1) {
    const d = device[i]!;
    const k = kind[i]!;
    const change =
      k === LEAVE
        ? book.leave(userOf[d]!, jids[d]!, DIRECT)
        : book.report(userOf[d]!, jids[d]!, REPORTS[k]!, DIRECT).change;
    if (change) changes += 1;
  }
  return { ms: performance.now() - start, changes, stanzas: 0, setupMs: 0 };
}

/** A wire that counts and drops what it is given (no serialization, no socket). */
class DiscardingWire implements Wire {
  sent = 0;
  readonly congested = false;
  send(element: Element): void {
    if (element.name === "presence") this.sent += 1;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
}

const COMPONENT = "concierge.localhost";
const CHUNK = 1_000;

/**
 * The daemon's whole path short of XML parsing and the socket: each report as a presence stanza
 * (a prebuilt element, its `from` set) dispatched by the real router to the real hub, which
 * updates the book, finds the viewers through the relations (rooms of `roomSize` users) and builds
 * one stanza per listening device through the outbox, onto a wire that drops it. Fed in chunks of
 * 1,000 reports, each followed by the outbox's pump (as socket reads would interleave with it).
 */
export async function hubRound(stream: ReportStream, roomSize: number): Promise<RoundResult> {
  const { device, kind, jids, users } = stream;
  const log = pino({ level: "silent" });
  const wire = new DiscardingWire();
  const router = new Router(() => undefined, log);
  const contacts = { all: () => Promise.resolve([]) } as unknown as ContactStore;
  const hub = new PresenceHub({ wire, componentJid: COMPONENT, contacts, log });
  hub.install(router);
  let changes = 0;
  hub.on("change", () => (changes += 1));
  const setupStart = performance.now();
  for (let first = 0; first < users.length; first += roomSize) {
    hub.setGroup(`room${first / roomSize}@muc.localhost`, users.slice(first, first + roomSize));
  }
  const setupMs = performance.now() - setupStart;
  const templates: Element[] = REPORTS.map(({ show, idle }) => {
    const children: Element[] = [];
    if (show !== "online") children.push(xml("show", {}, show));
    if (idle) children.push(xml("idle", { xmlns: NS_IDLE, since: "2024-05-01T10:00:00Z" }));
    return xml("presence", { from: "", to: COMPONENT }, ...children);
  });
  templates.push(xml("presence", { from: "", to: COMPONENT, type: "unavailable" }));
  const start = performance.now();
  for (let first = 0; first < device.length; first += CHUNK) {
    const end = Math.min(device.length, first + CHUNK);
    for (let i = first; i < end; i += 1) {
      // The hub reads `from` synchronously, before any await, so one element per kind will do.
      const stanza = templates[kind[i]!]!;
      stanza.attrs.from = jids[device[i]!]!;
      router.dispatch(stanza);
    }
    await hub.idle();
  }
  const ms = performance.now() - start;
  return { ms, changes, stanzas: wire.sent, setupMs };
}

export interface RoomTimes {
  /** setRoom for a room no relation knew: every pair is new. */
  firstMs: number;
  /** setRoom again with the same members, as every periodic re-read of the room does. */
  rereadMs: number;
}

/** The cost of Relations.setGroup for one room of `members` users (what a NEERC read does). */
export function roomTimes(members: number, rounds: number): RoomTimes {
  const jids = Array.from({ length: members }, (_, i) => `member${i + 1}@localhost`);
  const first: number[] = [];
  const reread: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const relations = new Relations();
    let start = performance.now();
    relations.setGroup("room@muc.localhost", jids);
    first.push(performance.now() - start);
    start = performance.now();
    const gained = relations.setGroup("room@muc.localhost", jids);
    reread.push(performance.now() - start);
    if (gained.length !== 0) throw new Error("a re-read with the same members gained pairs");
  }
  return { firstMs: median(first), rereadMs: median(reread) };
}

/**
 * The in-process figures: rounds of the stream through the floor, the book and the hub, in turn,
 * after one unmeasured round each; then Relations.setGroup for one room of `roomMembers`.
 */
export async function measureCore(
  bench: string,
  settings: CoreSettings & { coreRounds: number },
  roomMembers: number,
): Promise<void> {
  const { users, devices, reports, roomSize } = settings;
  progress(
    `in-process: ${users} users × ${devices} devices, ${reports} reports, rooms of ${roomSize}, ` +
      `${settings.coreRounds} rounds per target`,
  );
  const stream = reportStream(settings);
  progress(`  stream: ${stream.leaves} leaves, ${stream.idles} idle reports`);
  const targets: Array<{ name: string; run: () => RoundResult | Promise<RoundResult> }> = [
    { name: "floor", run: () => floorRound(stream) },
    { name: "book", run: () => bookRound(stream) },
    { name: "hub", run: () => hubRound(stream, roomSize) },
  ];
  const results = new Map<string, RoundResult[]>(targets.map(({ name }) => [name, []]));
  // One unmeasured round each (JIT), then measured rounds, alternating.
  for (let index = 0; index <= settings.coreRounds; index += 1) {
    for (const { name, run } of targets) {
      const result = await run();
      if (index > 0) results.get(name)!.push(result);
      progress(
        `  ${index === 0 ? "warm-up" : `round ${index}`} ${name}: ${result.ms.toFixed(1)} ms` +
          (name === "floor" ? "" : `, ${result.changes} changes`) +
          (name === "hub" ? `, ${result.stanzas} stanzas` : ""),
      );
    }
  }
  const nsPer = (name: string) => (median(results.get(name)!.map((r) => r.ms)) * 1e6) / reports;
  const floorNs = nsPer("floor");
  figureWriter(bench, "floor")("core_reports_per_s", round(1e9 / floorNs), "report/s", {
    ns_per_report: String(round(floorNs, 1)),
    of: "Map.set/delete of each report by device, no aggregation",
  });
  for (const name of ["book", "hub"]) {
    const ns = nsPer(name);
    const last = results.get(name)!.at(-1)!;
    const line = figureWriter(bench, name);
    line("core_updates_per_s", round(1e9 / ns), "report/s", {
      ns_per_update: String(round(ns, 1)),
      users: String(users),
      devices_per_user: String(devices),
      reports: String(reports),
      ...(name === "hub" ? { room_size: String(roomSize) } : {}),
    });
    line("core_combined_changes", last.changes, "report", {
      share: String(round(last.changes / reports, 3)),
    });
    if (name === "hub") {
      line("core_stanzas_per_update", round(last.stanzas / reports, 2), "stanza", {
        ns_per_stanza: String(
          round((median(results.get(name)!.map((r) => r.ms)) * 1e6) / last.stanzas, 1),
        ),
        rooms_setup_ms: String(round(last.setupMs, 1)),
      });
    }
    emit({
      bench: bench,
      target: name,
      metric: "core_ratio",
      value: round(ns / floorNs, 2),
      of: `${name} time / floor time per report`,
    });
  }
  const members = roomMembers;
  const times = roomTimes(members, 3);
  const line = figureWriter(bench, "relations");
  line("room_set_ms", round(times.firstMs, 1), "ms", {
    members: String(members),
    pairs: String(members * (members - 1)),
  });
  line("room_reread_ms", round(times.rereadMs, 1), "ms", { members: String(members) });
  progress(
    `  Relations.setGroup of ${members} members: ${times.firstMs.toFixed(1)} ms first, ` +
      `${times.rereadMs.toFixed(1)} ms on a re-read with the same members`,
  );
}
