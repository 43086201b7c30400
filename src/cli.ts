import { parseArgs } from "node:util";
import { ConfigError, ConfigSchema, loadConfigFile, redactConfig } from "./config.js";
import { placeholderProblems } from "./config-placeholders.js";
import { Database } from "./db/database.js";
import { classifyPgError, databaseAddress } from "./db/errors.js";
import { migrate } from "./db/migrate.js";
import { createLogger, flushLogger } from "./log.js";
import { migrationsDir, packageVersion } from "./paths.js";
import { runUntilSignal } from "./run.js";
import type { Signals } from "./signals.js";

const USAGE = `Usage: concierge <command> [options]

Commands:
  start          connect to the XMPP server and serve until SIGTERM/SIGINT
  migrate        apply pending database migrations, then exit
  check-config   validate the configuration and print it (secrets masked), then exit
  demo           run a private Prosody (or ejabberd), a demo database and the daemon together

Options:
  -c, --config FILE   configuration file (YAML); default: $CONCIERGE_CONFIG
      --no-migrate    (start) do not apply migrations at start
      --server NAME   (demo) prosody (default) or ejabberd
  -h, --help          show this help
  -v, --version       show the version

Secrets and any other key can come from the environment, e.g. CONCIERGE_COMPONENT__SECRET,
DATABASE_URL. See config/concierge.example.yaml.`;

/** The command line; `signals` has held every SIGTERM/SIGINT since the process began. */
export async function main(argv: string[], signals: Signals): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      "no-migrate": { type: "boolean", default: false },
      server: { type: "string", default: "prosody" },
      help: { type: "boolean", short: "h", default: false },
      version: { type: "boolean", short: "v", default: false },
    },
  });
  if (values.version) return print(packageVersion);
  const [command, ...rest] = positionals;
  // Only the daemon stops gracefully; any other command ends as the runtime ends it.
  if (command !== "start" && command !== "demo") signals.release();
  if (values.help || !command) return print(USAGE, command ? 0 : 2);
  if (rest.length) return fail(`unexpected argument: ${rest.join(" ")}`);

  if (command === "demo") {
    const server = values.server;
    if (server !== "prosody" && server !== "ejabberd") {
      return fail(`--server must be prosody or ejabberd, not ${server}`);
    }
    const { runDemo } = await import("./dev/demo.js");
    return runDemo(signals, server);
  }
  if (!["start", "migrate", "check-config"].includes(command)) {
    return fail(`unknown command: ${command}\n\n${USAGE}`);
  }

  const file = await loadConfigFile(values.config, process.env);
  const placeholders = placeholderProblems(file);
  if (placeholders.length) {
    throw new ConfigError(
      values.config ?? process.env.CONCIERGE_CONFIG ?? "environment",
      placeholders,
    );
  }
  if (command === "check-config") {
    return print(`configuration is valid:\n${JSON.stringify(redactConfig(file), null, 2)}`);
  }
  const config = ConfigSchema.parse(file);
  const log = createLogger(config.log.level);
  try {
    if (command === "migrate") return await migrateOnly(config.database.url, log);
    const migrateOnStart = config.database.migrateOnStart && !values["no-migrate"];
    return await runUntilSignal(config, log, { migrate: migrateOnStart, signals });
  } finally {
    await flushLogger(log);
  }
}

async function migrateOnly(url: string, log: ReturnType<typeof createLogger>): Promise<number> {
  const db = new Database({
    url,
    poolSize: 2,
    connectTimeoutMs: 10_000,
    queryTimeoutMs: 600_000,
    retry: { initialDelayMs: 1_000, maxDelayMs: 1_000 },
    log,
  });
  try {
    const applied = await migrate(db, migrationsDir, log);
    log.info({ applied: applied.length }, "migrations up to date");
    return 0;
  } catch (error) {
    const { message } = classifyPgError(error, databaseAddress(url));
    log.fatal(`migration failed: ${message}`);
    return 1;
  } finally {
    await db.end();
  }
}

function print(text: string, code = 0): number {
  (code === 0 ? process.stdout : process.stderr).write(`${text}\n`);
  return code;
}

function fail(message: string): number {
  return print(`concierge: ${message}`, 2);
}

export function exitOnError(error: unknown): never {
  if (error instanceof ConfigError) process.exit(fail(error.message));
  if (
    error instanceof TypeError &&
    "code" in error &&
    String(error.code).startsWith("ERR_PARSE_ARGS")
  ) {
    process.exit(fail(`${error.message}\n\n${USAGE}`));
  }
  process.stderr.write(`concierge: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
