import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { createScratchDatabase, type ScratchDatabase } from "../../src/dev/database.js";
import { createRoom, letComponentReadLists } from "../harness/muc.js";
import { TestClient, errorCondition, xml } from "../harness/client.js";
import { Daemon, type DaemonOptions, type LogLine } from "../harness/daemon.js";
import { account, poolConfig } from "../harness/pool.js";
import { PrivatePostgres } from "../harness/postgres.js";
import { startStack, type Stack } from "../harness/stack.js";

/** What the operator reads when something is set up wrong, and when it is not. */

let stack: Stack;
let cluster: PrivatePostgres;

before(async () => {
  stack = await startStack({ accounts: ["bot", "owner"].map(account) });
  cluster = await PrivatePostgres.start();
});

after(async () => {
  cluster?.remove();
  await stack?.stop();
});

const FATAL = 60;

/** Runs a daemon that should not get far, and returns its exit and its log. */
async function failsToStart(options: DaemonOptions) {
  const daemon = await Daemon.start(stack, options);
  const exit = await daemon.exited;
  const fatal = daemon.logs.find((line) => line.level === FATAL);
  return { exit, fatal, daemon };
}

function spacedByBackoff(lines: LogLine[], what: string): void {
  for (let i = 1; i < lines.length; i++) {
    const [previous, current] = [lines[i - 1]!, lines[i]!];
    assert.ok(
      (current.retryInMs as number) >= (previous.retryInMs as number) * 1.4 ||
        (current.retryInMs as number) >= 1_000 * 0.75,
      `${what}: waits grow ${JSON.stringify(lines.map((l) => l.retryInMs))}`,
    );
    assert.ok(current.time - previous.time >= (previous.retryInMs as number), `${what}: spaced`);
  }
}

describe("a wrong database URL is a configuration error, not an outage", () => {
  test("a database that does not exist: exit 1, and how to create it", async () => {
    const url = stack.db.url.replace(/\/[^/]+$/, "/conceirge_typo");
    const { exit, fatal } = await failsToStart({ name: "no-such-db", databaseUrl: url });
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.equal(
      fatal?.msg,
      'start-up failed: database "conceirge_typo" does not exist: create it (createdb conceirge_typo, or CREATE DATABASE) or fix database.url',
    );
  });

  test("a refused password: exit 1, and which setting to fix; the password is never logged", async () => {
    const url = cluster.url("postgres", "not-the-password");
    const { exit, fatal, daemon } = await failsToStart({ name: "bad-password", databaseUrl: url });
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.equal(
      fatal?.msg,
      'start-up failed: password authentication failed for user "postgres": fix the password in database.url (or DATABASE_URL)',
    );
    assert.doesNotMatch(daemon.transcript(), /not-the-password/);
  });

  test("the right password on the same server works", async () => {
    const daemon = await Daemon.start(stack, { name: "good-password", databaseUrl: cluster.url() });
    try {
      await daemon.waitForLog((line) => line.msg === "concierge started");
    } finally {
      assert.equal((await daemon.stop()).code, 0);
    }
  });
});

describe("migrations", () => {
  let empty: ScratchDatabase;
  before(async () => {
    empty = await createScratchDatabase();
  });
  after(async () => {
    await empty?.drop();
  });

  const ways: Array<[string, (url: string) => DaemonOptions]> = [
    ["start --no-migrate", (url) => ({ databaseUrl: url, args: ["--no-migrate"] })],
    [
      "database.migrate_on_start: false",
      (url) => ({ extra: { database: { url, migrate_on_start: false } } }),
    ],
  ];
  for (const [what, options] of ways) {
    test(`${what} on an empty database: exit 1, and the command to run`, async () => {
      const { exit, fatal } = await failsToStart({
        name: `no-migrate-${what.length}`,
        ...options(empty.url),
      });
      assert.deepEqual(exit, { code: 1, signal: null });
      assert.match(
        fatal?.msg ?? "",
        /^start-up failed: the database lacks migrations 001_neerc_tasks\.sql, .*\.sql: run `concierge migrate`/,
      );
      const client = new pg.Client({ connectionString: empty.url });
      await client.connect();
      const { rows } = await client.query<{ t: string | null }>(
        "SELECT to_regclass('roompool_rooms') AS t",
      );
      await client.end();
      assert.equal(rows[0]?.t, null, "nothing was migrated");
    });
  }

  test("by default start migrates; afterwards --no-migrate starts fine", async () => {
    const first = await Daemon.start(stack, { name: "migrates", databaseUrl: empty.url });
    await first.waitForLog((line) => line.msg === "concierge started");
    assert.ok(first.logs.some((line) => line.msg === "migration applied"));
    assert.equal((await first.stop()).code, 0);
    const second = await Daemon.start(stack, {
      name: "migrated",
      databaseUrl: empty.url,
      args: ["--no-migrate"],
    });
    await second.waitForLog((line) => line.msg === "concierge started");
    assert.ok(!second.logs.some((line) => line.msg === "migration applied"));
    assert.equal((await second.stop()).code, 0);
  });
});

describe("log lines an operator can act on", () => {
  test('"concierge started" comes only once the server has accepted the component', async () => {
    const daemon = await Daemon.start(stack, { name: "started-late", secret: "wrong" });
    try {
      await daemon.waitForLog((line) => line.msg.startsWith("component secret rejected"));
      assert.ok(daemon.logs.some((line) => line.msg === "starting"));
      assert.ok(!daemon.logs.some((line) => line.msg === "concierge started"));
    } finally {
      await daemon.stop();
    }
    const good = await Daemon.start(stack, { name: "started" });
    try {
      await good.waitForLog((line) => line.msg === "concierge started");
      const online = good.logs.findIndex((line) => line.msg === "component online");
      const started = good.logs.findIndex((line) => line.msg === "concierge started");
      assert.ok(online >= 0 && online < started);
    } finally {
      await good.stop();
    }
  });

  test("component.port set to the client port says so", async () => {
    const daemon = await Daemon.start(stack, {
      name: "c2s-port",
      componentPort: stack.prosody.c2sPort,
    });
    try {
      const line = await daemon.waitForLog((l) => l.svc === "component" && l.level >= 50);
      assert.match(
        line.msg,
        new RegExp(
          `^127\\.0\\.0\\.1:${stack.prosody.c2sPort} is a client \\(c2s\\) port: point component\\.port at the server's component listener`,
        ),
      );
    } finally {
      await daemon.stop();
    }
  });

  test("a server that accepts the bot's connection and never answers is named, with the bound", async () => {
    const silent = await silentServer();
    const daemon = await Daemon.start(stack, {
      name: "silent-c2s",
      reconnect: { initial_delay_ms: 100, max_delay_ms: 2_000, login_timeout_ms: 1_000 },
      extra: { roompool: poolConfig(stack, { service: `xmpp://127.0.0.1:${silent.port}` }) },
    });
    try {
      const line = await daemon.waitForLog((l) => l.svc === "roompool" && l.level >= 40);
      assert.match(
        line.msg,
        new RegExp(
          `^the bot: the XMPP server at 127\\.0\\.0\\.1:${silent.port} accepted the connection but did not complete the login`,
        ),
      );
      assert.doesNotMatch(line.msg, /\(\)/, "no empty reason");
    } finally {
      await daemon.stop();
      await silent.close();
    }
  });

  test("room creation on a MUC service that is not there backs off and says what to check", async () => {
    const daemon = await Daemon.start(stack, {
      name: "no-muc",
      reconnect: { initial_delay_ms: 200, max_delay_ms: 1_000 },
      extra: { roompool: poolConfig(stack, { muc_service: "nowhere.localhost" }) },
    });
    try {
      await daemon.waitForLog(
        () =>
          daemon.logs.filter((l) => l.msg.startsWith("room creation on nowhere.localhost failed"))
            .length >= 4,
        20_000,
      );
      const lines = daemon.logs.filter((l) => l.msg.startsWith("room creation on"));
      assert.match(lines[0]!.msg, /roompool\.muc_service/);
      spacedByBackoff(lines, "room creation");
      assert.ok(!daemon.logs.some((l) => l.msg.startsWith("pool maintenance failed")));
    } finally {
      await daemon.stop();
    }
  });

  test("NEERC says nothing about ownership while the component is merely reconnecting", async () => {
    const owner = await TestClient.connect(stack, account("owner"));
    const room = `neerc@${stack.prosody.mucDomain}`;
    await createRoom(owner, room);
    await letComponentReadLists(owner, room, stack);
    const daemon = await Daemon.start(stack, {
      name: "neerc-reconnect",
      extra: { neerc: { muc_service: stack.prosody.mucDomain, refresh_interval_ms: 1_000 } },
    });
    try {
      await daemon.waitOnline();
      await owner.stop();
      await stack.prosody.stop({ remove: false });
      await daemon.waitForLog((l) => l.msg.startsWith("cannot reach the XMPP server"));
      await new Promise((resolve) => setTimeout(resolve, 2_500)); // two refreshes while down
      await stack.prosody.restart();
      await daemon.waitOnline(2, 20_000);
      const blamed = daemon.logs.filter((l) => l.svc === "neerc" && l.level >= 50);
      assert.deepEqual(blamed, [], "no ownership complaint");
    } finally {
      await daemon.stop();
    }
  });
});

describe("NEERC rooms that refuse the component their lists", () => {
  test("many requests: each is refused, the log says why once per backoff step, with the fix", async () => {
    const owner = await TestClient.connect(stack, account("owner"));
    const lobby = `lobby@${stack.prosody.mucDomain}`;
    await createRoom(owner, lobby); // the component is given no affiliation
    const daemon = await Daemon.start(stack, {
      name: "neerc-refused",
      reconnect: { initial_delay_ms: 500, max_delay_ms: 60_000 },
      extra: { neerc: { muc_service: stack.prosody.mucDomain } },
    });
    try {
      await daemon.waitOnline();
      const users = () =>
        owner.request(
          xml(
            "iq",
            { type: "get", to: `lobby@${stack.componentJid}` },
            xml("query", { xmlns: "http://neerc.ifmo.ru/protocol/neerc#users" }),
          ),
        );
      const replies = [];
      for (let i = 0; i < 30; i++) replies.push(await users());
      for (const reply of replies) assert.equal(errorCondition(reply), "service-unavailable");
      const lines = daemon.logs.filter((l) => l.msg.startsWith("cannot read the members of"));
      assert.ok(
        lines.length >= 1 && lines.length <= 3,
        `one line per step, not per request: ${lines.length}`,
      );
      // The daemon tells the servers apart (software version, disco identity) and names each
      // one's own fix: the servers refuse in their own words too.
      const C = stack.componentJid;
      const expected =
        stack.prosody.kind === "prosody"
          ? `cannot read the members of ${lobby} (forbidden): make ${C} an owner of the room; retrying in`
          : `cannot read the members of ${lobby} (forbidden: Administrator privileges required): ` +
            `make ${C} an admin of the room (ejabberd drops an owner affiliation for a component JID), ` +
            `e.g. ejabberdctl set_room_affiliation lobby ${stack.prosody.mucDomain} ${C} admin; retrying in`;
      assert.ok(
        lines[0]!.msg.startsWith(expected),
        `${lines[0]!.msg}\nshould start with\n${expected}`,
      );
    } finally {
      await daemon.stop();
      await owner.stop();
    }
  });
});

/** Accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
