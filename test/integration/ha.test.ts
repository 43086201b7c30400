import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { PrivateEjabberd } from "../../src/dev/ejabberd.js";
import { freePort } from "../../src/dev/ports.js";
import { TestClient, xml } from "../harness/client.js";
import { Daemon } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { startStack, type Stack } from "../harness/stack.js";
import {
  SseClient,
  call,
  mintToken,
  roomsReady,
  staffEnters,
  texts,
  webchatConfig,
} from "../harness/webchat.js";

/**
 * Active/standby: two daemons share one database and one component JID; one acts. The leader is
 * killed (its database session and connections end with it) and then paused (they stay open:
 * the lease expires, the server lets the new component connection replace the old one) while a
 * browser chats with a staff member. Takeover times are reported as diagnostics, never asserted.
 */

const account = (name: string) => ({ username: name, password: `pw-${name}` });
const LEASE = { lease_ms: 3_000, renew_ms: 500 };

let stack: Stack;
let db: pg.Pool;
let staff: TestClient;
let waiter: TestClient;
const daemons: Daemon[] = [];

interface Instance {
  daemon: Daemon;
  base: string;
}

async function startInstance(name: string, port: number): Promise<Instance> {
  const daemon = await Daemon.start(stack, {
    name,
    extra: {
      // The takeover is polled with messages every 25 ms: no rate limit may answer for it.
      ...webchatConfig(stack, { port, grace_period_ms: 60_000, messages_per_minute: 100_000 }),
      ha: LEASE,
    },
  });
  daemons.push(daemon);
  await daemon.waitForLog((l) => l.msg === "http listening", 30_000);
  return { daemon, base: `http://127.0.0.1:${port}` };
}

const ready = async (instance: Instance) => (await call(instance.base, "GET", "/readyz")).status;

/** Waits until the instance is the leader and ready; the time it took from `since`. */
async function servesSince(instance: Instance, since: number): Promise<number> {
  await eventually(
    () => ready(instance).catch(() => 0),
    (status) => status === 200,
    "the standby ready as the leader",
    30_000,
  );
  return Date.now() - since;
}

const say = (room: string, text: string) =>
  staff.xmpp.send(
    xml("message", { to: room, type: "groupchat", id: randomUUID() }, xml("body", {}, text)),
  );
const post = (instance: Instance, token: string, text: string) =>
  call(instance.base, "POST", `/nereid-chat/message/${token}`, {
    body: { id: randomUUID(), text },
  });
const heardByStaff = (text: string) =>
  staff.waitFor((s) => s.is("message") && s.getChildText("body") === text, 30_000);

/** A staff member joins the room the pool gave them; resolves once they are in. */
const enter = (client: TestClient, nick: string, timeoutMs = 10_000) =>
  staffEnters(db, client, nick, timeoutMs);

const status = async (jid: string) =>
  (await db.query<{ status: string }>("SELECT status FROM roompool_rooms WHERE jid = $1", [jid]))
    .rows[0]?.status;

interface RoomEventRow {
  id: string;
  room_jid: string;
  to_status: string;
  cause: string;
  fence: string | null;
}

const roomEvents = async () =>
  (
    await db.query<RoomEventRow>(
      "SELECT id, room_jid, to_status, cause, fence FROM roompool_events ORDER BY id",
    )
  ).rows;

const epochOf = (fence: string | null) => Number(fence?.split(":")[1] ?? NaN);

before(async () => {
  stack = await startStack({
    accounts: ["bot", "staff", "waiter"].map(account),
    activeStandby: true,
  });
  db = new pg.Pool({ connectionString: stack.db.url });
  staff = await TestClient.connect(stack, account("staff"));
  waiter = await TestClient.connect(stack, account("waiter"));
});

after(async () => {
  for (const daemon of daemons) {
    if (daemon.child.signalCode === null) daemon.child.kill("SIGCONT");
    await daemon.stop("SIGTERM", 10_000);
  }
  await staff?.stop();
  await waiter?.stop();
  await db?.end();
  await stack?.stop();
});

describe("active/standby", () => {
  const ports: number[] = [];
  let first: Instance;
  let second: Instance;
  let chat: { room: string; token: string; lastId: number };

  test("one instance acts, the other stands by and answers /readyz 503 naming the leader", async () => {
    ports.push(await freePort(), await freePort());
    first = await startInstance("first", ports[0]!);
    await first.daemon.waitForLog((l) => l.msg === "rooms resynchronised", 30_000);
    second = await startInstance("second", ports[1]!);
    await second.daemon.waitForLog((l) => l.msg.startsWith("standing by"), 30_000);

    assert.equal(await ready(first), 200);
    const standby = await call(second.base, "GET", "/readyz");
    assert.equal(standby.status, 503);
    assert.match(standby.text, /standby: .* holds the lease/);
    assert.equal((await call(second.base, "GET", "/healthz")).status, 200);
    // The standby has no chat to offer: a browser sent there is told to try again.
    const misrouted = await call(second.base, "POST", "/nereid-chat/token");
    assert.equal(misrouted.status, 503);
    assert.equal((misrouted.body as { code: string }).code, "STANDBY");
    assert.equal(misrouted.headers["retry-after"], "2");
    assert.ok(!second.daemon.logs.some((l) => l.msg === "component online"));
  });

  test("SIGKILL of the leader mid-chat: the standby serves, the chat goes on, no transition lost", async (t) => {
    await roomsReady(db, 2);
    const room = await enter(staff, "staff");
    const minted = await mintToken(first.base, {
      person: "c-1",
      name: "Guest",
      role: "client",
      claim: true,
    });
    await eventually(
      () => status(room),
      (s) => s === "chatting",
      "the browser in the room",
    );
    const stream = await SseClient.open(`${first.base}/nereid-chat/stream/${minted.token}`);
    await say(room, "one");
    await stream.waitFor((e) => texts([e]).includes("one"), "the first message");
    assert.equal((await post(first, minted.token, "two")).status, 202);
    await heardByStaff("two");
    // A second staff member waits in another room, and leaves it while no one leads.
    const waiting = await enter(waiter, "waiter");

    const killedAt = Date.now();
    first.daemon.child.kill("SIGKILL");
    await say(room, "said while no one leads");
    await waiter.xmpp.send(xml("presence", { to: `${waiting}/waiter`, type: "unavailable" }));

    t.diagnostic(`takeover after SIGKILL: ${await servesSince(second, killedAt)} ms`);
    const resumed = await SseClient.open(`${second.base}/nereid-chat/stream/${minted.token}`, {
      "last-event-id": String(stream.lastId),
    });
    await resumed.waitFor(
      (e) => texts([e]).includes("said while no one leads"),
      "the message said during the takeover",
      30_000,
    );
    assert.ok(resumed.events.every((e) => (e.id ?? Infinity) > stream.lastId));
    const accepted = await eventually(
      () => post(second, minted.token, "three"),
      (reply) => reply.status === 202,
      "a message accepted by the new leader",
      30_000,
    );
    assert.equal(accepted.status, 202, accepted.text);
    await heardByStaff("three");
    assert.equal(await status(room), "chatting");
    // What happened while no one led is in the history, written by the new leader.
    await eventually(
      () => status(waiting),
      (s) => s === "available",
      "the left room ready again",
      30_000,
    );
    const left = (await roomEvents()).find(
      (e) => e.room_jid === waiting && e.cause.includes("while the bot was away"),
    );
    assert.ok(left, "the waiter's leaving recorded");
    assert.equal(epochOf(left.fence), 2);
    stream.close();
    chat = { room, token: minted.token, lastId: resumed.lastId };
    resumed.close();
  });

  test("SIGSTOP of the leader mid-chat: the other takes over; resumed, the old one steps down without acting", async (t) => {
    const { room, token } = chat;
    // The killed instance comes back and stands by.
    const third = await startInstance("third", ports[0]!);
    await third.daemon.waitForLog((l) => l.msg.startsWith("standing by"), 30_000);
    const stream = await SseClient.open(`${second.base}/nereid-chat/stream/${token}`, {
      "last-event-id": String(chat.lastId),
    });
    await say(room, "four");
    await stream.waitFor((e) => texts([e]).includes("four"), "a message before the pause");

    const pausedAt = Date.now();
    second.daemon.child.kill("SIGSTOP");
    await say(room, "said while the leader is paused");
    // Someone arrives in a room while no one can see it: the new leader records it. Checked on
    // Prosody only: on ejabberd 23.01 the paused leader's bot session (the same full JID as the
    // new bot's) is closed by the server only as the new one logs in, and the new bot was seen
    // to miss arrivals in rooms it had just rejoined, even after the old leader let go. Open,
    // and said in the README's Active/standby section.
    const onProsody = stack.prosody.kind === "prosody";
    const arriving = onProsody ? enter(waiter, "waiter", 30_000) : undefined;
    t.diagnostic(`takeover after SIGSTOP: ${await servesSince(third, pausedAt)} ms`);
    const arrived = await arriving;
    const resumed = await SseClient.open(`${third.base}/nereid-chat/stream/${token}`, {
      "last-event-id": String(stream.lastId),
    });
    // Prosody hands the component's traffic to the new connection (kick_old). ejabberd 23.01
    // keeps the paused leader's connection beside the new one and sends each stanza to either at
    // random (balancing_route): what it sent to the paused one is dropped when that one wakes
    // (fencing), so on ejabberd this message may be lost, as the README's HA section says.
    if (onProsody) {
      await resumed.waitFor(
        (e) => texts([e]).includes("said while the leader is paused"),
        "the message said while the leader was paused",
        30_000,
      );
    }
    const acceptedByNewLeader = async () => {
      const accepted = await eventually(
        () => post(third, token, "five"),
        (reply) => reply.status === 202,
        "a message accepted by the new leader",
        30_000,
      );
      assert.equal(accepted.status, 202, accepted.text);
      await heardByStaff("five");
    };
    // On ejabberd the new leader's own occupant may not get its room's answers while the paused
    // connection takes its share: the browser is served once the old leader has let go.
    if (onProsody) await acceptedByNewLeader();

    const before = (await roomEvents()).length;
    const resumedAt = Date.now();
    second.daemon.child.kill("SIGCONT");
    await second.daemon.waitForLog(
      (l) => l.time >= resumedAt && l.msg.startsWith("no longer the leader"),
      30_000,
    );
    await second.daemon.waitForLog(
      (l) => l.time >= resumedAt && l.msg.startsWith("standing by"),
      30_000,
    );
    if (!onProsody) await acceptedByNewLeader();
    assert.equal(await ready(second), 503);
    // Awake, it found its lease lapsed by its own clock and did nothing: it neither reconnected
    // (which would have replaced the new leader's connections) nor wrote anything.
    const woke = second.daemon.logs.filter((l) => l.time >= resumedAt);
    assert.ok(
      woke.some((l) => /^gave up the lease: the lease was not renewed for \d+ ms/.test(l.msg)),
      second.daemon.transcript(),
    );
    assert.ok(
      !woke.some((l) => /took the lease|online|resynchronised|rejoined/.test(l.msg)),
      second.daemon.transcript(),
    );
    // On ejabberd a rejoin the new leader sent while the paused connection took its share may
    // time out (10 s) after the resume: that one was lost to the pause, not to the waking.
    const lostToThePause = (l: { msg: string; time: number }) =>
      !onProsody && l.msg === "web chat rejoin failed" && l.time - 10_000 < resumedAt;
    assert.ok(
      !third.daemon.logs.some(
        (l) => l.time >= resumedAt && /lost|failed/.test(l.msg) && !lostToThePause(l),
      ),
      third.daemon.transcript(),
    );
    // The chat went on with the new leader, and the room's history has nothing from the old one.
    await say(room, "six");
    await resumed.waitFor((e) => texts([e]).includes("six"), "a message after the old leader woke");
    // The web application's claims (the arrival's, on ejabberd) are its own writes, not fenced.
    const events = (await roomEvents())
      .slice(before)
      .filter((e) => !e.cause.startsWith("claimed for "));
    assert.ok(
      events.every((e) => epochOf(e.fence) === 3),
      JSON.stringify(events),
    );
    if (arrived !== undefined) {
      const joined = (await roomEvents())
        .filter((e) => e.room_jid === arrived && e.to_status === "staff_waiting")
        .at(-1);
      assert.equal(epochOf(joined?.fence ?? null), 3, "the arrival recorded by the new leader");
    }
    assert.equal(await status(room), "chatting");
    stream.close();
    resumed.close();
  });

  test("at no moment did two instances act: terms follow one another in the history and on the server", async () => {
    const all = await roomEvents();
    // The web application's claims are its own writes; everything else is the bot's, fenced.
    const claims = all.filter((e) => e.cause.startsWith("claimed for "));
    assert.ok(claims.length > 0);
    for (const claim of claims) {
      assert.equal(claim.fence === null, claim.cause.startsWith("claimed for staff "), claim.cause);
    }
    const events = all.filter((e) => e.fence !== null);
    assert.ok(events.length > claims.length);
    const epochs = events.map((e) => epochOf(e.fence));
    assert.ok(
      epochs.every((epoch) => Number.isInteger(epoch)),
      "every bot event written under a lease",
    );
    assert.equal(all.length - events.length, claims.filter((c) => c.fence === null).length);
    assert.deepEqual(
      epochs,
      [...epochs].sort((a, b) => a - b),
      "no event of an earlier term after one of a later term",
    );
    // Term 3's room events are the arrival checked on Prosody only (see the test above).
    assert.deepEqual([...new Set(epochs)], stack.prosody.kind === "prosody" ? [1, 2, 3] : [1, 2]);

    const log = await stack.prosody.log();
    if (stack.prosody instanceof PrivateEjabberd) {
      // ejabberd keeps every connection (no replacement): three authenticated, and once the
      // paused leader woke and let go, only the new leader's is left.
      assert.equal(ejabberdComponentLogins(log, stack.componentJid), 3);
      const routes = await stack.prosody.evaluate("length(mnesia:dirty_read(route, Domain)).", {
        Domain: stack.componentJid,
      });
      assert.equal(routes, "1");
      return;
    }
    // The server's side: the component was never connected twice; the paused leader's
    // connection was replaced by the new one, and it did not come back.
    assert.deepEqual(componentConnections(log, stack.componentJid), {
      authenticated: 3,
      mostAtOnce: 1,
      replaced: 1,
    });
  });
});

/**
 * The component's connections as Prosody's log tells them: how many authenticated, how many were
 * ever connected at once, how many were replaced by a newer one (component_conflict_resolve).
 */
function componentConnections(log: string, jid: string) {
  let connected = 0;
  let mostAtOnce = 0;
  let authenticated = 0;
  let replaced = 0;
  for (const line of log.split("\n")) {
    if (line.includes(`${jid}:component\tinfo\tExternal component successfully authenticated`)) {
      authenticated++;
      mostAtOnce = Math.max(mostAtOnce, ++connected);
    } else if (line.includes(`\tcomponent disconnected: ${jid} `)) {
      connected--;
    } else if (line.includes("Replaced by a new connection")) {
      replaced++;
    }
  }
  return { authenticated, mostAtOnce, replaced };
}

/** How many component connections ejabberd's log shows authenticated for `jid`. */
function ejabberdComponentLogins(log: string, jid: string): number {
  return log
    .split("\n")
    .filter((line) =>
      line.includes(`Accepted external component handshake authentication for ${jid} `),
    ).length;
}
