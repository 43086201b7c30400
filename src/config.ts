import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/** Environment values are strings: numeric keys accept digits, boolean keys the usual words. */
const toInteger = (value: unknown): unknown =>
  typeof value === "string" && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
const toBoolean = (value: unknown): unknown => {
  if (typeof value !== "string") return value;
  const word = value.trim().toLowerCase();
  if (["true", "yes", "on", "1"].includes(word)) return true;
  if (["false", "no", "off", "0"].includes(word)) return false;
  return value;
};
const integer = (min: number, max: number) => z.preprocess(toInteger, z.int().min(min).max(max));
const flag = () => z.preprocess(toBoolean, z.boolean());
const milliseconds = (min: number, max: number) => integer(min, max);

const domain = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i, "must be a domain");

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
  .refine((value) => URL.canParse(value), "is not a valid URL");

/** A list from the environment: one string, comma-separated. */
const toList = (value: unknown): unknown =>
  typeof value === "string"
    ? value
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "")
    : value;

const origin = z
  .string()
  .regex(/^https?:\/\/[^/\s]+$/, "must be an origin: scheme://host[:port], no path");

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/**
 * The configuration as written: snake_case keys, every default filled in. `check-config` shows
 * this form; the daemon works with `Config`, the same values as camelCase options.
 */
export const FileSchema = z
  .strictObject({
    component: z.strictObject({
      jid: domain,
      host: z.string().min(1).default("127.0.0.1"),
      port: integer(1, 65535).default(5347),
      secret: z.string().min(1, "must not be empty"),
      name: z.string().min(1).default("Concierge"),
      // Prosody closes a component's stream over 512 KiB (component_stanza_size_limit).
      max_stanza_bytes: integer(10_000, 64 * 1024 * 1024).default(500_000),
    }),
    database: z.strictObject({
      url: postgresUrl,
      pool_size: integer(1, 100).default(10),
      migrate_on_start: flag().default(true),
      connect_timeout_ms: milliseconds(100, 120_000).default(5_000),
      query_timeout_ms: milliseconds(100, 600_000).default(15_000),
      max_retry_delay_ms: milliseconds(100, 600_000).default(5_000),
    }),
    reconnect: z
      .strictObject({
        initial_delay_ms: milliseconds(10, 600_000).default(1_000),
        max_delay_ms: milliseconds(10, 3_600_000).default(60_000),
        login_timeout_ms: milliseconds(500, 600_000).default(10_000),
      })
      .refine((r) => r.max_delay_ms >= r.initial_delay_ms, {
        message: "max_delay_ms must be at least initial_delay_ms",
        path: ["max_delay_ms"],
      })
      .prefault({}),
    log: z.strictObject({ level: z.enum(LOG_LEVELS).default("info") }).prefault({}),
    shutdown_timeout_ms: milliseconds(100, 120_000).default(5_000),
    presence: z
      .strictObject({
        liveness_interval_ms: milliseconds(0, 3_600_000).default(60_000),
        liveness_timeout_ms: milliseconds(100, 600_000).default(15_000),
        in_call_timeout_ms: milliseconds(1_000, 600_000).default(12_000),
      })
      .prefault({}),
    neerc: z
      .strictObject({
        enabled: flag().default(true),
        muc_service: domain,
        default_room: z
          .string()
          .regex(/^[^\s@/"&'<>:]+$/, "must be a room name (a JID localpart)")
          .default("neerc"),
        refresh_interval_ms: milliseconds(1_000, 3_600_000).default(60_000),
        groups: z.record(z.string().min(1), z.string().min(1)).default({}),
        max_tasks: integer(1, 100_000).default(1_000),
      })
      .optional(),
    olpc: z
      .strictObject({
        enabled: flag().default(true),
        max_properties: integer(1, 1_000).default(32),
        max_value_bytes: integer(1, 65_536).default(4_096),
        max_view_size: integer(1, 10_000).default(100),
        max_page_size: integer(1, 10_000).default(50),
      })
      .optional(),
    roompool: z
      .strictObject({
        enabled: flag().default(true),
        service: z
          .string()
          .regex(/^xmpp:\/\/[^/]+$/, "must be xmpp://host:port")
          .default("xmpp://127.0.0.1:5222"),
        jid: z.string().regex(/^[^@/\s]+@[^@/\s]+$/, "must be a bare JID, user@domain"),
        password: z.string().min(1, "must not be empty"),
        resource: z.string().min(1).default("concierge"),
        nickname: z.string().min(1).default("concierge"),
        muc_service: domain,
        min_available: integer(0, 1_000).default(5),
        max_rooms: integer(1, 10_000).default(50),
        max_occupants: integer(2, 100).default(3),
        history_length: integer(0, 1_000).default(20),
        persistent: flag().default(false),
        claim_timeout_ms: milliseconds(1_000, 86_400_000).default(300_000),
        maintenance_interval_ms: milliseconds(100, 60_000).default(1_000),
        create_concurrency: integer(1, 100).default(8),
      })
      .refine((pool) => pool.max_rooms >= pool.min_available, {
        message: "max_rooms must be at least min_available",
        path: ["max_rooms"],
      })
      .optional(),
    commands: z
      .strictObject({
        enabled: flag().default(true),
        admins: z.preprocess(
          toList,
          z.array(z.string().regex(/^[^@/\s]+@[^@/\s]+$/, "must be a bare JID, user@domain")),
        ),
        max_sessions: integer(1, 10_000).default(100),
        session_timeout_ms: milliseconds(10_000, 86_400_000).default(600_000),
      })
      .optional(),
    ha: z
      .strictObject({
        enabled: flag().default(true),
        name: z
          .string()
          .regex(/^[\w.-]+$/, "letters, digits, '.', '_' or '-'")
          .default("concierge"),
        lease_ms: milliseconds(1_000, 600_000).default(4_000),
        renew_ms: milliseconds(100, 60_000).default(1_000),
      })
      .refine((ha) => ha.lease_ms >= 2 * ha.renew_ms, {
        message: "lease_ms must be at least twice renew_ms",
        path: ["lease_ms"],
      })
      .optional(),
    http: z
      .strictObject({
        host: z.string().min(1).default("127.0.0.1"),
        port: integer(0, 65535).default(8080),
        allowed_origins: z.preprocess(toList, z.array(origin)).default([]),
        trust_proxy: flag().default(false),
        max_body_bytes: integer(256, 1_048_576).default(16_384),
      })
      .optional(),
    webchat: z
      .strictObject({
        enabled: flag().default(true),
        api_keys: z.preprocess(
          toList,
          z.array(z.string().min(16, "must be at least 16 characters")).min(1, "needs a key"),
        ),
        token_lifetime_s: integer(60, 604_800).default(3_600),
        grace_period_ms: milliseconds(0, 3_600_000).default(30_000),
        keepalive_ms: milliseconds(100, 300_000).default(15_000),
        retry_ms: milliseconds(100, 600_000).default(3_000),
        poll_max_wait_s: integer(0, 300).default(30),
        max_text_chars: integer(1, 100_000).default(4_000),
        max_streams_per_token: integer(1, 1_000).default(4),
        max_streams_per_address: integer(1, 1_000_000).default(100),
        max_streams: integer(1, 1_000_000).default(20_000),
        max_backlog_bytes: integer(1_024, 67_108_864).default(262_144),
        token_requests_per_minute: integer(1, 1_000_000).default(600),
        requests_per_minute: integer(1, 1_000_000).default(1_200),
        messages_per_minute: integer(1, 1_000_000).default(120),
        sweep_interval_ms: milliseconds(1_000, 86_400_000).default(60_000),
      })
      .optional(),
  })
  .refine((file) => !file.webchat?.enabled || file.http !== undefined, {
    message: "the web chat needs an http section (where it listens)",
    path: ["http"],
  });

export type ConfigFile = z.infer<typeof FileSchema>;

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;
/** A section with its keys in camelCase (one level: `neerc.groups` keeps its user names). */
export type Camelized<T> = { [K in keyof T as K extends string ? CamelCase<K> : K]: T[K] };

function camelized<T extends object>(section: T): Camelized<T> {
  return Object.fromEntries(
    Object.entries(section).map(([key, value]) => [
      key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      value,
    ]),
  ) as Camelized<T>;
}

const optional = <T extends object>(section: T | undefined) =>
  section === undefined ? undefined : camelized(section);

/** The options every part of the daemon reads: the file's values, as camelCase. */
export const ConfigSchema = FileSchema.transform((file) => ({
  component: camelized(file.component),
  database: camelized(file.database),
  reconnect: camelized(file.reconnect),
  log: file.log,
  shutdownTimeoutMs: file.shutdown_timeout_ms,
  presence: camelized(file.presence),
  neerc: optional(file.neerc),
  olpc: optional(file.olpc),
  roompool: optional(file.roompool),
  commands: optional(file.commands),
  ha: optional(file.ha),
  http: optional(file.http),
  webchat: optional(file.webchat),
}));

export type Config = z.output<typeof ConfigSchema>;
export type NeercOptions = NonNullable<Config["neerc"]>;
export type OlpcOptions = NonNullable<Config["olpc"]>;
export type RoomPoolOptions = NonNullable<Config["roompool"]>;
export type WebchatOptions = NonNullable<Config["webchat"]>;
export type HttpOptions = NonNullable<Config["http"]>;
export type HaOptions = NonNullable<Config["ha"]>;
export type CommandsOptions = NonNullable<Config["commands"]>;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export const ENV_PREFIX = "CONCIERGE_";

/**
 * Environment overrides: CONCIERGE_<SECTION>__<KEY> (double underscore between levels), e.g.
 * CONCIERGE_COMPONENT__SECRET. DATABASE_URL is honoured too, below CONCIERGE_DATABASE__URL.
 */
export function environmentOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  if (env.DATABASE_URL) setPath(overrides, ["database", "url"], env.DATABASE_URL);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === `${ENV_PREFIX}CONFIG` || value === undefined) {
      continue;
    }
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split("__");
    setPath(overrides, path, value);
  }
  return overrides;
}

/** Validates a parsed config document merged with the environment. */
export function parseConfig(document: unknown, env: NodeJS.ProcessEnv, source: string): Config {
  return ConfigSchema.parse(parseConfigFile(document, env, source));
}

/** The same, in the file's own form (snake_case, defaults filled in), e.g. to show it. */
export function parseConfigFile(
  document: unknown,
  env: NodeJS.ProcessEnv,
  source: string,
): ConfigFile {
  if (document !== null && document !== undefined && !isPlainObject(document)) {
    throw new ConfigError(source, ["the file must hold a mapping of keys to values"]);
  }
  // The required sections start empty so that the error names each missing key inside them.
  const merged = deepMerge({ component: {}, database: {} }, document ?? {});
  const withEnv = deepMerge(merged, environmentOverrides(env));
  const result = FileSchema.safeParse(withEnv, { reportInput: true });
  if (result.success) return result.data;
  const fromEnv = environmentNames(env);
  throw new ConfigError(
    source,
    result.error.issues.map((issue) => describeIssue(issue, fromEnv)),
  );
}

/** Reads the file named by --config or CONCIERGE_CONFIG (if any) and the environment. */
export async function loadConfig(
  path: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Config> {
  return ConfigSchema.parse(await loadConfigFile(path, env));
}

export async function loadConfigFile(
  path: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<ConfigFile> {
  const file = path ?? env.CONCIERGE_CONFIG;
  if (!file) return parseConfigFile({}, env, "environment only: no --config or CONCIERGE_CONFIG");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ConfigError(file, [`cannot read the file: ${(error as Error).message}`]);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(file, [`not valid YAML: ${(error as Error).message}`]);
  }
  return parseConfigFile(document, env, file);
}

/** The configuration as it may be shown: secrets and URL passwords masked. */
export function redactConfig(config: ConfigFile): ConfigFile {
  return {
    ...config,
    component: { ...config.component, secret: "[redacted]" },
    database: { ...config.database, url: redactUrl(config.database.url) },
    ...(config.roompool ? { roompool: { ...config.roompool, password: "[redacted]" } } : {}),
    ...(config.webchat
      ? {
          webchat: { ...config.webchat, api_keys: config.webchat.api_keys.map(() => "[redacted]") },
        }
      : {}),
  };
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "redacted";
    return parsed.toString();
  } catch {
    return "[unparseable url]";
  }
}

/** Which environment variable set which dotted key, to name it in errors about that key. */
function environmentNames(env: NodeJS.ProcessEnv): Map<string, string> {
  const names = new Map<string, string>();
  if (env.DATABASE_URL) names.set("database.url", "DATABASE_URL");
  for (const name of Object.keys(env)) {
    if (name.startsWith(ENV_PREFIX) && name !== `${ENV_PREFIX}CONFIG`) {
      names.set(name.slice(ENV_PREFIX.length).toLowerCase().split("__").join("."), name);
    }
  }
  return names;
}

function describeIssue(issue: z.core.$ZodIssue, fromEnv: Map<string, string>): string {
  const key = issue.path.join(".") || "(top level)";
  if (issue.code === "unrecognized_keys") {
    const prefix = issue.path.length ? `${key}.` : "";
    return issue.keys
      .map((k) => {
        const variable = fromEnv.get(`${prefix}${k}`);
        return variable
          ? `${variable} (environment): not a configuration key; levels are joined by two underscores, e.g. CONCIERGE_COMPONENT__SECRET`
          : `${prefix}${k}: unknown key`;
      })
      .join("; ");
  }
  if (issue.code === "invalid_type" && issue.input === undefined) {
    const env = `${ENV_PREFIX}${issue.path.map(String).join("__").toUpperCase()}`;
    return `${key}: required (set it in the config file or ${env})`;
  }
  // A bad value from the environment is named by its variable: the file may say something else.
  const variable = fromEnv.get(key);
  if (variable) return `${variable} (environment, for ${key}): ${issue.message}`;
  return `${key}: ${issue.message}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let cursor = target;
  for (const key of path.slice(0, -1)) {
    const next = cursor[key];
    cursor = cursor[key] = isPlainObject(next) ? next : {};
  }
  cursor[path[path.length - 1] ?? ""] = value;
}

function deepMerge(base: unknown, overrides: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    merged[key] = isPlainObject(value) ? deepMerge(merged[key], value) : value;
  }
  return merged;
}
