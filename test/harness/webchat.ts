import { request as httpRequest, type IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type pg from "pg";
import { NS_MUC, NS_MUC_USER } from "../../src/xmpp/namespaces.js";
import { xml, type TestClient } from "./client.js";
import { Daemon } from "./daemon.js";
import { eventually } from "./eventually.js";
import type { Stack } from "./stack.js";

export const API_KEY = "test-api-key-0123456789abcdef";
export const ORIGIN = "http://chat.example.test";

/** The http section's keys; the rest of an override is the webchat section's. */
const HTTP_KEYS = new Set(["host", "port", "allowed_origins", "trust_proxy", "max_body_bytes"]);

/**
 * The room pool and the web chat, with test-sized settings; `webchat` overrides their keys (the
 * http section's among them).
 */
export function webchatConfig(stack: Stack, webchat: Record<string, unknown> = {}) {
  const overrides = Object.entries(webchat);
  const http = Object.fromEntries(overrides.filter(([key]) => HTTP_KEYS.has(key)));
  const chat = Object.fromEntries(overrides.filter(([key]) => !HTTP_KEYS.has(key)));
  return {
    roompool: {
      service: stack.prosody.service,
      jid: "bot@localhost",
      password: "pw-bot",
      muc_service: stack.prosody.mucDomain,
      min_available: 3,
      max_rooms: 20,
      history_length: 20,
      claim_timeout_ms: 60_000,
      maintenance_interval_ms: 200,
    },
    http: { host: "127.0.0.1", port: 0, allowed_origins: [ORIGIN], ...http },
    webchat: {
      api_keys: [API_KEY],
      grace_period_ms: 1_500,
      keepalive_ms: 15_000,
      ...chat,
    },
  };
}

/** The daemon with the web chat; resolves once it listens and the pool is ready. */
export async function startWebchatDaemon(
  stack: Stack,
  name: string,
  webchat: Record<string, unknown> = {},
  options: { databaseUrl?: string; componentPort?: number; logLevel?: string } = {},
): Promise<{ daemon: Daemon; base: string }> {
  const daemon = await Daemon.start(stack, {
    name,
    logLevel: options.logLevel ?? "debug",
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    ...(options.componentPort ? { componentPort: options.componentPort } : {}),
    extra: webchatConfig(stack, webchat),
  });
  const line = await daemon.waitForLog((l) => l.msg === "http listening", 30_000);
  return { daemon, base: `http://127.0.0.1:${String(line.port)}` };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
}

/** One HTTP request; the body as JSON where it is JSON. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: {
    body?: unknown;
    form?: Record<string, string>;
    headers?: Record<string, string>;
    raw?: string;
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | undefined;
  if (options.raw !== undefined) payload = options.raw;
  else if (options.form) {
    payload = new URLSearchParams(options.form).toString();
    headers["content-type"] ??= "application/x-www-form-urlencoded";
  } else if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(payload === undefined ? {} : { body: payload }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, headers: Object.fromEntries(response.headers), body, text };
}

export interface TokenAnswer {
  token: string;
  thread: string;
  room: string;
  session: number;
  expires_at: string;
}

export async function mintToken(base: string, body: Record<string, unknown>): Promise<TokenAnswer> {
  const reply = await call(base, "POST", "/nereid-chat/token", {
    body,
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  if (reply.status !== 200) throw new Error(`token: ${reply.status} ${reply.text}`);
  return reply.body as TokenAnswer;
}

export interface SseEvent {
  id: number | undefined;
  data: Record<string, unknown>;
}

/** Parses an event stream as it arrives: `id:`/`data:` blocks, comments and `retry:` noted. */
export class SseParser {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  #buffer = "";

  push(chunk: string): void {
    this.#buffer += chunk;
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end < 0) return;
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let id: number | undefined;
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) this.comments.push(line.slice(1).trim());
        else if (line.startsWith("id: ")) id = Number(line.slice(4));
        else if (line.startsWith("data: ")) data.push(line.slice(6));
        else if (line.startsWith("retry: ")) this.retry = Number(line.slice(7));
      }
      if (data.length)
        this.events.push({ id, data: JSON.parse(data.join("\n")) as Record<string, unknown> });
    }
  }
}

/** An open SSE stream read with node:http (HTTP/1.1). */
export class SseClient {
  readonly parser = new SseParser();
  response: IncomingMessage | undefined;
  ended = false;
  readonly #closed: Promise<void>;
  #done!: () => void;
  #request: ReturnType<typeof httpRequest> | undefined;

  private constructor() {
    this.#closed = new Promise((resolve) => (this.#done = resolve));
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    return new Promise((resolve, reject) => {
      const request = httpRequest(url, { headers }, (response) => {
        client.response = response;
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => client.parser.push(chunk));
        response.on("end", () => client.#end());
        response.on("close", () => client.#end());
        resolve(client);
      });
      client.#request = request;
      request.on("error", (error) => {
        client.#end();
        reject(error);
      });
      request.end();
    });
  }

  get events(): SseEvent[] {
    return this.parser.events;
  }

  get lastId(): number {
    return this.events.reduce((last, event) => Math.max(last, event.id ?? 0), 0);
  }

  /** Waits until an event matches (seen before or after the call). */
  async waitFor(
    predicate: (event: SseEvent) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no ${what} in the stream: ${JSON.stringify(this.events)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  closed(): Promise<void> {
    return this.#closed;
  }

  close(): void {
    this.#request?.destroy();
    this.#end();
  }

  #end(): void {
    this.ended = true;
    this.#done();
  }
}

/** Texts of the message events, in order. */
export function texts(events: readonly SseEvent[]): string[] {
  return events
    .filter((event) => event.data.type === "message")
    .map((event) => (event.data.message as { text: string }).text);
}

/** A raw socket request: the whole response as text once the server closes the connection. */
export function rawRequest(
  port: number,
  lines: string[],
  until?: (text: string) => boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: "127.0.0.1" });
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (until?.(text)) socket.destroy();
    });
    socket.on("close", () => resolve(text));
    socket.on("error", reject);
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  });
}

/** Waits until the pool has at least `count` rooms ready. */
export async function roomsReady(db: pg.Pool, count: number): Promise<void> {
  await eventually(
    async () =>
      (await db.query("SELECT 1 FROM roompool_rooms WHERE status = 'available'")).rowCount ?? 0,
    (n) => n >= count,
    `${count} rooms ready`,
  );
}

/**
 * A staff member claims a room (the web application's SQL) and enters it with its password, as
 * an XMPP client does; resolves with the room once the pool records them waiting.
 */
export async function staffEnters(
  db: pg.Pool,
  client: TestClient,
  nick: string,
  timeoutMs = 10_000,
): Promise<string> {
  const { rows } = await db.query<{ room_jid: string; room_password: string }>(
    "SELECT * FROM roompool_claim_staff($1, $1)",
    [nick],
  );
  const room = rows[0]!.room_jid;
  const to = `${room}/${nick}`;
  await client.xmpp.send(
    xml(
      "presence",
      { to },
      xml("x", { xmlns: NS_MUC }, xml("password", {}, rows[0]!.room_password)),
    ),
  );
  await client.waitFor(
    (s) =>
      s.attrs.from === to &&
      (s.getChild("x", NS_MUC_USER)?.getChildren("status") ?? []).some(
        (c) => c.attrs.code === "110",
      ),
  );
  await eventually(
    async () =>
      (
        await db.query<{ status: string }>("SELECT status FROM roompool_rooms WHERE jid = $1", [
          room,
        ])
      ).rows[0]?.status,
    (status) => status === "staff_waiting",
    `${nick} waiting in ${room}`,
    timeoutMs,
  );
  return room;
}
