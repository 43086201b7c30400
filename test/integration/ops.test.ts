import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { projectRoot } from "../../src/paths.js";
import { NS_DISCO_INFO } from "../../src/xmpp/namespaces.js";
import { TestClient, xml } from "../harness/client.js";
import { Daemon } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { startStack, type Stack } from "../harness/stack.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import { SseClient, call, mintToken, roomsReady, webchatConfig } from "../harness/webchat.js";

/**
 * Health and metrics on the daemon's HTTP service, with every dependency behind a proxy that the
 * tests cut and restore: /readyz names what is missing and turns 200 again by itself.
 */

const account = (name: string) => ({ username: name, password: `pw-${name}` });

let stack: Stack;
let daemon: Daemon;
let base: string;
let db: pg.Pool;
let user: TestClient;
const proxies: Record<"component" | "bot" | "database", TcpProxy> = {} as never;

before(async () => {
  stack = await startStack({ accounts: ["bot", "user"].map(account) });
  db = new pg.Pool({ connectionString: stack.db.url });
  const dbUrl = new URL(stack.db.url);
  proxies.database = await TcpProxy.start({
    host: "127.0.0.1",
    port: Number(dbUrl.port || 5432),
  });
  dbUrl.hostname = "127.0.0.1";
  dbUrl.port = String(proxies.database.port);
  proxies.component = await TcpProxy.start({
    host: "127.0.0.1",
    port: stack.prosody.componentPort,
  });
  proxies.bot = await TcpProxy.start({ host: "127.0.0.1", port: stack.prosody.c2sPort });
  const extra = webchatConfig(stack);
  extra.roompool.service = `xmpp://127.0.0.1:${proxies.bot.port}`;
  daemon = await Daemon.start(stack, {
    name: "ops",
    logLevel: "info",
    databaseUrl: dbUrl.toString(),
    componentPort: proxies.component.port,
    extra,
  });
  const listening = await daemon.waitForLog((l) => l.msg === "http listening", 30_000);
  base = `http://127.0.0.1:${String(listening.port)}`;
  await daemon.waitForLog((l) => l.msg === "rooms resynchronised", 30_000);
  user = await TestClient.connect(stack, account("user"));
});

after(async () => {
  await user?.stop();
  await daemon?.stop();
  for (const proxy of Object.values(proxies)) await proxy?.stop();
  await db?.end();
  await stack?.stop();
});

interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
}

async function readiness(): Promise<{ status: number; body: Readiness }> {
  const reply = await call(base, "GET", "/readyz");
  return { status: reply.status, body: reply.body as Readiness };
}

/** One sample per line: `name{labels} value`. */
type Samples = Map<string, number>;

async function scrape(): Promise<Samples> {
  const reply = await call(base, "GET", "/metrics");
  assert.equal(reply.status, 200);
  assert.match(String(reply.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
  const samples: Samples = new Map();
  for (const line of reply.text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

const value = (samples: Samples, sample: string) => samples.get(sample) ?? 0;
const familyNames = (samples: Samples) =>
  new Set(
    [...samples.keys()].map((key) => key.replace(/\{.*$/, "").replace(/_(bucket|sum|count)$/, "")),
  );

describe("health and metrics", () => {
  test("/healthz answers while the process runs; /readyz 200 with each dependency named", async () => {
    const health = await call(base, "GET", "/healthz");
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: "ok" });
    const { status, body } = await readiness();
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body, {
      ready: true,
      checks: {
        component: { ok: true, detail: "online" },
        database: { ok: true, detail: "reachable" },
        bot: { ok: true, detail: "online" },
      },
    });
  });

  test("the metrics the README documents are there, with values that agree with what happened", async () => {
    await roomsReady(db, 3);
    const before = await scrape();
    const disco = await user.request(
      xml("iq", { type: "get", to: stack.componentJid }, xml("query", { xmlns: NS_DISCO_INFO })),
    );
    assert.equal(disco.attrs.type, "result");
    const refused = await user.request(
      xml(
        "iq",
        { type: "get", to: stack.componentJid },
        xml("query", { xmlns: "urn:example:none" }),
      ),
    );
    assert.equal(refused.attrs.type, "error");
    const minted = await mintToken(base, {
      person: "s-1",
      name: "Staff",
      role: "staff",
      claim: true,
    });
    const stream = await SseClient.open(`${base}/nereid-chat/stream/${minted.token}`);
    await stream
      .waitFor((e) => e.data.type === "ready" || e.id !== undefined, "the stream open")
      .catch(() => undefined);
    const after = await scrape();
    stream.close();

    const documented = await documentedMetrics();
    const exposed = familyNames(after);
    for (const name of documented) assert.ok(exposed.has(name), `${name} is exposed`);
    for (const name of exposed) {
      if (!/^concierge_(process|nodejs)_/.test(name)) {
        assert.ok(documented.has(name), `${name} is documented in the README`);
      }
    }

    const discoIn = `concierge_stanzas_received_total{kind="iq",ns="${NS_DISCO_INFO}"}`;
    assert.equal(value(after, discoIn) - value(before, discoIn), 1);
    const noneIn = 'concierge_stanzas_received_total{kind="iq",ns="none"}';
    assert.equal(value(after, noneIn) - value(before, noneIn), 1);
    const unavailable = 'concierge_stanza_errors_total{condition="service-unavailable"}';
    assert.equal(value(after, unavailable) - value(before, unavailable), 1);
    const answered = `concierge_iq_handler_seconds_count{ns="${NS_DISCO_INFO}"}`;
    assert.equal(value(after, answered) - value(before, answered), 1);
    assert.ok(value(after, `concierge_iq_handler_seconds_sum{ns="${NS_DISCO_INFO}"}`) > 0);
    assert.ok(value(after, 'concierge_stanzas_sent_total{link="component",kind="iq"}') >= 2);
    assert.ok(value(after, 'concierge_stanzas_sent_total{link="bot",kind="presence"}') >= 3);
    assert.equal(value(after, 'concierge_link_up{link="component"}'), 1);
    assert.equal(value(after, 'concierge_link_up{link="bot"}'), 1);
    assert.equal(value(after, "concierge_db_up"), 1);
    assert.equal(value(after, "concierge_leader"), 1);
    assert.ok(value(after, 'concierge_db_connections{state="total"}') >= 1);
    assert.ok(value(after, 'concierge_pool_rooms{status="available"}') >= 3);
    assert.equal(value(after, "concierge_webchat_streams"), 1);
    assert.ok(value(after, "concierge_process_resident_memory_bytes") > 0);
  });

  for (const dependency of ["component", "bot", "database"] as const) {
    test(`/readyz turns 503 naming the ${dependency} while it is gone, and 200 again when it is back`, async () => {
      const before = await scrape();
      proxies[dependency].cut();
      const down = await eventually(
        readiness,
        (r) => r.status === 503,
        `not ready without the ${dependency}`,
        30_000,
      );
      assert.equal(down.body.ready, false);
      const check = down.body.checks[dependency]!;
      assert.equal(check.ok, false);
      assert.doesNotMatch(check.detail, /^online|^reachable/);
      for (const [name, other] of Object.entries(down.body.checks)) {
        if (name !== dependency && dependency !== "database") assert.ok(other.ok, name);
      }
      const gauge =
        dependency === "database" ? "concierge_db_up" : `concierge_link_up{link="${dependency}"}`;
      assert.equal(value(await scrape(), gauge), 0);

      proxies[dependency].restore();
      const up = await eventually(readiness, (r) => r.status === 200, "ready again", 30_000);
      assert.equal(up.body.ready, true);
      const after = await scrape();
      assert.equal(value(after, gauge), 1);
      if (dependency !== "database") {
        const reconnects = `concierge_link_reconnects_total{link="${dependency}"}`;
        assert.ok(value(after, reconnects) > value(before, reconnects), reconnects);
      }
    });
  }
});

/** The metric names in the README's metrics table. */
async function documentedMetrics(): Promise<Set<string>> {
  const readme = await readFile(join(projectRoot, "README.md"), "utf8");
  const section = /\n### Metrics\n([\s\S]*?)\n#/.exec(readme)?.[1];
  assert.ok(section, "the README has a Metrics section");
  return new Set([...section.matchAll(/`(concierge_[a-z_]+)`/g)].map((m) => m[1]!));
}
