import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  ConfigError,
  LOG_LEVELS,
  environmentOverrides,
  loadConfig,
  parseConfig,
  parseConfigFile,
  redactConfig,
  redactUrl,
  type Config,
} from "../../src/config.js";

const URL_WITH_PASSWORD = "postgres://concierge:hunter2@db.example.org:5432/concierge";

/** The smallest valid document: only the required keys. */
function minimal(): Record<string, Record<string, unknown>> {
  return {
    component: { jid: "concierge.example.org", secret: "s3cret" },
    database: { url: URL_WITH_PASSWORD },
  };
}

/** parseConfig that must fail: returns the ConfigError's problems. */
function problemsOf(document: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(document, env, "test.yaml");
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail("expected the configuration to be refused");
}

/** Asserts one problem starts with `prefix`. */
function assertProblem(problems: string[], prefix: string): void {
  assert.ok(
    problems.some((problem) => problem.startsWith(prefix)),
    `no problem starting with ${JSON.stringify(prefix)} in ${JSON.stringify(problems)}`,
  );
}

function assertNoProblem(problems: string[], prefix: string): void {
  assert.ok(
    !problems.some((problem) => problem.startsWith(prefix)),
    `unexpected problem starting with ${JSON.stringify(prefix)} in ${JSON.stringify(problems)}`,
  );
}

describe("parseConfig: defaults", () => {
  test("fills in every default around the required keys", () => {
    const config = parseConfig(minimal(), {}, "test.yaml");
    assert.deepEqual(config, {
      component: {
        jid: "concierge.example.org",
        host: "127.0.0.1",
        port: 5347,
        secret: "s3cret",
        name: "Concierge",
        maxStanzaBytes: 500_000,
      },
      database: {
        url: URL_WITH_PASSWORD,
        poolSize: 10,
        migrateOnStart: true,
        connectTimeoutMs: 5_000,
        queryTimeoutMs: 15_000,
        maxRetryDelayMs: 5_000,
      },
      reconnect: { initialDelayMs: 1_000, maxDelayMs: 60_000, loginTimeoutMs: 10_000 },
      log: { level: "info" },
      shutdownTimeoutMs: 5_000,
      presence: {
        livenessIntervalMs: 60_000,
        livenessTimeoutMs: 15_000,
        inCallTimeoutMs: 12_000,
      },
      neerc: undefined,
      olpc: undefined,
      roompool: undefined,
      commands: undefined,
      ha: undefined,
      http: undefined,
      webchat: undefined,
    } satisfies Config);
  });

  test("keeps values given in the document", () => {
    const config = parseConfig(
      {
        component: {
          jid: "svc.example.net",
          host: "xmpp.internal",
          port: 5275,
          secret: "x",
          name: "Helper",
        },
        database: { url: "postgresql://localhost/db", pool_size: 3, migrate_on_start: false },
        reconnect: { initial_delay_ms: 50, max_delay_ms: 50 },
        log: { level: "debug" },
        shutdown_timeout_ms: 100,
      },
      {},
      "test.yaml",
    );
    assert.equal(config.component.host, "xmpp.internal");
    assert.equal(config.component.port, 5275);
    assert.equal(config.component.name, "Helper");
    assert.equal(config.database.url, "postgresql://localhost/db");
    assert.equal(config.database.poolSize, 3);
    assert.equal(config.database.migrateOnStart, false);
    assert.deepEqual(config.reconnect, {
      initialDelayMs: 50,
      maxDelayMs: 50,
      loginTimeoutMs: 10_000,
    });
    assert.equal(config.log.level, "debug");
    assert.equal(config.shutdownTimeoutMs, 100);
  });

  test("fills in reconnect defaults around a partial reconnect section", () => {
    const config = parseConfig(
      { ...minimal(), reconnect: { initial_delay_ms: 500 } },
      {},
      "test.yaml",
    );
    assert.deepEqual(config.reconnect, {
      initialDelayMs: 500,
      maxDelayMs: 60_000,
      loginTimeoutMs: 10_000,
    });
  });

  test("accepts every log level", () => {
    for (const level of LOG_LEVELS) {
      assert.equal(parseConfig({ ...minimal(), log: { level } }, {}, "t").log.level, level);
    }
  });

  test("accepts a null document (an empty YAML file) when the environment has the rest", () => {
    const config = parseConfig(
      null,
      {
        CONCIERGE_COMPONENT__JID: "c.example.org",
        CONCIERGE_COMPONENT__SECRET: "s",
        DATABASE_URL: "postgres://h/db",
      },
      "empty.yaml",
    );
    assert.equal(config.component.jid, "c.example.org");
  });
});

describe("parseConfig: required keys", () => {
  test("names every required key missing from the given sections", () => {
    const problems = problemsOf({ component: {}, database: {} });
    assert.deepEqual(problems, [
      "component.jid: required (set it in the config file or CONCIERGE_COMPONENT__JID)",
      "component.secret: required (set it in the config file or CONCIERGE_COMPONENT__SECRET)",
      "database.url: required (set it in the config file or CONCIERGE_DATABASE__URL)",
    ]);
  });

  test("names every required key when the document is empty", () => {
    const problems = problemsOf({});
    assertProblem(problems, "component.jid: required");
    assertProblem(problems, "component.secret: required");
    assertProblem(problems, "database.url: required");
    assertNoProblem(problems, "component: ");
    assertNoProblem(problems, "database: ");
  });

  test("names the secret alone when only it is missing", () => {
    const document = minimal();
    delete document.component?.secret;
    assert.deepEqual(problemsOf(document), [
      "component.secret: required (set it in the config file or CONCIERGE_COMPONENT__SECRET)",
    ]);
  });

  test("refuses an empty secret", () => {
    const document = minimal();
    document.component = { ...document.component, secret: "" };
    assert.deepEqual(problemsOf(document), ["component.secret: must not be empty"]);
  });

  test("reports problems from several sections at once", () => {
    const problems = problemsOf({
      component: { jid: "ok.example", port: 0 },
      database: { url: "mysql://x" },
      log: { level: "loud" },
    });
    assertProblem(problems, "component.secret: required");
    assertProblem(problems, "component.port: ");
    assertProblem(problems, "database.url: must be a postgres:// or postgresql:// URL");
    assertProblem(problems, "log.level: ");
  });
});

describe("parseConfig: invalid values", () => {
  test("names unknown keys at the top level and inside sections", () => {
    const base = minimal();
    const document = {
      ...base,
      component: { ...base.component, hots: "typo" },
      colour: "blue",
      extra: 1,
    };
    const problems = problemsOf(document);
    assertProblem(problems, "colour: unknown key");
    assert.ok(
      problems.some((problem) => problem.includes("extra: unknown key")),
      JSON.stringify(problems),
    );
    assertProblem(problems, "component.hots: unknown key");
  });

  test("refuses ports outside 1-65535", () => {
    for (const port of [0, -1, 65_536, 100_000]) {
      const document = minimal();
      document.component = { ...document.component, port };
      assertProblem(problemsOf(document), "component.port: ");
    }
  });

  test("accepts the port range's ends", () => {
    for (const port of [1, 65_535]) {
      const document = minimal();
      document.component = { ...document.component, port };
      assert.equal(parseConfig(document, {}, "t").component.port, port);
    }
  });

  test("refuses a fractional port", () => {
    const document = minimal();
    document.component = { ...document.component, port: 5347.5 };
    assertProblem(problemsOf(document), "component.port: ");
  });

  test("a value of the wrong type is reported as such, not as missing", () => {
    const document = minimal();
    document.component = { ...document.component, port: "not a port" };
    document.database = { ...document.database, migrate_on_start: "maybe" };
    const problems = problemsOf(document);
    assertProblem(problems, "component.port: ");
    assertProblem(problems, "database.migrate_on_start: ");
    assertNoProblem(problems, "component.port: required");
    assertNoProblem(problems, "database.migrate_on_start: required");
  });

  test("refuses an unknown log level", () => {
    const problems = problemsOf({ ...minimal(), log: { level: "verbose" } });
    assertProblem(problems, "log.level: ");
    assert.ok(
      problems.some((problem) => problem.includes("debug")),
      JSON.stringify(problems),
    );
  });

  test("refuses a JID that is not a domain", () => {
    for (const jid of ["user@example.org", "bad domain", "-x.example", "x.example/res", ""]) {
      const document = minimal();
      document.component = { ...document.component, jid };
      assertProblem(problemsOf(document), "component.jid: ");
    }
  });

  test("accepts plain and dotted domains as JID", () => {
    for (const jid of ["localhost", "concierge.example.org", "a-b.c0.example"]) {
      const document = minimal();
      document.component = { ...document.component, jid };
      assert.equal(parseConfig(document, {}, "t").component.jid, jid);
    }
  });

  test("refuses a database URL that is not postgres", () => {
    for (const url of ["mysql://h/db", "http://h/db", "h:5432/db"]) {
      const document = minimal();
      document.database = { url };
      assertProblem(problemsOf(document), "database.url: must be a postgres");
    }
  });

  test("accepts postgres:// and postgresql:// URLs", () => {
    for (const url of ["postgres://h/db", "postgresql://u:p@h:5433/db?sslmode=require"]) {
      assert.equal(parseConfig({ ...minimal(), database: { url } }, {}, "t").database.url, url);
    }
  });

  test("refuses a pool size outside 1-100", () => {
    for (const pool_size of [0, 101]) {
      assertProblem(
        problemsOf({ ...minimal(), database: { url: URL_WITH_PASSWORD, pool_size } }),
        "database.pool_size: ",
      );
    }
  });

  test("refuses a shutdown timeout outside 100-120000 ms", () => {
    for (const shutdown_timeout_ms of [99, 120_001]) {
      assertProblem(problemsOf({ ...minimal(), shutdown_timeout_ms }), "shutdown_timeout_ms: ");
    }
  });

  test("refuses reconnect delays below 10 ms", () => {
    assertProblem(
      problemsOf({ ...minimal(), reconnect: { initial_delay_ms: 9 } }),
      "reconnect.initial_delay_ms: ",
    );
  });

  test("refuses a reconnect max_delay_ms below initial_delay_ms", () => {
    const problems = problemsOf({
      ...minimal(),
      reconnect: { initial_delay_ms: 5_000, max_delay_ms: 1_000 },
    });
    assert.deepEqual(problems, [
      "reconnect.max_delay_ms: max_delay_ms must be at least initial_delay_ms",
    ]);
  });

  test("refuses an initial_delay_ms above the default max_delay_ms", () => {
    assertProblem(
      problemsOf({ ...minimal(), reconnect: { initial_delay_ms: 120_000 } }),
      "reconnect.max_delay_ms: max_delay_ms must be at least initial_delay_ms",
    );
  });

  test("refuses a document that is not a mapping", () => {
    for (const document of [["a", "b"], "text", 42, true]) {
      assert.deepEqual(problemsOf(document), ["the file must hold a mapping of keys to values"]);
    }
  });

  test("the ConfigError names its source and lists each problem", () => {
    try {
      parseConfig({ component: {}, database: {} }, {}, "/etc/concierge.yaml");
      assert.fail("expected a ConfigError");
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.name, "ConfigError");
      assert.equal(error.source, "/etc/concierge.yaml");
      assert.ok(error.message.startsWith("invalid configuration (/etc/concierge.yaml):\n"));
      for (const problem of error.problems) {
        assert.ok(error.message.includes(`\n  - ${problem}`), error.message);
      }
    }
  });
});

describe("parseConfig: environment", () => {
  test("CONCIERGE_<SECTION>__<KEY> overrides the document", () => {
    const config = parseConfig(
      minimal(),
      {
        CONCIERGE_COMPONENT__SECRET: "from-env",
        CONCIERGE_COMPONENT__HOST: "xmpp.internal",
        CONCIERGE_LOG__LEVEL: "warn",
      },
      "t",
    );
    assert.equal(config.component.secret, "from-env");
    assert.equal(config.component.host, "xmpp.internal");
    assert.equal(config.component.jid, "concierge.example.org", "other keys are kept");
    assert.equal(config.log.level, "warn");
  });

  test("supplies required keys the document lacks", () => {
    const config = parseConfig(
      { component: { jid: "c.example.org" } },
      { CONCIERGE_COMPONENT__SECRET: "s", CONCIERGE_DATABASE__URL: "postgres://h/db" },
      "t",
    );
    assert.equal(config.component.secret, "s");
    assert.equal(config.database.url, "postgres://h/db");
  });

  test("top-level keys have no section", () => {
    const config = parseConfig(minimal(), { CONCIERGE_SHUTDOWN_TIMEOUT_MS: "2500" }, "t");
    assert.equal(config.shutdownTimeoutMs, 2_500);
  });

  test("numeric strings become numbers", () => {
    const config = parseConfig(
      minimal(),
      {
        CONCIERGE_COMPONENT__PORT: "5348",
        CONCIERGE_DATABASE__POOL_SIZE: " 20 ",
        CONCIERGE_RECONNECT__INITIAL_DELAY_MS: "250",
        CONCIERGE_RECONNECT__MAX_DELAY_MS: "30000",
      },
      "t",
    );
    assert.equal(config.component.port, 5348);
    assert.equal(config.database.poolSize, 20);
    assert.deepEqual(config.reconnect, {
      initialDelayMs: 250,
      maxDelayMs: 30_000,
      loginTimeoutMs: 10_000,
    });
  });

  test("boolean words become booleans, in any case", () => {
    const spellings: [string, boolean][] = [
      ["true", true],
      ["TRUE", true],
      ["yes", true],
      ["on", true],
      ["false", false],
      ["False", false],
      ["no", false],
      ["off", false],
    ];
    for (const [value, expected] of spellings) {
      const config = parseConfig(minimal(), { CONCIERGE_DATABASE__MIGRATE_ON_START: value }, "t");
      assert.equal(config.database.migrateOnStart, expected, `for ${value}`);
    }
  });

  test("1 and 0 are accepted as booleans", () => {
    const on = parseConfig(minimal(), { CONCIERGE_DATABASE__MIGRATE_ON_START: "1" }, "t");
    assert.equal(on.database.migrateOnStart, true);
    const off = parseConfig(minimal(), { CONCIERGE_DATABASE__MIGRATE_ON_START: "0" }, "t");
    assert.equal(off.database.migrateOnStart, false);
  });

  test("1 and 0 stay numbers for numeric keys", () => {
    const config = parseConfig(minimal(), { CONCIERGE_DATABASE__POOL_SIZE: "1" }, "t");
    assert.equal(config.database.poolSize, 1);
    assertProblem(
      problemsOf(minimal(), { CONCIERGE_DATABASE__POOL_SIZE: "0" }),
      "CONCIERGE_DATABASE__POOL_SIZE (environment, for database.pool_size): ",
    );
  });

  test("strings that are not numbers are refused for numeric keys", () => {
    for (const value of ["abc", "12abc", "1e3", ""]) {
      assertProblem(
        problemsOf(minimal(), { CONCIERGE_COMPONENT__PORT: value }),
        "CONCIERGE_COMPONENT__PORT (environment, for component.port): ",
      );
    }
  });

  test("a bad value from the environment is blamed on its variable, not on the file", () => {
    const document = { ...minimal(), component: { ...minimal().component, port: 5347 } };
    const problems = problemsOf(document, { CONCIERGE_COMPONENT__PORT: "abc" });
    assert.deepEqual(problems, [
      "CONCIERGE_COMPONENT__PORT (environment, for component.port): Invalid input: expected number, received string",
    ]);
    const fromUrl = problemsOf(minimal(), { DATABASE_URL: "mysql://x" });
    assertProblem(fromUrl, "DATABASE_URL (environment, for database.url): ");
  });

  test("a negative number string is refused by the range check", () => {
    assertProblem(
      problemsOf(minimal(), { CONCIERGE_COMPONENT__PORT: "-1" }),
      "CONCIERGE_COMPONENT__PORT (environment, for component.port): ",
    );
  });

  test("string keys keep numeric-looking values as given when valid", () => {
    const config = parseConfig(minimal(), { CONCIERGE_COMPONENT__NAME: "Concierge 2" }, "t");
    assert.equal(config.component.name, "Concierge 2");
  });

  test("an empty CONCIERGE_ value overrides the document and is validated", () => {
    assert.deepEqual(problemsOf(minimal(), { CONCIERGE_COMPONENT__SECRET: "" }), [
      "CONCIERGE_COMPONENT__SECRET (environment, for component.secret): must not be empty",
    ]);
  });

  test("DATABASE_URL supplies database.url", () => {
    const config = parseConfig(
      { component: minimal().component },
      { DATABASE_URL: "postgres://from-database-url/db" },
      "t",
    );
    assert.equal(config.database.url, "postgres://from-database-url/db");
  });

  test("DATABASE_URL overrides the document", () => {
    const config = parseConfig(minimal(), { DATABASE_URL: "postgres://env/db" }, "t");
    assert.equal(config.database.url, "postgres://env/db");
  });

  test("CONCIERGE_DATABASE__URL wins over DATABASE_URL", () => {
    const env = {
      CONCIERGE_DATABASE__URL: "postgres://concierge-specific/db",
      DATABASE_URL: "postgres://generic/db",
    };
    assert.equal(parseConfig(minimal(), env, "t").database.url, "postgres://concierge-specific/db");
    // The order of the variables in the environment does not matter.
    const reversed = {
      DATABASE_URL: "postgres://generic/db",
      CONCIERGE_DATABASE__URL: "postgres://concierge-specific/db",
    };
    assert.equal(
      parseConfig(minimal(), reversed, "t").database.url,
      "postgres://concierge-specific/db",
    );
  });

  test("an empty DATABASE_URL is ignored", () => {
    const config = parseConfig(minimal(), { DATABASE_URL: "" }, "t");
    assert.equal(config.database.url, URL_WITH_PASSWORD);
  });

  test("CONCIERGE_CONFIG is not taken for a configuration key", () => {
    const config = parseConfig(minimal(), { CONCIERGE_CONFIG: "/etc/concierge.yaml" }, "t");
    assert.equal(config.component.jid, "concierge.example.org");
  });

  test("an unknown CONCIERGE_ variable is named by its variable name", () => {
    assertProblem(
      problemsOf(minimal(), { CONCIERGE_COMPONENT__HOSTNAME: "x" }),
      "CONCIERGE_COMPONENT__HOSTNAME (environment): not a configuration key",
    );
  });

  test("variables without the prefix are ignored", () => {
    const config = parseConfig(minimal(), { PATH: "/usr/bin", COMPONENT__PORT: "1" }, "t");
    assert.equal(config.component.port, 5347);
  });

  test("an override replaces a section that is not a mapping", () => {
    const config = parseConfig(
      { ...minimal(), log: "loud" },
      { CONCIERGE_LOG__LEVEL: "error" },
      "t",
    );
    assert.equal(config.log.level, "error");
  });
});

describe("environmentOverrides", () => {
  test("builds nested keys from double underscores, lower-cased", () => {
    assert.deepEqual(
      environmentOverrides({
        CONCIERGE_COMPONENT__SECRET: "s",
        CONCIERGE_COMPONENT__PORT: "5348",
        CONCIERGE_SHUTDOWN_TIMEOUT_MS: "200",
        HOME: "/root",
      }),
      {
        component: { secret: "s", port: "5348" },
        shutdown_timeout_ms: "200",
      },
    );
  });

  test("puts DATABASE_URL under database.url, below CONCIERGE_DATABASE__URL", () => {
    assert.deepEqual(environmentOverrides({ DATABASE_URL: "postgres://a/db" }), {
      database: { url: "postgres://a/db" },
    });
    assert.deepEqual(
      environmentOverrides({
        CONCIERGE_DATABASE__URL: "postgres://b/db",
        DATABASE_URL: "postgres://a/db",
        CONCIERGE_DATABASE__POOL_SIZE: "5",
      }),
      { database: { url: "postgres://b/db", pool_size: "5" } },
    );
  });

  test("leaves out CONCIERGE_CONFIG and undefined values", () => {
    assert.deepEqual(
      environmentOverrides({ CONCIERGE_CONFIG: "/x.yaml", CONCIERGE_LOG__LEVEL: undefined }),
      {},
    );
  });
});

describe("redactConfig and redactUrl", () => {
  const config = parseConfigFile(minimal(), {}, "t");

  test("masks the component secret and the database password", () => {
    const shown = redactConfig(config);
    assert.equal(shown.component.secret, "[redacted]");
    assert.equal(shown.database.url, "postgres://concierge:redacted@db.example.org:5432/concierge");
    assert.ok(!JSON.stringify(shown).includes("s3cret"));
    assert.ok(!JSON.stringify(shown).includes("hunter2"));
  });

  test("keeps everything else", () => {
    const shown = redactConfig(config);
    assert.deepEqual(
      {
        ...shown,
        component: { ...shown.component, secret: "" },
        database: { ...shown.database, url: "" },
      },
      {
        ...config,
        component: { ...config.component, secret: "" },
        database: { ...config.database, url: "" },
      },
    );
  });

  test("does not modify the configuration it is given", () => {
    redactConfig(config);
    assert.equal(config.component.secret, "s3cret");
    assert.equal(config.database.url, URL_WITH_PASSWORD);
  });

  test("redactUrl leaves a URL without a password alone", () => {
    assert.equal(
      redactUrl("postgres://db.example.org/concierge"),
      "postgres://db.example.org/concierge",
    );
    assert.equal(redactUrl("postgres://user@db.example.org/c"), "postgres://user@db.example.org/c");
  });

  test("redactUrl keeps the user, host, port, path and query", () => {
    assert.equal(
      redactUrl("postgresql://u:p%40ss@h:6543/db?sslmode=require"),
      "postgresql://u:redacted@h:6543/db?sslmode=require",
    );
  });

  test("redactUrl does not give back an unparseable URL", () => {
    assert.equal(redactUrl("not a url with password hunter2"), "[unparseable url]");
    assert.equal(redactUrl(""), "[unparseable url]");
  });
});

describe("loadConfig", () => {
  let dir = "";
  const VALID_YAML = [
    "component:",
    "  jid: concierge.example.org",
    "  secret: from-file",
    "database:",
    `  url: "${URL_WITH_PASSWORD}"`,
    "log:",
    "  level: debug",
    "",
  ].join("\n");

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "concierge-config-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text, "utf8");
    return path;
  }

  async function loadError(path: string | undefined, env: NodeJS.ProcessEnv = {}) {
    try {
      await loadConfig(path, env);
    } catch (error) {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      return error;
    }
    return assert.fail("expected loadConfig to fail");
  }

  test("reads a YAML file and fills in defaults", async () => {
    const config = await loadConfig(await file("valid.yaml", VALID_YAML), {});
    assert.equal(config.component.secret, "from-file");
    assert.equal(config.component.port, 5347);
    assert.equal(config.log.level, "debug");
  });

  test("the environment wins over the file", async () => {
    const config = await loadConfig(await file("env.yaml", VALID_YAML), {
      CONCIERGE_COMPONENT__SECRET: "from-env",
      CONCIERGE_COMPONENT__PORT: "5400",
    });
    assert.equal(config.component.secret, "from-env");
    assert.equal(config.component.port, 5400);
  });

  test("reads the file named by CONCIERGE_CONFIG when no path is given", async () => {
    const path = await file("from-env.yaml", VALID_YAML);
    const config = await loadConfig(undefined, { CONCIERGE_CONFIG: path });
    assert.equal(config.component.secret, "from-file");
  });

  test("an explicit path wins over CONCIERGE_CONFIG", async () => {
    const path = await file("explicit.yaml", VALID_YAML);
    const config = await loadConfig(path, { CONCIERGE_CONFIG: join(dir, "missing.yaml") });
    assert.equal(config.component.secret, "from-file");
  });

  test("without any file, the environment alone is used", async () => {
    const config = await loadConfig(undefined, {
      CONCIERGE_COMPONENT__JID: "env.example.org",
      CONCIERGE_COMPONENT__SECRET: "s",
      DATABASE_URL: "postgres://h/db",
    });
    assert.equal(config.component.jid, "env.example.org");
  });

  test("without any file, an incomplete environment is reported as such", async () => {
    const error = await loadError(undefined, {});
    assert.match(error.source, /environment only/);
  });

  test("an empty file is an empty document", async () => {
    const config = await loadConfig(await file("empty.yaml", ""), {
      CONCIERGE_COMPONENT__JID: "c.example.org",
      CONCIERGE_COMPONENT__SECRET: "s",
      DATABASE_URL: "postgres://h/db",
    });
    assert.equal(config.component.jid, "c.example.org");
  });

  test("a missing file is a ConfigError naming the path", async () => {
    const path = join(dir, "does-not-exist.yaml");
    const error = await loadError(path);
    assert.equal(error.source, path);
    assert.ok(error.message.includes(path), error.message);
    assert.equal(error.problems.length, 1);
    assert.match(error.problems[0] ?? "", /^cannot read the file: .*ENOENT/);
  });

  test("invalid YAML is a ConfigError naming the path", async () => {
    const path = await file("broken.yaml", "component:\n  jid: [unclosed\n  secret: x\n");
    const error = await loadError(path);
    assert.equal(error.source, path);
    assert.ok(error.message.includes(path), error.message);
    assert.match(error.problems[0] ?? "", /^not valid YAML: /);
  });

  test("a YAML list is refused with the path named", async () => {
    const path = await file("list.yaml", "- a\n- b\n");
    const error = await loadError(path);
    assert.equal(error.source, path);
    assert.deepEqual(error.problems, ["the file must hold a mapping of keys to values"]);
  });

  test("invalid values in the file are reported with the path as source", async () => {
    const path = await file(
      "bad-port.yaml",
      VALID_YAML.replace("  secret:", "  port: 0\n  secret:"),
    );
    const error = await loadError(path);
    assert.equal(error.source, path);
    assertProblem(error.problems, "component.port: ");
  });
});

describe("environment variables that name no key", () => {
  test("are reported by their variable name, with the two-underscore rule", () => {
    assert.throws(
      () =>
        parseConfig(
          { component: { jid: "c.example", secret: "s" }, database: { url: "postgres://h/db" } },
          { CONCIERGE_COMPONENT_SECRET: "x" },
          "test.yaml",
        ),
      /CONCIERGE_COMPONENT_SECRET \(environment\): not a configuration key; levels are joined by two underscores/,
    );
  });
});
