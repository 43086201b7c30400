import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import type { Logger } from "pino";
import { inTransaction } from "./pool.js";

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** Any fixed 64-bit key: every Concierge process migrating the same database takes this lock. */
const MIGRATION_LOCK = 7_347_202_611;

/** Anything that hands out a client: a pg.Pool or the daemon's Database. */
export interface Connectable {
  connect(): Promise<pg.PoolClient>;
}

const FILE_PATTERN = /^(\d+)_([\w-]+)\.sql$/;

/** Reads numbered `NNN_name.sql` files; other files are ignored, a repeated number is an error. */
export async function readMigrations(directory: string): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith(".sql"));
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_PATTERN.exec(file);
    if (!match) throw new Error(`migration file ${file} is not named NNN_name.sql`);
    const sql = await readFile(join(directory, file), "utf8");
    const checksum = createHash("sha256").update(sql).digest("hex");
    migrations.push({ version: Number(match[1]), name: file, sql, checksum });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]?.version === migrations[i - 1]?.version) {
      throw new Error(`two migrations share number ${migrations[i]?.version}`);
    }
  }
  return migrations;
}

/**
 * Applies the migrations not yet recorded, each in its own transaction, under an advisory lock so
 * that concurrent starts apply each one exactly once. A recorded migration whose file has changed
 * since is an error: editing history would leave databases that differ.
 * Returns the names applied by this call.
 */
export async function migrate(
  pool: Connectable,
  directory: string,
  log: Logger,
): Promise<string[]> {
  const migrations = await readMigrations(directory);
  const lock = await pool.connect();
  try {
    await lock.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await lock.query(`CREATE TABLE IF NOT EXISTS concierge_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done: string[] = [];
    for (const migration of await unapplied(lock, migrations)) {
      await inTransaction(lock, async (client) => {
        await client.query(migration.sql);
        await client.query(
          "INSERT INTO concierge_migrations (version, name, checksum) VALUES ($1, $2, $3)",
          [migration.version, migration.name, migration.checksum],
        );
      });
      log.info({ migration: migration.name }, "migration applied");
      done.push(migration.name);
    }
    return done;
  } finally {
    await lock.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    lock.release();
  }
}

/** The migrations the database lacks (for `start --no-migrate`), by file name. */
export async function pendingMigrations(pool: Connectable, directory: string): Promise<string[]> {
  const migrations = await readMigrations(directory);
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ exists: boolean }>(
      "SELECT to_regclass('concierge_migrations') IS NOT NULL AS exists",
    );
    if (!rows[0]?.exists) return migrations.map((m) => m.name);
    return (await unapplied(client, migrations)).map((m) => m.name);
  } finally {
    client.release();
  }
}

/** The migrations not recorded yet; a recorded one whose file changed is an error. */
async function unapplied(client: pg.ClientBase, migrations: Migration[]): Promise<Migration[]> {
  const { rows } = await client.query<{ version: number; checksum: string }>(
    "SELECT version, checksum FROM concierge_migrations",
  );
  const applied = new Map(rows.map((row) => [row.version, row.checksum]));
  return migrations.filter((migration) => {
    const checksum = applied.get(migration.version);
    if (checksum === undefined) return true;
    if (checksum !== migration.checksum) {
      throw new Error(`migration ${migration.name} was changed after it was applied`);
    }
    return false;
  });
}
