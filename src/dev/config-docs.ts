import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { format } from "prettier";
import type { z } from "zod";
import { FileSchema } from "../config.js";
import { projectRoot } from "../paths.js";

/**
 * The README's configuration table, made from the schema (every key and its default) and the
 * one-line meanings below; `npm run docs:config` writes it, and a unit test fails when the
 * README, the meanings, the schema or config/concierge.example.yaml disagree.
 */
export const MEANINGS: Record<string, string> = {
  "component.jid": "the component's domain, as declared on the server",
  "component.host": "the server's component listener",
  "component.port": "its port",
  "component.secret": "the shared secret (Prosody `component_secret`, ejabberd `password`)",
  "component.name": "the name in the disco#info identity",
  "component.max_stanza_bytes": "the largest stanza sent (Prosody closes the stream over 512 KiB)",
  "database.url": "`postgres://…`; or `DATABASE_URL`",
  "database.pool_size": "connections in the pool",
  "database.migrate_on_start": "`start` applies pending migrations (`--no-migrate` turns it off)",
  "database.connect_timeout_ms": "the bound on opening a connection",
  "database.query_timeout_ms": "the bound on one statement",
  "database.max_retry_delay_ms": "the longest wait between checks while the database is down",
  "reconnect.initial_delay_ms": "first retry delay (XMPP server and database)",
  "reconnect.max_delay_ms": "the cap of the exponential backoff",
  "reconnect.login_timeout_ms": "the bound on connecting and logging in",
  "log.level": "`trace` also logs the raw XML stream (credentials masked)",
  shutdown_timeout_ms: "the bound on a clean stop",
  "presence.liveness_interval_ms": "how often devices are pinged (0: never)",
  "presence.liveness_timeout_ms": "a device that does not answer a ping in this time is gone",
  "presence.in_call_timeout_ms": "a heartbeat keeps a participant in a call this long",
  "neerc.enabled": "the NEERC task board (the section is optional)",
  "neerc.muc_service": "the MUC service whose rooms give the users",
  "neerc.default_room": "the room served at the bare component JID",
  "neerc.refresh_interval_ms": "how often room members are re-read",
  "neerc.groups": "group names for members, by user name",
  "neerc.max_tasks": "the most tasks one room may hold",
  "olpc.enabled": "the OLPC activity and buddy index (the section is optional)",
  "olpc.max_properties": "most properties in one `<properties/>`",
  "olpc.max_value_bytes": "longest property value",
  "olpc.max_view_size": "largest view (Gabble's `size`); also a view's size when it gives none",
  "olpc.max_page_size": "largest RSM page",
  "roompool.enabled": "the room pool (the section is optional)",
  "roompool.service": "where the bot logs in",
  "roompool.jid": "the bot's account",
  "roompool.password": "its password",
  "roompool.resource": "the bot's resource",
  "roompool.nickname": "the bot's nickname in the rooms",
  "roompool.muc_service": "where the rooms are made",
  "roompool.min_available": "empty rooms kept ready",
  "roompool.max_rooms": "rooms open at most",
  "roompool.max_occupants": "occupant limit, where the server's form offers one",
  "roompool.history_length": "history a (re)joining participant gets",
  "roompool.persistent": "persistent rooms (they survive the bot's absence)",
  "roompool.claim_timeout_ms": "a claim whose person does not arrive is released",
  "roompool.maintenance_interval_ms": "how often claim timeouts are checked and the pool refilled",
  "roompool.create_concurrency": "rooms created (or rejoined) at once",
  "commands.enabled": "admin commands (XEP-0050) at the component JID (the section is optional)",
  "commands.admins": "who may run them (bare JIDs); everyone else gets `forbidden`",
  "commands.max_sessions": "command sessions open at once (a multi-step command is one)",
  "commands.session_timeout_ms": "a command session unused for this long is dropped",
  "ha.enabled": "active/standby through a lease in PostgreSQL (the section is optional)",
  "ha.name": "the lease: instances with the same name share it (one acts)",
  "ha.lease_ms": "a lease not renewed for this long is taken over",
  "ha.renew_ms": "how often the leader renews and a standby asks",
  "http.host": "where the HTTP service listens (health, metrics, web chat; optional section)",
  "http.port": "its port (0: any free port)",
  "http.allowed_origins": "pages that may call the endpoints (CORS)",
  "http.trust_proxy": "take the client's address from `X-Forwarded-For`",
  "http.max_body_bytes": "the largest request body (413 above)",
  "webchat.enabled": "the browser chat bridge (the section is optional; needs `http`)",
  "webchat.api_keys": "the web application's keys for `POST /nereid-chat/token`",
  "webchat.token_lifetime_s": "token lifetime (a request may ask for less)",
  "webchat.grace_period_ms": "a browser's occupant stays this long after its last stream",
  "webchat.keepalive_ms": "keep-alive comment interval on streams",
  "webchat.retry_ms": "the SSE `retry:` value",
  "webchat.poll_max_wait_s": "the longest wait a long poll may ask for",
  "webchat.max_text_chars": "a message's text at most",
  "webchat.max_streams_per_token": "open streams and polls per token",
  "webchat.max_streams_per_address": "… per client address",
  "webchat.max_streams": "… in all",
  "webchat.max_backlog_bytes": "a stream with more unsent output is cut off (it resumes)",
  "webchat.token_requests_per_minute": "token requests per API key",
  "webchat.requests_per_minute": "requests per client address",
  "webchat.messages_per_minute": "requests per token",
  "webchat.sweep_interval_ms": "how often expired tokens are deleted",
};

export interface KeyDoc {
  key: string;
  required: boolean;
  /** The default as written in YAML, if there is one. */
  default: unknown;
}

type Schema = z.core.$ZodType;
const defOf = (schema: Schema) =>
  schema._zod.def as unknown as {
    type: string;
    innerType?: Schema;
    shape?: Record<string, Schema>;
    defaultValue?: unknown;
  };

/** A section's object schema under its optional/default wrappers, if it is a section. */
function sectionShape(schema: Schema): Record<string, Schema> | undefined {
  const def = defOf(schema);
  if (def.type === "object") return def.shape;
  if (["optional", "prefault", "default"].includes(def.type) && def.innerType) {
    return sectionShape(def.innerType);
  }
  return undefined;
}

function keyDoc(key: string, schema: Schema): KeyDoc {
  const def = defOf(schema);
  return def.type === "default"
    ? { key, required: false, default: def.defaultValue }
    : { key, required: def.type !== "optional", default: undefined };
}

/** Every key of the file format, in the schema's order. */
export function configKeys(): KeyDoc[] {
  const keys: KeyDoc[] = [];
  for (const [section, schema] of Object.entries(defOf(FileSchema).shape ?? {})) {
    const shape = sectionShape(schema);
    if (!shape) keys.push(keyDoc(section, schema));
    else
      for (const [key, value] of Object.entries(shape))
        keys.push(keyDoc(`${section}.${key}`, value));
  }
  return keys;
}

function defaultCell(doc: KeyDoc): string {
  if (doc.required) return "(required)";
  const value = doc.default;
  if (value === undefined) return "none";
  if (Array.isArray(value) && value.length === 0) return "none";
  if (typeof value === "object" && value !== null && Object.keys(value).length === 0) return "none";
  return `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;
}

/** The table as prettier formats it in the README. */
export async function configTable(): Promise<string> {
  const rows = configKeys().map((doc) => {
    const meaning = MEANINGS[doc.key];
    if (meaning === undefined) throw new Error(`no meaning for ${doc.key} in ${import.meta.url}`);
    return `| \`${doc.key}\` | ${defaultCell(doc)} | ${meaning} |`;
  });
  const table = ["| key | default | meaning |", "| --- | --- | --- |", ...rows].join("\n");
  return (await format(table, { parser: "markdown", proseWrap: "preserve" })).trimEnd();
}

export const README = join(projectRoot, "README.md");
const START = "<!-- config-table: generated by `npm run docs:config` from src/config.ts -->";
const END = "<!-- config-table end -->";

/** The README's table between its markers. */
export function readmeTable(readme: string): string | undefined {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + START.length, end).trim();
}

async function writeReadmeTable(): Promise<void> {
  const readme = await readFile(README, "utf8");
  if (readmeTable(readme) === undefined) throw new Error(`README.md lacks the markers ${START}`);
  const start = readme.indexOf(START) + START.length;
  const end = readme.indexOf(END);
  await writeFile(
    README,
    `${readme.slice(0, start)}\n\n${await configTable()}\n\n${readme.slice(end)}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await writeReadmeTable();
