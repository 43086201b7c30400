/**
 * Fuzzing the running daemon through a real server: a private Prosody and a scratch database
 * (test/harness/stack.ts), the daemon as a child process with every service on (NEERC, OLPC,
 * the room pool with its bot, presence), several real c2s clients, NEERC rooms each client may
 * or may not belong to, a pool room two of them chat in, and one more client that is replaced
 * by a new connection every couple of thousand stanzas (devices that come and go, without a
 * word to the component). The clients send the generator's stanzas (test/fuzz/generator.ts) in
 * a seeded order with a bounded number of iqs in flight.
 *
 * Checked: the daemon never exits; every iq get/set (and every iq of an unknown type, which
 * the server refuses itself) gets exactly one reply within `replyTimeoutMs`, none missing,
 * none duplicated, and nothing answers an iq result or error; the server never closes a
 * fuzzing client's stream (that would be the generator's fault); afterwards the daemon still
 * answers ping and disco#info; its RSS grows by less than 50 MB from the end of the warm-up to
 * the end. Reported without failing the run: internal-server-error replies, slow and late
 * replies, error and warning log lines by message (floods), lost component connections.
 *
 * The seed is printed first and starts every failure message; the same seed gives the same
 * stanzas from the same clients in the same order (the names of the pool's rooms, which the
 * server makes up, are the only part of the world that differs from run to run).
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import jid from "@xmpp/jid";
import type { Element } from "@xmpp/xml";
import pg from "pg";
import type { Account } from "../../src/dev/prosody.js";
import { TestClient, errorCondition, xml } from "../harness/client.js";
import { Daemon, type LogLine } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { createRoom, setAffiliation, letComponentReadLists } from "../harness/muc.js";
import { startStack, type Stack } from "../harness/stack.js";
import { NS, StanzaGenerator, type FuzzStanza, type FuzzWorld } from "./generator.js";
import { Prng, deriveSeed } from "../../src/dev/random.js";

export interface FuzzOptions {
  /** How many stanzas to send. */
  stanzas: number;
  seed: number;
  /** Fuzzing c2s clients (at least 4: an owner, an admin, a member and an outsider of the rooms). */
  clients?: number;
  /** iqs awaiting their reply at once, over all clients; default 16. */
  concurrency?: number;
  /** A reply later than this is missing; default 5,000 ms. */
  replyTimeoutMs?: number;
  /** A reply later than this is reported as slow; default 1,000 ms. */
  slowMs?: number;
  /** Stanzas sent before the RSS baseline is taken; default min(1,000, stanzas / 10). */
  warmup?: number;
  /**
   * One more client sends its share of stanzas and is replaced by a new connection (a new
   * resource) every this many stanzas, so that devices come and go; default 2,000 (each login
   * costs the server about a second of CPU: SCRAM in Lua), 0 for never.
   */
  churnEvery?: number;
  /** Share of deliberately oversized stanzas, sent from a separate connection; default 0. */
  oversizeRate?: number;
  /** The daemon's log level; default info ("trace" logs every stanza in and out, for debugging). */
  logLevel?: string;
  /** Called with the daemon's log lines and the server's log before everything is stopped. */
  inspect?: (logs: readonly LogLine[], serverLog: string) => void;
  /** Progress lines (the seed first); default stderr. */
  progress?: (line: string) => void;
}

export interface Finding {
  kind: string;
  message: string;
  count: number;
  /** The stanza (XML, cut at 2,000 characters) and what came back, for the first occurrences. */
  samples: string[];
}

export interface FuzzReport {
  seed: number;
  stanzas: number;
  iqs: number;
  messages: number;
  presences: number;
  oversize: number;
  bytes: number;
  /** Replies to iqs that expect one, by "result" or error condition. */
  replies: Record<string, number>;
  /** The same by the namespace of the iq's child (the first one generated). */
  repliesByNamespace: Record<string, Record<string, number>>;
  missing: number;
  duplicated: number;
  /** Replies to iq results and errors (nothing may answer those). */
  unexpected: number;
  late: number;
  slow: number;
  latencyMs: { p50: number; p99: number; max: number };
  durationMs: number;
  stanzasPerSecond: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  rssPeakMb: number;
  rssGrowthMb: number;
  daemonExited: boolean;
  componentReconnects: number;
  /** Daemon log lines during the run, by level name. */
  logLines: Record<string, number>;
  /** Stanzas the daemon sent the clients during the run, by name and type. */
  received: Record<string, number>;
  findings: Finding[];
  /** Why the run failed; empty when it passed. Every entry starts with the seed. */
  failures: string[];
}

const RSS_LIMIT_MB = 50;
const LEVELS: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};

interface Sent {
  id: string;
  index: number;
  client: number;
  sentAt: number;
  expectsReply: boolean;
  namespace: string;
  replies: number;
  /** Kept while no reply has come (for the report of a missing one). */
  xml: string | undefined;
  missing: boolean;
}

/** The world the generator is told about, from the stack. */
export function fuzzWorld(stack: Stack, users: readonly string[], poolRooms: string[]): FuzzWorld {
  return {
    componentJid: stack.componentJid,
    domain: stack.prosody.domain,
    mucDomain: stack.prosody.mucDomain,
    users,
    neercRooms: ["neerc", "contest"],
    otherRooms: ["lobby"],
    extraRooms: poolRooms,
    groups: ["Halls"],
  };
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const seed = options.seed >>> 0;
  const clientCount = Math.max(4, options.clients ?? 4);
  const concurrency = options.concurrency ?? 16;
  const replyTimeoutMs = options.replyTimeoutMs ?? 5_000;
  const slowMs = options.slowMs ?? 1_000;
  const warmup = options.warmup ?? Math.min(1_000, Math.floor(options.stanzas / 10));
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const tag = `fuzz seed ${seed}`;
  const churnEvery = options.churnEvery ?? 2_000;
  progress(
    `${tag}: ${options.stanzas} stanzas from ${clientCount} clients` +
      (churnEvery > 0 ? ` and one that is replaced every ${churnEvery} stanzas` : ""),
  );

  const names = Array.from({ length: clientCount }, (_, i) => `user${i + 1}`);
  const account = (name: string): Account => ({ username: name, password: `pw-${name}` });
  const stack = await startStack({ accounts: [...names, "churn", "bot", "big"].map(account) });
  const clients: TestClient[] = [];
  let daemon: Daemon | undefined;
  let db: pg.Pool | undefined;
  try {
    for (const [i, name] of names.entries()) {
      const c = await TestClient.connect(stack, account(name), `fuzz${i + 1}`);
      tolerateBadAddresses(c);
      clients.push(c);
    }
    const jidOf = (i: number) => `${names[i]}@${stack.prosody.domain}`;
    const muc = (room: string) => `${room}@${stack.prosody.mucDomain}`;
    // user1 owns the NEERC rooms (and stays in them), user2 is an admin, user3 a member, the
    // rest are outsiders; the component owns them so that it may read their members. `lobby`
    // exists but the component may not read it.
    const [owner, admin, member] = clients as [TestClient, TestClient, TestClient];
    for (const room of ["neerc", "contest"]) {
      await createRoom(owner, muc(room));
      await letComponentReadLists(owner, muc(room), stack);
      await setAffiliation(owner, muc(room), jidOf(1), "admin");
      await setAffiliation(owner, muc(room), jidOf(2), "member");
    }
    await createRoom(admin, muc("lobby"));
    await member.xmpp.send(
      xml("presence", { to: `${muc("neerc")}/member` }, xml("x", { xmlns: NS.muc })),
    );

    daemon = await Daemon.start(stack, {
      name: "fuzz",
      logLevel: options.logLevel ?? "info",
      extra: {
        presence: {
          liveness_interval_ms: 5_000,
          liveness_timeout_ms: 3_000,
          in_call_timeout_ms: 3_000,
        },
        neerc: {
          muc_service: stack.prosody.mucDomain,
          groups: { [names[2]!]: "Halls" },
          refresh_interval_ms: 5_000,
        },
        olpc: {},
        roompool: {
          service: stack.prosody.service,
          jid: `bot@${stack.prosody.domain}`,
          password: "pw-bot",
          muc_service: stack.prosody.mucDomain,
          min_available: 2,
          max_rooms: 4,
          maintenance_interval_ms: 500,
        },
      },
    });
    const running = daemon;
    let daemonExited = false;
    void running.exited.then(() => (daemonExited = true));
    await running.waitForLog((line) => line.msg === "rooms resynchronised", 30_000);

    // A pool room where user3 (staff) and user4 (client) chat: its in-call flag is theirs.
    db = new pg.Pool({ connectionString: stack.db.url });
    const pool = db;
    const poolRooms: string[] = [];
    await eventually(
      async () =>
        (await pool.query("SELECT 1 FROM roompool_rooms WHERE status = 'available'")).rowCount,
      (n) => (n ?? 0) > 0,
      "an available pool room",
      20_000,
    );
    for (const [who, i] of [
      ["staff", 2],
      ["client", 3],
    ] as const) {
      const { rows } = await pool.query<{ room_jid: string; room_password: string }>(
        `SELECT room_jid, room_password FROM roompool_claim_${who}($1, $2)`,
        [names[i], names[i]],
      );
      const room = rows[0];
      if (!room) throw new Error(`${tag}: no pool room for the ${who}`);
      if (!poolRooms.includes(room.room_jid)) poolRooms.push(room.room_jid);
      await clients[i]!.xmpp.send(
        xml(
          "presence",
          { to: `${room.room_jid}/${names[i]}` },
          xml("x", { xmlns: NS.muc }, xml("password", {}, room.room_password)),
        ),
      );
      await eventually(
        async () =>
          (
            await pool.query<{ status: string }>(
              "SELECT status FROM roompool_rooms WHERE jid = $1",
              [room.room_jid],
            )
          ).rows[0]?.status,
        (status) => status === (who === "staff" ? "staff_waiting" : "chatting"),
        `the pool room's ${who} arriving`,
      );
    }
    // Every client is a device of the presence core (and a querier the index can notify).
    for (const c of clients) await c.xmpp.send(xml("presence", { to: stack.componentJid }));

    // The churning client: index clientCount, replaced every churnEvery stanzas.
    const churnIndex = clientCount;
    let churnGeneration = 0;
    const connectChurn = async () => {
      const churn = await TestClient.connect(stack, account("churn"), `churn${churnGeneration++}`);
      tolerateBadAddresses(churn);
      return churn;
    };
    if (churnEvery > 0) clients.push(await connectChurn());
    // Logging in takes the server a second (SCRAM in Lua): the next one connects meanwhile.
    let nextChurn = churnEvery > 0 ? connectChurn() : undefined;
    const stopping: Promise<void>[] = [];

    const world = fuzzWorld(
      stack,
      [...names.map((_, i) => jidOf(i)), `churn@${stack.prosody.domain}`],
      poolRooms,
    );
    const generator = new StanzaGenerator(seed, world, { oversizeRate: options.oversizeRate ?? 0 });
    const senders = new Prng(deriveSeed(seed, 1));

    // ---- bookkeeping ----
    const sent = new Map<string, Sent>();
    const pending = new Map<string, Sent>();
    const replies: Record<string, number> = {};
    const byNamespace: Record<string, Record<string, number>> = {};
    const received: Record<string, number> = {};
    const latencies: number[] = [];
    const findings = new Map<string, Finding>();
    const failures: string[] = [];
    const fail = (message: string) => failures.push(`${tag}: ${message}`);
    /** One finding per kind and message; numbers (delays, ports, sizes) do not split them. */
    const find = (kind: string, message: string, sample?: string) => {
      const key = `${kind} ${message.replace(/\d+/gu, "N")}`;
      let finding = findings.get(key);
      if (!finding) findings.set(key, (finding = { kind, message, count: 0, samples: [] }));
      finding.count++;
      if (sample !== undefined && finding.samples.length < 3) finding.samples.push(sample);
    };
    let missing = 0;
    let duplicated = 0;
    let unexpected = 0;
    let late = 0;
    let slow = 0;
    let stanzasSent = 0;
    let sending = true;
    const slots = new Semaphore(concurrency);
    /** The latest messages and presences sent, by id, for the report of an error they cause. */
    const recent = new Map<string, string>();

    const settle = (record: Sent) => {
      if (pending.delete(record.id)) slots.release();
      record.xml = undefined;
    };

    /** Clients replaced on purpose: their streams end without it being a failure. */
    const retired = new Set<TestClient>();
    const watch = (c: TestClient, clientIndex: number) => {
      c.xmpp.on("stanza", (stanza: Element) => {
        const type = String(stanza.attrs.type ?? "");
        const key = `${stanza.name}:${type || "-"}`;
        received[key] = (received[key] ?? 0) + 1;
        const condition = errorCondition(stanza);
        if (stanza.name !== "iq") {
          if (condition === "internal-server-error") {
            const request = recent.get(String(stanza.attrs.id));
            find(
              "internal-server-error",
              `${stanza.name} answered internal-server-error`,
              `${request ?? "(request no longer known)"}\n→ ${cut(stanza.toString())}${logFor(running.logs, String(stanza.attrs.id))}`,
            );
          }
          return;
        }
        if (type !== "result" && type !== "error") return;
        const record = sent.get(String(stanza.attrs.id));
        if (!record) return;
        if (record.client !== clientIndex) return;
        record.replies++;
        if (!record.expectsReply) {
          unexpected++;
          find("unexpected-reply", "a reply to an iq result or error", cut(stanza.toString()));
          return;
        }
        if (record.replies > 1) {
          duplicated++;
          find("duplicate-reply", "a second reply to one iq", cut(stanza.toString()));
          return;
        }
        const latency = performance.now() - record.sentAt;
        latencies.push(latency);
        const outcome = condition ?? (type === "error" ? "error-without-condition" : "result");
        replies[outcome] = (replies[outcome] ?? 0) + 1;
        const perNs = (byNamespace[record.namespace] ??= {});
        perNs[outcome] = (perNs[outcome] ?? 0) + 1;
        if (record.missing) {
          late++;
          find("late-reply", `a reply after ${replyTimeoutMs} ms`, `${Math.round(latency)} ms`);
        } else if (latency > slowMs) {
          slow++;
          find(
            "slow-reply",
            `a reply after more than ${slowMs} ms`,
            `${Math.round(latency)} ms: ${record.xml ?? ""}`,
          );
        }
        if (outcome === "internal-server-error") {
          find(
            "internal-server-error",
            "iq answered internal-server-error",
            `${record.xml ?? ""}\n→ ${cut(stanza.toString())}${logFor(running.logs, String(stanza.attrs.id))}`,
          );
        }
        settle(record);
      });
      c.xmpp.on("error", (error: Error) => {
        if (sending)
          fail(
            `client ${clientIndex + 1}: ${error.name}: ${error.message} (the server refused something the generator sent)`,
          );
      });
      c.xmpp.on("disconnect", () => {
        if (!sending || retired.has(c)) return;
        fail(
          `client ${clientIndex + 1}'s stream was closed by the server after stanza #${stanzasSent - 1}`,
        );
        for (const record of [...pending.values()]) {
          if (record.client === clientIndex) {
            record.missing = true;
            settle(record);
          }
        }
      });
    };
    clients.forEach(watch);

    const sweeper = setInterval(() => {
      const now = performance.now();
      for (const record of [...pending.values()]) {
        if (now - record.sentAt < replyTimeoutMs) continue;
        missing++;
        record.missing = true;
        find("missing-reply", `no reply within ${replyTimeoutMs} ms`, record.xml);
        settle(record);
      }
    }, 250);

    const pid = running.child.pid;
    let rssPeak = 0;
    const rssSampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(pid))), 500);
    const logStart = running.logs.length;
    const onlineBefore = running.logs.filter((line) => line.msg === "component online").length;
    let rssBefore = rssMb(pid);

    // ---- the run ----
    const started = performance.now();
    let bytes = 0;
    let iqs = 0;
    let messages = 0;
    let presences = 0;
    let oversize = 0;
    let big: TestClient | undefined;
    for (let i = 0; i < options.stanzas; i++) {
      if (daemonExited) break;
      const stanza = generator.next();
      const clientIndex = senders.int(0, clients.length - 1);
      if (churnEvery > 0 && i > 0 && i % churnEvery === 0) {
        // The churning device goes (without a word to the component) and a new one comes.
        const waitUntil = performance.now() + replyTimeoutMs;
        const busy = () => [...pending.values()].some((r) => r.client === churnIndex);
        while (busy() && performance.now() < waitUntil) await sleep(10);
        const old = clients[churnIndex]!;
        retired.add(old);
        stopping.push(old.stop());
        const next = await nextChurn!;
        nextChurn = connectChurn();
        watch(next, churnIndex);
        clients[churnIndex] = next;
      }
      bytes += stanza.bytes;
      if (stanza.oversize) {
        oversize++;
        big = await sendOversize(stack, account("big"), big, stanza, find);
        continue;
      }
      if (stanza.kind === "iq") iqs += stanza.expectsReply ? 1 : 0;
      else if (stanza.kind === "message") messages++;
      else presences++;
      const c = clients[clientIndex]!;
      if (stanza.kind === "iq") {
        if (stanza.expectsReply) await slots.acquire();
        const record: Sent = {
          id: stanza.id,
          index: stanza.index,
          client: clientIndex,
          sentAt: performance.now(),
          expectsReply: stanza.expectsReply,
          namespace: namespaceOf(stanza),
          replies: 0,
          xml: stanza.expectsReply ? describe(stanza) : undefined,
          missing: false,
        };
        sent.set(stanza.id, record);
        if (stanza.expectsReply) pending.set(stanza.id, record);
      }
      try {
        await c.xmpp.send(stanza.element);
      } catch (error) {
        fail(`client ${clientIndex + 1} could not send stanza #${i}: ${(error as Error).message}`);
      }
      stanzasSent++;
      if (stanza.kind !== "iq") {
        recent.set(stanza.id, describe(stanza));
        if (recent.size > 2_000) recent.delete(recent.keys().next().value!);
      }
      if (i + 1 === warmup) rssBefore = rssMb(pid);
      if (i % 1_000 === 999) {
        for (const other of clients) other.received.length = 0;
        const seconds = (performance.now() - started) / 1_000;
        progress(
          `${tag}: ${i + 1} stanzas, ${Math.round((i + 1) / seconds)}/s, ${pending.size} iqs waiting, RSS ${rssMb(pid).toFixed(0)} MB`,
        );
      }
    }
    // Every outstanding iq gets its reply or its timeout; then a moment for late duplicates.
    const deadline = performance.now() + replyTimeoutMs + 1_000;
    while (pending.size > 0 && performance.now() < deadline) await sleep(50);
    const durationMs = performance.now() - started;
    await sleep(1_500);
    sending = false;
    clearInterval(sweeper);
    await Promise.all(stopping);
    if (nextChurn) await (await nextChurn).stop();
    const rssAfter = rssMb(pid);
    clearInterval(rssSampler);
    rssPeak = Math.max(rssPeak, rssAfter);
    await big?.stop();

    // ---- after the run ----
    if (daemonExited) {
      const exit = await running.exited;
      fail(
        `the daemon exited (code ${exit.code}, signal ${exit.signal}) after stanza #${stanzasSent - 1}:\n${tail(running)}`,
      );
    } else {
      const check = clients[0]!;
      try {
        const pong = await check.request(
          xml("iq", { type: "get", to: stack.componentJid }, xml("ping", { xmlns: NS.ping })),
        );
        if (pong.attrs.type !== "result") fail(`ping after the run: ${pong.toString()}`);
        const info = await check.request(
          xml("iq", { type: "get", to: stack.componentJid }, xml("query", { xmlns: NS.discoInfo })),
        );
        const identity = info.getChild("query", NS.discoInfo)?.getChild("identity");
        if (info.attrs.type !== "result" || identity?.attrs.category !== "component") {
          fail(`disco#info after the run: ${cut(info.toString())}`);
        }
      } catch (error) {
        fail(`the daemon does not answer after the run: ${(error as Error).message}`);
      }
    }
    if (missing > 0)
      fail(
        `${missing} iqs got no reply within ${replyTimeoutMs} ms (see the missing-reply finding)`,
      );
    if (duplicated > 0) fail(`${duplicated} iqs got more than one reply`);
    if (unexpected > 0) fail(`${unexpected} iq results or errors were answered`);
    const growth = rssAfter - rssBefore;
    if (growth >= RSS_LIMIT_MB) {
      fail(
        `the daemon's RSS grew by ${growth.toFixed(1)} MB (${rssBefore.toFixed(1)} → ${rssAfter.toFixed(1)} MB) after the warm-up`,
      );
    }

    // ---- the daemon's log ----
    const logs = running.logs.slice(logStart);
    const logLines: Record<string, number> = {};
    for (const line of logs) {
      const level = LEVELS[line.level] ?? String(line.level);
      logLines[level] = (logLines[level] ?? 0) + 1;
      if (line.level >= 40) find(`log-${level}`, line.msg, cut(JSON.stringify(line), 600));
    }
    const loud = (logLines.warn ?? 0) + (logLines.error ?? 0) + (logLines.fatal ?? 0);
    if (loud > stanzasSent / 20) {
      find("log-flood", `${loud} warning and error lines for ${stanzasSent} stanzas`);
    }
    const componentReconnects =
      running.logs.filter((line) => line.msg === "component online").length - onlineBefore;
    if (componentReconnects > 0) {
      // Prosody closes a component's stream as "not-well-formed" when one stanza from it exceeds
      // component_stanza_size_limit (512 KiB by default); it says so only in its debug log.
      const closedAsMalformed = running.logs.some((line) => /not-well-formed/u.test(line.msg));
      find(
        "component-reconnect",
        `the component's connection was lost and made again ${componentReconnects} times` +
          (closedAsMalformed
            ? " (the server said not-well-formed: the daemon sent a stanza over its 512 KiB component_stanza_size_limit, or bad XML)"
            : ""),
      );
    }

    // The server says why it closed a stream (the daemon's or a client's).
    const serverLog = await stack.prosody.log();
    for (const line of serverLog.split("\n")) {
      if (/Disconnecting (component|client)|Traceback/u.test(line)) {
        // Without the time and the session's name: "mod_component info Disconnecting …".
        const message = line
          .replace(/^\w+ \d+ [\d:]+\s+/u, "")
          .replace(/^(c2s|jcp|s2s)[0-9a-f]+/u, "$1");
        find("server-log", message.slice(0, 300), line.slice(0, 600));
      }
    }
    options.inspect?.(running.logs, serverLog);
    const exitedDuringRun = daemonExited;
    const stop = await running.stop();
    if (stop.code !== 0) find("unclean-stop", `the daemon exited with ${stop.code} on SIGTERM`);

    const sorted = Float64Array.from(latencies).sort();
    const quantile = (q: number) =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return {
      seed,
      stanzas: stanzasSent,
      iqs,
      messages,
      presences,
      oversize,
      bytes,
      replies,
      repliesByNamespace: byNamespace,
      missing,
      duplicated,
      unexpected,
      late,
      slow,
      latencyMs: {
        p50: round(quantile(0.5)),
        p99: round(quantile(0.99)),
        max: round(sorted.length ? sorted[sorted.length - 1]! : 0),
      },
      durationMs: Math.round(durationMs),
      stanzasPerSecond: Math.round(stanzasSent / (durationMs / 1_000)),
      rssBeforeMb: round(rssBefore),
      rssAfterMb: round(rssAfter),
      rssPeakMb: round(rssPeak),
      rssGrowthMb: round(growth),
      daemonExited: exitedDuringRun,
      componentReconnects,
      logLines,
      received,
      findings: [...findings.values()].sort((a, b) => b.count - a.count),
      failures,
    };
  } finally {
    for (const c of clients) await c.stop();
    await daemon?.stop();
    await db?.end();
    await stack.stop();
  }
}

/** A readable account of a report's problems, for assertion messages and logs. */
export function describeReport(report: FuzzReport): string {
  const lines = [...report.failures];
  for (const finding of report.findings) {
    lines.push(`finding ${finding.kind} ×${finding.count}: ${finding.message}`);
    for (const sample of finding.samples) lines.push(`    ${sample.replaceAll("\n", "\n    ")}`);
  }
  return lines.join("\n");
}

/** Sends an oversized stanza from its own connection; the server should close that stream. */
async function sendOversize(
  stack: Stack,
  account: Account,
  previous: TestClient | undefined,
  stanza: FuzzStanza,
  find: (kind: string, message: string, sample?: string) => void,
): Promise<TestClient | undefined> {
  await previous?.stop();
  const c = await TestClient.connect(stack, account, "big");
  tolerateBadAddresses(c);
  const closed = new Promise<boolean>((resolve) => {
    c.xmpp.once("disconnect", () => resolve(true));
    setTimeout(() => resolve(false), 5_000).unref();
  });
  await c.xmpp.send(stanza.element).catch(() => undefined);
  if (!(await closed)) {
    find("oversize-accepted", `the server took a ${stanza.bytes}-byte stanza`);
  }
  await c.stop();
  return undefined;
}

/**
 * xmpp.js parses the addresses of every stanza it sends and receives and throws, from inside
 * its event handlers, on one that does not parse: the server's jid-malformed answer comes from
 * the malformed address it refuses. Such addresses are set aside (as `fuzz-from`, `fuzz-to`)
 * before xmpp.js looks at them; outgoing stanzas are already written by then.
 */
function tolerateBadAddresses(c: TestClient): void {
  const parses = (value: unknown) => {
    if (typeof value !== "string" || value === "") return true;
    try {
      jid(value);
      return true;
    } catch {
      return false;
    }
  };
  const setAside = (element: Element) => {
    for (const name of ["from", "to"]) {
      if (parses(element.attrs[name])) continue;
      element.attrs[`fuzz-${name}`] = element.attrs[name] as string;
      element.attrs[name] = "invalid.invalid";
    }
  };
  c.xmpp.prependListener("element", setAside);
  c.xmpp.prependListener("send", setAside);
}

class Semaphore {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

/** The namespace of the first payload generated (a label), or what the stanza was. */
function namespaceOf(stanza: FuzzStanza): string {
  const label = stanza.labels.find((l) => l.startsWith("ns:"));
  if (label) return label.slice(3);
  return stanza.labels.includes("case:misnamed") ? "misnamed" : "none";
}

function describe(stanza: FuzzStanza): string {
  return `#${stanza.index} (${stanza.bytes} bytes) ${cut(stanza.element.toString())}`;
}

/** The daemon's log lines about the stanza with this id (handler failures name it). */
function logFor(logs: readonly LogLine[], id: string): string {
  const lines = logs.filter((line) => {
    const stanza = line.stanza as { id?: unknown } | undefined;
    return stanza?.id === id;
  });
  return lines.length ? `\nlog: ${cut(lines.map((l) => JSON.stringify(l)).join("\n"), 1_500)}` : "";
}

function tail(daemon: Daemon): string {
  return daemon.transcript().split("\n").slice(-30).join("\n");
}

function cut(text: string, max = 2_000): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** VmRSS of a process in MB (0 if it is gone). */
export function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
