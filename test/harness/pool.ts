import assert from "node:assert/strict";
import type { Element } from "@xmpp/xml";
import pg from "pg";
import { TestClient, xml } from "./client.js";
import type { DaemonOptions } from "./daemon.js";
import { eventually } from "./eventually.js";
import type { Stack } from "./stack.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";

export const account = (name: string) => ({ username: name, password: `pw-${name}` });

/** The room-pool section of a test daemon's config, with fast timers. */
export function poolConfig(stack: Stack, overrides: Record<string, unknown> = {}) {
  return {
    service: stack.prosody.service,
    jid: "bot@localhost",
    password: "pw-bot",
    muc_service: stack.prosody.mucDomain,
    min_available: 3,
    max_rooms: 10,
    history_length: 0,
    claim_timeout_ms: 1_500,
    maintenance_interval_ms: 200,
    ...overrides,
  };
}

export function poolDaemon(stack: Stack, name: string, more: DaemonOptions = {}): DaemonOptions {
  return { name, logLevel: "info", ...more, extra: { roompool: poolConfig(stack), ...more.extra } };
}

export interface Room {
  jid: string;
  password: string;
}

export interface RoomEvent {
  from_status: string | null;
  to_status: string;
  cause: string;
  at: Date;
}

/**
 * The web application's side of the pool (its SQL contract) and the people in the rooms (real
 * XMPP clients), for the pool's integration tests.
 */
export class PoolWorld {
  readonly clients = new Map<string, TestClient>();

  constructor(
    readonly stack: Stack,
    readonly db: pg.Pool,
  ) {}

  static async open(stack: Stack, people: string[], url = stack.db.url): Promise<PoolWorld> {
    const db = new pg.Pool({ connectionString: url });
    // An idle connection the server ends (a forced drop, a terminated backend) is no test's
    // failure: without a listener, pg's pool would throw it into the test process.
    db.on("error", () => undefined);
    const world = new PoolWorld(stack, db);
    for (const name of people)
      world.clients.set(name, await TestClient.connect(stack, account(name)));
    return world;
  }

  person(name: string): TestClient {
    const client = this.clients.get(name);
    assert.ok(client, `no test client ${name}`);
    return client;
  }

  async close(): Promise<void> {
    for (const client of this.clients.values()) await client.stop();
    await this.db.end();
  }

  async statusOf(jid: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ status: string }>(
      "SELECT status FROM roompool_rooms WHERE jid = $1",
      [jid],
    );
    return rows[0]?.status;
  }

  waitStatus(jid: string, status: string, timeoutMs?: number): Promise<string | undefined> {
    return eventually(
      () => this.statusOf(jid),
      (s) => s === status,
      `${jid} → ${status}`,
      timeoutMs,
    );
  }

  async availableCount(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM roompool_rooms WHERE status = 'available'",
    );
    return rows[0]!.n;
  }

  async events(jid: string): Promise<RoomEvent[]> {
    const { rows } = await this.db.query<RoomEvent>(
      "SELECT from_status, to_status, cause, at FROM roompool_events WHERE room_jid = $1 ORDER BY id",
      [jid],
    );
    return rows;
  }

  /** Calls the web application's claim function once; undefined if no room was free. */
  async tryClaim(who: "staff" | "client", id: string): Promise<Room | undefined> {
    const { rows } = await this.db.query<{ room_jid: string; room_password: string }>(
      `SELECT * FROM roompool_claim_${who}($1, $2)`,
      [id, id],
    );
    return rows[0] && { jid: rows[0].room_jid, password: rows[0].room_password };
  }

  /** Claims a room as the web application would, asking again until one is free. */
  async claim(who: "staff" | "client", id: string): Promise<Room> {
    let room: Room | undefined;
    await eventually(
      async () => (room = await this.tryClaim(who, id)),
      (claimed) => claimed !== undefined,
      `a room for ${who} ${id}`,
    );
    return room!;
  }

  /** Joins a room; resolves with the self-presence or the error presence the room answers with. */
  async join(name: string, room: string, password?: string): Promise<Element> {
    const client = this.person(name);
    const x = xml("x", { xmlns: NS_MUC });
    if (password !== undefined) x.append(xml("password", {}, password));
    const to = `${room}/${name}`;
    client.received.length = 0;
    await client.xmpp.send(xml("presence", { to }, x));
    return client.waitFor(
      (s) =>
        s.name === "presence" &&
        s.attrs.from === to &&
        (s.attrs.type === "error" ||
          (s.getChild("x", NS_MUC_USER)?.getChildren("status") ?? []).some(
            (st) => st.attrs.code === "110",
          )),
    );
  }

  async leave(name: string, room: string): Promise<void> {
    await this.person(name).xmpp.send(
      xml("presence", { to: `${room}/${name}`, type: "unavailable" }),
    );
  }

  /** A staff member in a room of their own (staff_waiting). */
  async staffWaiting(staff: string): Promise<Room> {
    const room = await this.claim("staff", `s-${staff}-${Date.now()}`);
    await this.join(staff, room.jid, room.password);
    await this.waitStatus(room.jid, "staff_waiting");
    return room;
  }

  /** A staff member and a client in a chat (chatting). */
  async chat(staff: string, client: string): Promise<Room> {
    const room = await this.staffWaiting(staff);
    const claimed = await this.claim("client", `c-${client}-${Date.now()}`);
    assert.equal(claimed.jid, room.jid, "the client goes to the staff member who waited longest");
    await this.join(client, room.jid, room.password);
    await this.waitStatus(room.jid, "chatting");
    return room;
  }
}
