import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { parseConfig, parseConfigFile } from "../../src/config.js";
import { placeholderProblems } from "../../src/config-placeholders.js";
import {
  MEANINGS,
  README,
  configKeys,
  configTable,
  readmeTable,
} from "../../src/dev/config-docs.js";
import { projectRoot } from "../../src/paths.js";

const EXAMPLE = join(projectRoot, "config", "concierge.example.yaml");

/** Every dotted key path written in a YAML document, a section's keys one level down. */
function keysOf(document: Record<string, unknown>): string[] {
  return Object.entries(document).flatMap(([key, value]) =>
    value !== null && typeof value === "object" && !Array.isArray(value)
      ? Object.keys(value).map((inner) => `${key}.${inner}`)
      : [key],
  );
}

describe("the configuration's documentation", () => {
  test("every key of the schema has a meaning, and no meaning is left over", () => {
    const keys = configKeys().map((doc) => doc.key);
    assert.deepEqual([...keys].sort(), Object.keys(MEANINGS).sort());
  });

  test("the README's table is the one generated from the schema (npm run docs:config)", async () => {
    const readme = await readFile(README, "utf8");
    assert.equal(readmeTable(readme), await configTable());
  });

  test("the example file writes every key out and is itself a valid configuration", async () => {
    const document = parseYaml(await readFile(EXAMPLE, "utf8")) as Record<string, unknown>;
    const written = new Set(keysOf(document));
    const missing = configKeys()
      .map((doc) => doc.key)
      .filter((key) => !written.has(key));
    assert.deepEqual(missing, []);
    assert.doesNotThrow(() => parseConfig(document, {}, EXAMPLE));
  });
});

describe("placeholder secrets", () => {
  const base = {
    component: { jid: "concierge.example.org", secret: "a-real-secret" },
    database: { url: "postgres://concierge:real@127.0.0.1/concierge" },
  };
  const problems = (document: object) =>
    placeholderProblems(parseConfigFile(document, {}, "test")).map((p) => p.split(":")[0]);

  test("real values pass", () => assert.deepEqual(problems(base), []));

  test("each secret is checked: the component's, the URL's password, the bot's, every API key", () => {
    assert.deepEqual(
      problems({
        ...base,
        component: { ...base.component, secret: "CHANGEME" },
        database: { url: "postgres://concierge:change-me@db/concierge" },
        roompool: { jid: "bot@example.org", password: "placeholder", muc_service: "conference.x" },
        http: {},
        webchat: { api_keys: ["a-real-key-0123456789abc", "placeholder-key-0123456789"] },
      }),
      ["component.secret", "database.url", "roompool.password", "webchat.api_keys"],
    );
  });

  test("a database name or user that says placeholder is not a secret", () =>
    assert.deepEqual(
      problems({ ...base, database: { url: "postgres://placeholder@127.0.0.1/placeholder" } }),
      [],
    ));
});
