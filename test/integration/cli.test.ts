import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createScratchDatabase, type ScratchDatabase } from "../../src/dev/database.js";
import { projectRoot } from "../../src/paths.js";

let dir: string;
let db: ScratchDatabase;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "concierge-cli-"));
  db = await createScratchDatabase();
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
  await db?.drop();
});

function concierge(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: "", CONCIERGE_CONFIG: "", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

test("check-config names every bad key and exits 2", async () => {
  const file = join(dir, "bad.yaml");
  await writeFile(file, "component:\n  jid: 'not a domain'\n  port: 99999\ndatabse:\n  url: x\n");
  const { code, stderr } = await concierge(["check-config", "--config", file]);
  assert.equal(code, 2);
  assert.match(stderr, /component\.jid: must be a domain/);
  assert.match(stderr, /component\.port: /);
  assert.match(
    stderr,
    /component\.secret: required \(set it in the config file or CONCIERGE_COMPONENT__SECRET\)/,
  );
  assert.match(stderr, /database\.url: required/);
  assert.match(stderr, /databse: unknown key/);
});

test("check-config refuses the example's placeholder secrets, naming each and its variable", async () => {
  const { code, stderr } = await concierge([
    "check-config",
    "--config",
    "config/concierge.example.yaml",
  ]);
  assert.equal(code, 2);
  for (const [key, variable] of [
    ["component.secret", "CONCIERGE_COMPONENT__SECRET"],
    ["database.url", "DATABASE_URL"],
    ["roompool.password", "CONCIERGE_ROOMPOOL__PASSWORD"],
    ["webchat.api_keys", "CONCIERGE_WEBCHAT__API_KEYS"],
  ]) {
    assert.match(stderr, new RegExp(`${key}: still holds the example's placeholder.*${variable}`));
  }
});

test("check-config accepts the shipped example with the secrets from the environment", async () => {
  const { code, stdout } = await concierge(
    ["check-config", "--config", "config/concierge.example.yaml"],
    {
      CONCIERGE_COMPONENT__SECRET: "s3cret-from-env",
      DATABASE_URL: "postgres://concierge:db-pass@127.0.0.1:5432/concierge",
      CONCIERGE_ROOMPOOL__PASSWORD: "bot-pass",
      CONCIERGE_WEBCHAT__API_KEYS: "a-web-application-key-0123456789",
    },
  );
  assert.equal(code, 0, stdout);
  assert.match(stdout, /configuration is valid/);
  assert.doesNotMatch(stdout, /s3cret-from-env/);
});

test("a missing config file is named", async () => {
  const { code, stderr } = await concierge(["check-config", "--config", join(dir, "nope.yaml")]);
  assert.equal(code, 2);
  assert.match(stderr, /nope\.yaml/);
  assert.match(stderr, /cannot read the file/);
});

test("migrate applies the shipped migrations and is idempotent", async () => {
  const env = {
    CONCIERGE_COMPONENT__JID: "concierge.localhost",
    CONCIERGE_COMPONENT__SECRET: "x",
    DATABASE_URL: db.url,
  };
  const first = await concierge(["migrate"], env);
  assert.equal(first.code, 0, first.stderr + first.stdout);
  const second = await concierge(["migrate"], env);
  assert.equal(second.code, 0);
  assert.match(second.stdout, /"applied":0/);
});

test("an unknown command or option prints usage and exits 2", async () => {
  const unknown = await concierge(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command: frobnicate/);
  const badOption = await concierge(["start", "--frobnicate"]);
  assert.equal(badOption.code, 2);
  assert.match(badOption.stderr, /Usage: concierge/);
});
