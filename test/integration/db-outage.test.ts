import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Element } from "@xmpp/xml";
import { errorCondition, xml } from "../harness/client.js";
import { Daemon, type LogLine } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { PoolWorld, account, poolConfig } from "../harness/pool.js";
import { startStack, type Stack } from "../harness/stack.js";
import { TcpProxy } from "../harness/tcp-proxy.js";

/**
 * PostgreSQL goes away under a running daemon (through a proxy the test cuts or silences) while
 * a staff member waits in one room, a chat goes on in another and a third is claimed. Requests
 * get "storage unavailable" at once, what the bot sees meanwhile reaches the table once the
 * database is back (with the times it was seen), the pool refills, and the log says what
 * happened once per backoff step.
 */

const NS_BUDDY_PROPS = "http://laptop.org/xmpp/buddy-properties";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const people = ["staffa", "staffb", "clientb", "staffc", "laptop"];
let stack: Stack;
let proxy: TcpProxy;
let world: PoolWorld;
let daemon: Daemon;

async function startDaemon(name: string): Promise<Daemon> {
  const started = await Daemon.start(stack, {
    name,
    logLevel: "info",
    shutdownTimeoutMs: 3_000,
    extra: {
      database: {
        url: `postgres://postgres@127.0.0.1:${proxy.port}/${stack.db.name}`,
        connect_timeout_ms: 1_000,
        query_timeout_ms: 2_000,
        max_retry_delay_ms: 1_000,
      },
      olpc: {},
      roompool: poolConfig(stack),
    },
  });
  await started.waitForLog((line) => line.msg === "rooms resynchronised", 30_000);
  return started;
}

before(async () => {
  stack = await startStack({ accounts: ["bot", ...people].map(account) });
  proxy = await TcpProxy.start({ host: "127.0.0.1", port: 5432 });
  world = await PoolWorld.open(stack, people);
  daemon = await startDaemon("db-outage");
});

after(async () => {
  if (process.env.DEBUG_DAEMON) console.error(daemon?.transcript());
  await daemon?.stop();
  await world?.close();
  await proxy?.stop();
  await stack?.stop();
});

/** A request that needs the database: a laptop publishing its properties straight to the index. */
const publish = (color: string) =>
  world
    .person("laptop")
    .request(
      xml(
        "iq",
        { type: "set", to: stack.componentJid },
        xml(
          "properties",
          { xmlns: NS_BUDDY_PROPS },
          xml("property", { type: "str", name: "color" }, color),
        ),
      ),
    );

/** Publishes until the index takes it (a reply that never comes counts as not yet). */
async function served(color: string): Promise<void> {
  await eventually(
    () => publish(color).then(errorCondition, (error: Error) => error.message),
    (outcome) => outcome === undefined,
    `requests are served again\n${daemon.transcript()}`,
    20_000,
  );
}

function assertStorageUnavailable(reply: Element): void {
  const error = reply.getChild("error");
  assert.equal(errorCondition(reply), "service-unavailable", reply.toString());
  assert.equal(error?.attrs.type, "wait");
  assert.ok(error?.getChild("storage-unavailable", "urn:concierge:errors:0"), reply.toString());
  assert.match(error?.getChildText("text", NS_STANZAS) ?? "", /storage is unavailable/);
}

const linesSince = (since: number, match: (line: LogLine) => boolean) =>
  daemon.logs.filter((line) => line.time >= since && match(line));

/** Each failure line waits about twice as long as the one before and comes after that wait. */
function assertBackoff(lines: LogLine[], what: string): void {
  for (let i = 1; i < lines.length; i++) {
    const [previous, current] = [lines[i - 1]!, lines[i]!];
    const previousWait = previous.retryInMs as number;
    const cap = 1_000; // max_retry_delay_ms
    assert.ok(
      (current.retryInMs as number) >= Math.min(previousWait * 1.4, cap * 0.75),
      `${what}: waits grow ${JSON.stringify(lines.map((l) => l.retryInMs))}`,
    );
    assert.ok(current.time - previous.time >= previousWait, `${what}: attempts are spaced`);
  }
}

describe("PostgreSQL goes away mid-chat and comes back", () => {
  test("nothing the bot saw is lost; requests meanwhile are told the storage is unavailable", async (t) => {
    assert.equal(errorCondition(await publish("#000000,#111111")), undefined);
    const b = await world.chat("staffb", "clientb");
    const a = await world.staffWaiting("staffa");
    const c = await world.claim("staff", "s-staffc");

    const cutAt = Date.now();
    proxy.cut();
    assertStorageUnavailable(await publish("#222222,#333333"));

    await world.leave("staffa", a.jid);
    await world.leave("clientb", b.jid);
    await world.join("staffc", c.jid, c.password);
    // A second request, after the outage is known: refused at once, no timeout waited for.
    assertStorageUnavailable(await publish("#444444,#555555"));
    // Let the daemon live through a few backoff steps while the database is down.
    await daemon.waitForLog(
      () => linesSince(cutAt, (l) => l.msg.startsWith("database unreachable")).length >= 3,
      20_000,
    );
    const restoredAt = Date.now();
    proxy.restore();

    // The table tells the truth again: every change seen while the database was down is in.
    await world.waitStatus(a.jid, "available");
    await world.waitStatus(b.jid, "closing");
    await world.waitStatus(c.jid, "staff_waiting");
    t.diagnostic(`table true ${Date.now() - restoredAt} ms after the database came back`);
    for (const [room, status] of [
      [a, "available"],
      [b, "closing"],
      [c, "staff_waiting"],
    ] as const) {
      const last = (await world.events(room.jid)).at(-1)!;
      assert.equal(last.to_status, status);
      const at = last.at.getTime();
      assert.ok(at >= cutAt && at <= restoredAt, `${room.jid}: recorded with the time it was seen`);
    }
    await eventually(
      () => world.availableCount(),
      (n) => n >= 3,
      "the pool refilled",
    );
    await served("#666666,#777777");

    // The log: the outage once per backoff step, its end once, no noise from the pool.
    const outage = linesSince(cutAt, (l) => l.msg.startsWith("database unreachable"));
    assert.match(outage[0]!.msg, /ECONNREFUSED|Connection terminated|ECONNRESET/);
    assertBackoff(outage, "database probe");
    assert.equal(linesSince(cutAt, (l) => l.msg.startsWith("database reachable again")).length, 1);
    for (const noise of ["pool maintenance failed", "room event failed", "handler failed"]) {
      assert.deepEqual(
        linesSince(cutAt, (l) => l.msg.startsWith(noise)),
        [],
        noise,
      );
    }

    await world.leave("staffb", b.jid);
    await world.leave("staffc", c.jid);
    await world.waitStatus(b.jid, "closed");
    await world.waitStatus(c.jid, "available");
  });

  test("a database that stops answering (a partition) is given up on within the query timeout", async () => {
    const silencedAt = Date.now();
    proxy.silence();
    assertStorageUnavailable(await publish("#888888,#999999"));
    assertStorageUnavailable(await publish("#aaaaaa,#bbbbbb"));
    proxy.restore();
    await served("#cccccc,#dddddd");
    assert.ok(linesSince(silencedAt, (l) => l.msg.startsWith("database unreachable")).length >= 1);
  });

  test("stopped while the database is down, the daemon exits cleanly; the next start reconciles", async () => {
    const a = await world.staffWaiting("staffa");
    proxy.cut();
    await world.leave("staffa", a.jid);
    await daemon.waitForLog(
      (l) => l.msg.startsWith("database unreachable") && l.time > Date.now() - 5_000,
    );
    const { code } = await daemon.stop("SIGTERM");
    assert.equal(code, 0, daemon.transcript());
    proxy.restore();
    // The room vanished with the bot and its staff member: it is made again and available.
    daemon = await startDaemon("db-outage-restarted");
    await world.waitStatus(a.jid, "available");
  });
});
