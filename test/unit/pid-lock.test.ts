import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { takePidLock } from "../../src/dev/pid-lock.js";

let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), "concierge-pid-lock-"))));
after(() => rm(dir, { recursive: true, force: true }));

describe("the demo's pid lock", () => {
  test("a free lock is taken, holds our pid, and is gone once released", async () => {
    const path = join(dir, "free.pid");
    const release = await takePidLock(path);
    assert.equal(typeof release, "function");
    assert.equal((await readFile(path, "utf8")).trim(), String(process.pid));
    if (typeof release === "function") await release();
    await assert.rejects(readFile(path), { code: "ENOENT" });
  });

  test("a live holder keeps it: its pid is returned and its file left alone", async () => {
    const path = join(dir, "held.pid");
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    try {
      await writeFile(path, `${holder.pid}\n`);
      assert.equal(await takePidLock(path), holder.pid);
      assert.equal((await readFile(path, "utf8")).trim(), String(holder.pid));
    } finally {
      holder.kill();
    }
  });

  test("a lock left by a process that is gone, or unreadable, is taken over", async () => {
    for (const [name, content] of [
      ["gone.pid", "2147483646\n"],
      ["garbage.pid", "not a pid"],
    ] as const) {
      const path = join(dir, name);
      await writeFile(path, content);
      const release = await takePidLock(path);
      assert.equal(typeof release, "function", name);
      if (typeof release === "function") await release();
    }
  });
});
