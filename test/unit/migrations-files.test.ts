import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { readMigrations } from "../../src/db/migrate.js";
import { migrationsDir } from "../../src/paths.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const folders: string[] = [];

/** A fresh temporary folder holding the given files. */
async function folder(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "concierge-migrations-"));
  folders.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text, "utf8");
  return dir;
}

afterEach(async () => {
  for (const dir of folders.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("readMigrations", () => {
  test("an empty folder has no migrations", async () => {
    assert.deepEqual(await readMigrations(await folder()), []);
  });

  test("reads version, file name, SQL text and its SHA-256", async () => {
    const sql = "CREATE TABLE rooms (jid text PRIMARY KEY);\n";
    const [migration, ...rest] = await readMigrations(await folder({ "001_rooms.sql": sql }));

    assert.equal(rest.length, 0);
    assert.deepEqual(migration, {
      version: 1,
      name: "001_rooms.sql",
      sql,
      checksum: sha256(sql),
    });
  });

  test("orders migrations by number, not by file name", async () => {
    const dir = await folder({
      "10_ten.sql": "-- 10",
      "2_two.sql": "-- 2",
      "001_one.sql": "-- 1",
      "0100_hundred.sql": "-- 100",
    });
    const migrations = await readMigrations(dir);

    assert.deepEqual(
      migrations.map((migration) => [migration.version, migration.name]),
      [
        [1, "001_one.sql"],
        [2, "2_two.sql"],
        [10, "10_ten.sql"],
        [100, "0100_hundred.sql"],
      ],
    );
  });

  test("ignores files that do not end in .sql", async () => {
    const dir = await folder({
      "README.md": "# migrations",
      "001_init.sql": "SELECT 1;",
      "002_notes.sql.bak": "old",
      "003_upper.SQL": "SELECT 3;",
      ".gitkeep": "",
    });
    const migrations = await readMigrations(dir);

    assert.deepEqual(
      migrations.map((migration) => migration.name),
      ["001_init.sql"],
    );
  });

  test("accepts letters, digits, underscores and dashes in the name", async () => {
    const dir = await folder({ "007_add-room_index2.sql": "SELECT 7;" });
    const [migration] = await readMigrations(dir);
    assert.equal(migration?.version, 7);
    assert.equal(migration?.name, "007_add-room_index2.sql");
  });

  test("a .sql file not named NNN_name.sql is an error naming the file", async () => {
    for (const name of [
      "init.sql",
      "001.sql",
      "001-init.sql",
      "v1_init.sql",
      "001_in it.sql",
      "001_a.b.sql",
    ]) {
      const dir = await folder({ "001_ok.sql": "SELECT 1;", [name]: "SELECT 2;" });
      await assert.rejects(readMigrations(dir), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.equal(error.message, `migration file ${name} is not named NNN_name.sql`);
        return true;
      });
    }
  });

  test("two files with the same number are an error naming the number", async () => {
    const dir = await folder({ "003_a.sql": "SELECT 1;", "3_b.sql": "SELECT 2;", "001_x.sql": "" });
    await assert.rejects(readMigrations(dir), {
      message: "two migrations share number 3",
    });
  });

  test("the checksum changes when the SQL changes, and only then", async () => {
    const [first] = await readMigrations(await folder({ "001_a.sql": "SELECT 1;" }));
    const [same] = await readMigrations(await folder({ "001_b.sql": "SELECT 1;" }));
    const [edited] = await readMigrations(await folder({ "001_a.sql": "SELECT 1; " }));

    assert.equal(first?.checksum, same?.checksum);
    assert.notEqual(first?.checksum, edited?.checksum);
    assert.match(first?.checksum ?? "", /^[0-9a-f]{64}$/);
  });

  test("reads the SQL as UTF-8, byte for byte", async () => {
    const sql = "-- café ☕\r\nINSERT INTO t VALUES ('ünïcode');\n";
    const [migration] = await readMigrations(await folder({ "001_utf8.sql": sql }));
    assert.equal(migration?.sql, sql);
    assert.equal(migration?.checksum, sha256(sql));
  });

  test("an empty migration file is read as empty SQL", async () => {
    const [migration] = await readMigrations(await folder({ "001_empty.sql": "" }));
    assert.equal(migration?.sql, "");
    assert.equal(migration?.checksum, sha256(""));
  });

  test("subfolders not ending in .sql are ignored", async () => {
    const dir = await folder({ "001_a.sql": "SELECT 1;" });
    await mkdir(join(dir, "archive"));
    await writeFile(join(dir, "archive", "002_b.sql"), "SELECT 2;");

    const migrations = await readMigrations(dir);
    assert.deepEqual(
      migrations.map((migration) => migration.name),
      ["001_a.sql"],
    );
  });

  test("a missing folder rejects", async () => {
    const dir = await folder();
    await assert.rejects(readMigrations(join(dir, "nope")), { code: "ENOENT" });
  });

  test("the project's own migrations folder reads cleanly", async () => {
    const migrations = await readMigrations(migrationsDir);
    const versions = migrations.map((migration) => migration.version);
    assert.deepEqual(
      versions,
      [...versions].sort((a, b) => a - b),
    );
    assert.equal(new Set(versions).size, versions.length);
  });
});
