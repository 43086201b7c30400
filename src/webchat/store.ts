import type pg from "pg";
import type { Database } from "../db/database.js";
import type { StreamStanza } from "./protocol.js";

export type Role = "client" | "staff";

export interface Session {
  id: number;
  personId: string;
  displayName: string;
  role: Role;
  room: string;
  nick: string | undefined;
  thread: string;
  contacts: string[];
}

export interface StoredEvent {
  seq: number;
  /** The stanza as JSON text, exactly as it was stored. */
  json: string;
}

/** A pool room as the web application's contract shows it (migrations/002_roompool.sql). */
export interface PoolRoom {
  jid: string;
  password: string;
  status: string;
  staffId: string | null;
  clientId: string | null;
}

interface SessionRow {
  id: string;
  person_id: string;
  display_name: string;
  role: Role;
  room_jid: string;
  nick: string | null;
  thread: string;
  contacts: string[];
}

const SESSION =
  "s.id, s.person_id, s.display_name, s.role, s.room_jid, s.nick, s.thread, s.contacts";

function session(row: SessionRow): Session {
  return {
    id: Number(row.id),
    personId: row.person_id,
    displayName: row.display_name,
    role: row.role,
    room: row.room_jid,
    nick: row.nick ?? undefined,
    thread: row.thread,
    contacts: row.contacts,
  };
}

type Query = Pick<pg.ClientBase, "query">;

/** The bridge's tables (migrations/006_webchat.sql), and what it reads of the pool's. */
export class WebchatStore {
  constructor(private readonly db: Database) {}

  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /** The open session a valid token gives, or undefined (unknown, expired, revoked, ended). */
  async sessionByToken(hash: Buffer): Promise<{ session: Session; expiresAt: Date } | undefined> {
    const { rows } = await this.db.query<SessionRow & { expires_at: Date }>(
      `SELECT ${SESSION}, t.expires_at FROM webchat_tokens t
       JOIN webchat_sessions s ON s.id = t.session_id
       WHERE t.hash = $1 AND t.revoked_at IS NULL AND t.expires_at > clock_timestamp()
         AND s.ended_at IS NULL`,
      [hash],
    );
    const row = rows[0];
    return row && { session: session(row), expiresAt: row.expires_at };
  }

  async openSessions(): Promise<Session[]> {
    const { rows } = await this.db.query<SessionRow>(
      `SELECT ${SESSION} FROM webchat_sessions s WHERE s.ended_at IS NULL ORDER BY s.id`,
    );
    return rows.map(session);
  }

  async openSession(id: number): Promise<Session | undefined> {
    const { rows } = await this.db.query<SessionRow>(
      `SELECT ${SESSION} FROM webchat_sessions s WHERE s.id = $1 AND s.ended_at IS NULL`,
      [id],
    );
    return rows[0] && session(rows[0]);
  }

  // ---- in the token transaction ----

  /** The person's open session in `room` (any room when undefined), locked for the caller. */
  async findOpen(q: Query, personId: string, role: Role, room?: string) {
    const { rows } = await q.query<SessionRow>(
      `SELECT ${SESSION} FROM webchat_sessions s
       WHERE s.person_id = $1 AND s.role = $2 AND s.ended_at IS NULL
         AND ($3::text IS NULL OR s.room_jid = $3)
       ORDER BY s.id DESC LIMIT 1 FOR UPDATE`,
      [personId, role, room ?? null],
    );
    return rows[0] && session(rows[0]);
  }

  async poolRoom(q: Query, jid: string): Promise<PoolRoom | undefined> {
    const { rows } = await q.query<{
      jid: string;
      password: string;
      status: string;
      staff_id: string | null;
      client_id: string | null;
    }>("SELECT jid, password, status, staff_id, client_id FROM roompool_rooms WHERE jid = $1", [
      jid,
    ]);
    const row = rows[0];
    return (
      row && {
        jid: row.jid,
        password: row.password,
        status: row.status,
        staffId: row.staff_id,
        clientId: row.client_id,
      }
    );
  }

  /** The pool's own claim functions: a room for the person, or undefined if none is free. */
  async claim(q: Query, role: Role, personId: string, nick: string): Promise<string | undefined> {
    const { rows } = await q.query<{ room_jid: string }>(
      `SELECT room_jid FROM roompool_claim_${role === "staff" ? "staff" : "client"}($1, $2)`,
      [personId, nick],
    );
    return rows[0]?.room_jid;
  }

  async createSession(q: Query, fields: Omit<Session, "id" | "nick">): Promise<Session> {
    const { rows } = await q.query<SessionRow>(
      `INSERT INTO webchat_sessions AS s (person_id, display_name, role, room_jid, thread, contacts)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${SESSION}`,
      [
        fields.personId,
        fields.displayName,
        fields.role,
        fields.room,
        fields.thread,
        fields.contacts,
      ],
    );
    return session(rows[0]!);
  }

  /** A continued session keeps its thread; the new token's contacts replace the old ones. */
  async setContacts(q: Query, id: number, contacts: string[]): Promise<void> {
    await q.query("UPDATE webchat_sessions SET contacts = $2 WHERE id = $1", [id, contacts]);
  }

  async insertToken(q: Query, hash: Buffer, sessionId: number, lifetimeS: number) {
    const { rows } = await q.query<{ expires_at: Date }>(
      `INSERT INTO webchat_tokens (hash, session_id, expires_at)
       VALUES ($1, $2, clock_timestamp() + $3 * interval '1 second') RETURNING expires_at`,
      [hash, sessionId, lifetimeS],
    );
    return rows[0]!.expires_at;
  }

  // ---- sessions ----

  async roomPassword(room: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ password: string }>(
      "SELECT password FROM roompool_rooms WHERE jid = $1 AND status <> 'closed'",
      [room],
    );
    return rows[0]?.password;
  }

  async setNick(id: number, nick: string): Promise<void> {
    await this.db.query("UPDATE webchat_sessions SET nick = $2 WHERE id = $1", [id, nick]);
  }

  /** Ends the session and revokes its tokens. */
  async endSession(id: number, reason: string): Promise<void> {
    await this.db.transaction(async (client) => {
      await client.query(
        `UPDATE webchat_sessions SET ended_at = clock_timestamp(), end_reason = $2
         WHERE id = $1 AND ended_at IS NULL`,
        [id, reason],
      );
      await client.query(
        `UPDATE webchat_tokens SET revoked_at = clock_timestamp()
         WHERE session_id = $1 AND revoked_at IS NULL`,
        [id],
      );
    });
  }

  /** Revokes one token; the session of a revoked token, if it was valid. */
  async revokeToken(hash: Buffer): Promise<number | undefined> {
    const { rows } = await this.db.query<{ session_id: string }>(
      `UPDATE webchat_tokens SET revoked_at = clock_timestamp()
       WHERE hash = $1 AND revoked_at IS NULL AND expires_at > clock_timestamp()
       RETURNING session_id`,
      [hash],
    );
    return rows[0] ? Number(rows[0].session_id) : undefined;
  }

  /** Deletes tokens that expired or were revoked; returns how many. */
  async sweepTokens(): Promise<number> {
    const { rowCount } = await this.db.query(
      `DELETE FROM webchat_tokens WHERE expires_at <= clock_timestamp() OR revoked_at IS NOT NULL`,
    );
    return rowCount ?? 0;
  }

  /** Who `nick` is in `room`, as the bridge's sessions and the pool's claims know it. */
  async personInRoom(
    room: string,
    nick: string,
  ): Promise<{ id: string; name: string } | undefined> {
    const { rows } = await this.db.query<{ id: string | null; name: string | null }>(
      `SELECT person_id AS id, display_name AS name FROM webchat_sessions
         WHERE room_jid = $1 AND nick = $2 AND ended_at IS NULL
       UNION ALL
       SELECT staff_id, staff_nick FROM roompool_rooms WHERE jid = $1 AND staff_occupant = $2
       UNION ALL
       SELECT client_id, client_nick FROM roompool_rooms WHERE jid = $1 AND client_occupant = $2
       LIMIT 1`,
      [room, nick],
    );
    const row = rows[0];
    return row?.id ? { id: row.id, name: row.name ?? nick } : undefined;
  }

  // ---- the event log ----

  /** Appends an event: its sequence number is the session's next. */
  async append(sessionId: number, stanza: StreamStanza, origin?: string): Promise<StoredEvent> {
    const json = JSON.stringify(stanza);
    const { rows } = await this.db.query<{ seq: string }>(
      `WITH next AS (
         UPDATE webchat_sessions SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq
       )
       INSERT INTO webchat_events (session_id, seq, stanza, origin)
       SELECT $1, last_seq, $2::json, $3 FROM next RETURNING seq`,
      [sessionId, json, origin ?? null],
    );
    if (!rows[0]) throw new Error(`no session ${sessionId}`);
    return { seq: Number(rows[0].seq), json };
  }

  async eventsAfter(sessionId: number, after: number, limit: number): Promise<StoredEvent[]> {
    const { rows } = await this.db.query<{ seq: string; json: string }>(
      `SELECT seq, stanza::text AS json FROM webchat_events
       WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [sessionId, after, limit],
    );
    return rows.map((row) => ({ seq: Number(row.seq), json: row.json }));
  }

  async lastSeq(sessionId: number): Promise<number> {
    const { rows } = await this.db.query<{ last_seq: string }>(
      "SELECT last_seq FROM webchat_sessions WHERE id = $1",
      [sessionId],
    );
    return Number(rows[0]?.last_seq ?? 0);
  }

  /** When the session last logged a message from its room (to ask the room for what came since). */
  async lastRoomMessageAt(sessionId: number): Promise<Date | undefined> {
    const { rows } = await this.db.query<{ at: Date | null }>(
      "SELECT max(at) AS at FROM webchat_events WHERE session_id = $1 AND origin LIKE 'room %'",
      [sessionId],
    );
    return rows[0]?.at ?? undefined;
  }

  /** The latest presence item per entity the session's stream has shown (as JSON text). */
  async lastPresence(sessionId: number): Promise<Map<string, string>> {
    const { rows } = await this.db.query<{ entity: string; item: string }>(
      `SELECT DISTINCT ON (entity) entity, item FROM (
         SELECT seq, stanza->'presence'->0->>'entity' AS entity, (stanza->'presence'->0)::text AS item
         FROM webchat_events WHERE session_id = $1 AND stanza->>'type' = 'presence'
       ) p ORDER BY entity, seq DESC`,
      [sessionId],
    );
    return new Map(rows.map((row) => [row.entity, row.item]));
  }

  async hasOrigin(sessionId: number, origin: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      "SELECT 1 FROM webchat_events WHERE session_id = $1 AND origin = $2 LIMIT 1",
      [sessionId, origin],
    );
    return (rowCount ?? 0) > 0;
  }

  // ---- what the browser sent ----

  /** Records a message id; false if it was sent before. */
  async markSent(sessionId: number, messageId: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO webchat_sent (session_id, message_id) VALUES ($1, $2)
       ON CONFLICT DO NOTHING`,
      [sessionId, messageId],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Forgets a message id whose sending failed, so that the browser may try again. */
  async unmarkSent(sessionId: number, messageId: string): Promise<void> {
    await this.db.query("DELETE FROM webchat_sent WHERE session_id = $1 AND message_id = $2", [
      sessionId,
      messageId,
    ]);
  }

  // ---- one-to-one threads ----

  async threadWith(sessionId: number, peer: string, newThread: string): Promise<string> {
    const { rows } = await this.db.query<{ thread: string }>(
      `INSERT INTO webchat_threads (session_id, peer_jid, thread) VALUES ($1, $2, $3)
       ON CONFLICT (session_id, peer_jid) DO UPDATE SET peer_jid = EXCLUDED.peer_jid
       RETURNING thread`,
      [sessionId, peer, newThread],
    );
    return rows[0]!.thread;
  }

  async peerOfThread(sessionId: number, thread: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ peer_jid: string }>(
      "SELECT peer_jid FROM webchat_threads WHERE session_id = $1 AND thread = $2",
      [sessionId, thread],
    );
    return rows[0]?.peer_jid;
  }
}
