import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { parseConfigFile } from "../../src/config.js";
import { placeholderProblems } from "../../src/config-placeholders.js";
import { projectRoot } from "../../src/paths.js";

interface Service {
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  command?: string[];
  restart?: string;
  ports?: string[];
}

const read = (file: string) => readFile(join(projectRoot, file), "utf8");

async function compose(): Promise<Record<string, Service>> {
  return (
    parseYaml(await read("docker-compose.yml"), { merge: true }) as {
      services: Record<string, Service>;
    }
  ).services;
}

/** Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}, filled from `values`. */
function interpolate(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?::[-?][^}]*)?\}/g, (_, name: string) => {
    const value = values[name];
    assert.ok(value !== undefined, `${name} is not in docker/example.env`);
    return value;
  });
}

async function exampleEnv(): Promise<Record<string, string>> {
  const lines = (await read("docker/example.env")).split("\n");
  return Object.fromEntries(
    lines
      .filter((line) => /^\w+=/.test(line))
      .map((line) => line.split("=", 2) as [string, string]),
  );
}

describe("the compose stack", () => {
  test("the daemon's environment and file form a valid configuration with every section", async () => {
    const services = await compose();
    const values = await exampleEnv();
    const environment = Object.fromEntries(
      Object.entries(services.concierge?.environment ?? {}).map(([name, value]) => [
        name,
        interpolate(value, values),
      ]),
    );
    const file = parseConfigFile(
      parseYaml(await read("docker/concierge.yaml")),
      environment,
      "docker/concierge.yaml",
    );
    for (const section of ["olpc", "neerc", "roompool", "http", "webchat"] as const) {
      assert.ok(file[section], `docker/concierge.yaml lacks ${section}`);
    }
    // The example values are placeholders, refused like the example file's.
    assert.deepEqual(
      placeholderProblems(file).map((problem) => problem.split(":")[0]),
      ["component.secret", "database.url", "roompool.password", "webchat.api_keys"],
    );
    assert.equal(services.concierge?.ports?.[0], `127.0.0.1:${file.http?.port}:${file.http?.port}`);
    assert.match(
      services.concierge?.healthcheck?.test.join(" ") ?? "",
      new RegExp(`:${file.http?.port}/readyz`),
    );
  });

  test("no variable compose reads is one Concierge would take for a configuration key", async () => {
    const text = await read("docker-compose.yml");
    const used = [...text.matchAll(/\$\{(\w+)/g)].map((match) => match[1] ?? "");
    assert.deepEqual(
      used.filter((name) => name.startsWith("CONCIERGE_")),
      [],
    );
    assert.deepEqual(
      [...new Set(used)].sort(),
      Object.keys(await exampleEnv()).sort(),
      "docker/example.env names every variable",
    );
  });

  test("a bad configuration stops in the one-shot check instead of a restart loop", async () => {
    const services = await compose();
    assert.deepEqual(services["check-config"]?.command?.[0], "check-config");
    assert.equal(services["check-config"]?.restart, "no");
    assert.deepEqual(services["check-config"]?.environment, services.concierge?.environment);
    assert.equal(
      services.concierge?.depends_on?.["check-config"]?.condition,
      "service_completed_successfully",
    );
    for (const dependency of ["postgres", "prosody"]) {
      assert.equal(services.concierge?.depends_on?.[dependency]?.condition, "service_healthy");
      assert.ok(services[dependency]?.healthcheck, `${dependency} has a health check`);
    }
  });
});
