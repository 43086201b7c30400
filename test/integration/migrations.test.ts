import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, test } from "node:test";
import pg from "pg";
import { pino } from "pino";
import { createScratchDatabase, type ScratchDatabase } from "../../src/dev/database.js";
import { migrate } from "../../src/db/migrate.js";
import { createPool, transaction } from "../../src/db/pool.js";

const log = pino({ level: "silent" });
let db: ScratchDatabase;
let dir: string;

before(async () => {
  db = await createScratchDatabase();
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await db?.drop();
});

beforeEach(async () => {
  await rm(dir ?? "/nonexistent", { recursive: true, force: true });
  dir = await mkdtemp(join(tmpdir(), "concierge-migrations-"));
  const pool = new pg.Pool({ connectionString: db.url });
  await pool.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
  await pool.end();
});

/** Plain CREATE TABLE and INSERT: run twice, either would fail or leave two rows. */
async function writeMigrations() {
  await writeFile(join(dir, "001_first.sql"), "CREATE TABLE first (id int PRIMARY KEY);");
  await writeFile(
    join(dir, "002_second.sql"),
    "CREATE TABLE second (n int); INSERT INTO second VALUES (1);",
  );
  await writeFile(join(dir, "notes.txt"), "not a migration");
}

async function withPool<T>(work: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = createPool(db.url, 4, log);
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

test("migrations apply in order, once, and a second run applies nothing", async () => {
  await writeMigrations();
  assert.deepEqual(await withPool((pool) => migrate(pool, dir, log)), [
    "001_first.sql",
    "002_second.sql",
  ]);
  assert.deepEqual(await withPool((pool) => migrate(pool, dir, log)), []);
  const rows = await withPool(
    async (pool) => (await pool.query<{ n: number }>("SELECT n FROM second")).rows,
  );
  assert.deepEqual(rows, [{ n: 1 }]);
});

test("eight processes migrating at once apply each migration exactly once", async () => {
  await writeMigrations();
  const pools = Array.from({ length: 8 }, () => createPool(db.url, 2, log));
  try {
    const results = await Promise.all(pools.map((pool) => migrate(pool, dir, log)));
    const applied = results.flat().sort();
    assert.deepEqual(applied, ["001_first.sql", "002_second.sql"]);
    const { rows } = await pools[0]!.query<{ version: number }>(
      "SELECT version FROM concierge_migrations ORDER BY version",
    );
    assert.deepEqual(
      rows.map((r) => r.version),
      [1, 2],
    );
    assert.equal((await pools[0]!.query("SELECT * FROM second")).rowCount, 1);
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
  }
});

test("a failing migration leaves nothing behind and stops the ones after it", async () => {
  await writeFile(join(dir, "001_ok.sql"), "CREATE TABLE ok (id int);");
  await writeFile(join(dir, "002_bad.sql"), "CREATE TABLE half (id int); SELECT no_such_column;");
  await writeFile(join(dir, "003_later.sql"), "CREATE TABLE later (id int);");
  await assert.rejects(
    withPool((pool) => migrate(pool, dir, log)),
    /no_such_column/,
  );
  await withPool(async (pool) => {
    const tables = await pool.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    assert.deepEqual(
      tables.rows.map((r) => r.tablename),
      ["concierge_migrations", "ok"],
    );
  });
});

test("a migration edited after it was applied is refused", async () => {
  await writeMigrations();
  await withPool((pool) => migrate(pool, dir, log));
  await writeFile(join(dir, "001_first.sql"), "CREATE TABLE first (id bigint PRIMARY KEY);");
  await assert.rejects(
    withPool((pool) => migrate(pool, dir, log)),
    /001_first.sql was changed after it was applied/,
  );
});

test("migrate works with a pool of one connection", async () => {
  await writeMigrations();
  const pool = createPool(db.url, 1, log);
  try {
    assert.equal((await migrate(pool, dir, log)).length, 2);
  } finally {
    await pool.end();
  }
});

test("transaction commits on success and rolls back on error", async () => {
  await withPool(async (pool) => {
    await pool.query("CREATE TABLE t (n int)");
    await transaction(pool, (client) => client.query("INSERT INTO t VALUES (1)"));
    await assert.rejects(
      transaction(pool, async (client) => {
        await client.query("INSERT INTO t VALUES (2)");
        throw new Error("changed my mind");
      }),
      /changed my mind/,
    );
    assert.deepEqual((await pool.query("SELECT n FROM t")).rows, [{ n: 1 }]);
  });
});
