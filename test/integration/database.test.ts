import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { createScratchDatabase, type ScratchDatabase } from "../../src/dev/database.js";
import { Database } from "../../src/db/database.js";
import { StorageUnavailableError } from "../../src/db/errors.js";
import { TcpProxy } from "../harness/tcp-proxy.js";

/** The daemon's Database against a real PostgreSQL behind a proxy the test can cut. */

let scratch: ScratchDatabase;
let proxy: TcpProxy;
let db: Database;
const lines: Array<{ level: number; msg: string }> = [];

before(async () => {
  scratch = await createScratchDatabase();
  proxy = await TcpProxy.start({ host: "127.0.0.1", port: 5432 });
  db = new Database({
    url: `postgres://postgres@127.0.0.1:${proxy.port}/${scratch.name}`,
    poolSize: 4,
    connectTimeoutMs: 1_000,
    queryTimeoutMs: 2_000,
    retry: { initialDelayMs: 50, maxDelayMs: 200 },
    log: pino(
      { level: "info" },
      {
        write: (line: string) =>
          void lines.push(JSON.parse(line) as { level: number; msg: string }),
      },
    ),
  });
});

after(async () => {
  await db?.end();
  await proxy?.stop();
  await scratch?.drop();
});

describe("Database", () => {
  test("a transaction whose connection dies is a StorageUnavailableError, not a crash", async () => {
    await assert.rejects(
      db.transaction(async (client) => {
        await client.query("SELECT 1");
        proxy.cut(); // the checked-out client's socket is reset under it
        await client.query("SELECT pg_sleep(0.2)");
      }),
      StorageUnavailableError,
    );
    assert.equal(db.available, false);
    // While down, queries fail at once, without trying.
    await assert.rejects(db.query("SELECT 1"), StorageUnavailableError);
    proxy.restore();
    assert.equal(await db.whenAvailable(), true);
    assert.equal((await db.query<{ n: number }>("SELECT 1 AS n")).rows[0]?.n, 1);
    assert.ok(lines.some((l) => l.msg.startsWith("database reachable again after")));
  });

  test("an idle connection that dies marks the database down by itself", async () => {
    await db.query("SELECT 1"); // leaves idle clients in the pool
    proxy.cut();
    await new Promise<void>((resolve) => db.once("down", () => resolve()));
    proxy.restore();
    assert.equal(await db.whenAvailable(), true);
  });

  test("a failing statement is not an outage", async () => {
    await assert.rejects(db.query("SELECT * FROM no_such_table"), /no_such_table/);
    assert.equal(db.available, true);
  });
});
