import type { Database } from "../db/database.js";
import type { RoomState, RoomStatus, Transition } from "./lifecycle.js";
import type { PoolControl, PoolCounts } from "./sizing.js";

export interface RoomRow {
  jid: string;
  password: string;
  status: RoomStatus;
  staff_occupant: string | null;
  client_occupant: string | null;
}

const ROW = "jid, password, status, staff_occupant, client_occupant";

function stateOf(row: RoomRow): RoomState {
  return {
    status: row.status,
    staff: row.staff_occupant ?? undefined,
    client: row.client_occupant ?? undefined,
  };
}

export interface WaitingStaff {
  room: string;
  staff_id: string | null;
  staff_nick: string | null;
  since: Date;
}

/** The rooms table as the bot uses it; the web application has its SQL functions instead. */
export class RoomStore {
  constructor(private readonly db: Database) {}

  /** Records a room that is configured and usable, as available. */
  async insert(jid: string, password: string): Promise<void> {
    await this.db.transaction(async (client) => {
      await client.query("SELECT set_config('concierge.cause', 'room created', true)");
      await client.query("INSERT INTO roompool_rooms (jid, password) VALUES ($1, $2)", [
        jid,
        password,
      ]);
    });
  }

  async openRooms(): Promise<RoomRow[]> {
    const { rows } = await this.db.query<RoomRow>(
      `SELECT ${ROW} FROM roompool_rooms WHERE status <> 'closed' ORDER BY created_at`,
    );
    return rows;
  }

  /** Records a room's in-call flag (kept by the participants' heartbeats); other JIDs: no-op. */
  async setInCall(jid: string, active: boolean): Promise<void> {
    await this.db.query(
      "UPDATE roompool_rooms SET in_call = $2 WHERE jid = $1 AND status <> 'closed'",
      [jid, active],
    );
  }

  /** What the pool needs to decide how many rooms to make, in one round trip. */
  async levels(): Promise<PoolCounts & { control: PoolControl }> {
    const { rows } = await this.db.query<{
      open: number;
      available: number;
      min_available: number | null;
      draining: boolean | null;
    }>(
      `SELECT count(*)::int AS open, count(*) FILTER (WHERE status = 'available')::int AS available,
         (SELECT min_available FROM roompool_control) AS min_available,
         (SELECT draining FROM roompool_control) AS draining
       FROM roompool_rooms WHERE status <> 'closed'`,
    );
    const row = rows[0];
    return {
      open: row?.open ?? 0,
      available: row?.available ?? 0,
      control: { minAvailable: row?.min_available ?? undefined, draining: row?.draining ?? false },
    };
  }

  async control(): Promise<PoolControl> {
    const { rows } = await this.db.query<{
      min_available: number | null;
      draining: boolean;
      changed_at: Date;
      changed_by: string | null;
    }>("SELECT min_available, draining, changed_at, changed_by FROM roompool_control");
    const row = rows[0];
    if (!row) return { minAvailable: undefined, draining: false };
    return {
      minAvailable: row.min_available ?? undefined,
      draining: row.draining,
      changedAt: row.changed_at,
      changedBy: row.changed_by ?? undefined,
    };
  }

  /** An admin's change: a target (null: back to the configuration) or draining on or off. */
  async setControl(
    change: { minAvailable?: number | null; draining?: boolean },
    by: string,
  ): Promise<void> {
    await this.db.query(
      `UPDATE roompool_control SET
         min_available = CASE WHEN $1 THEN $2::int ELSE min_available END,
         draining = coalesce($3::boolean, draining),
         changed_at = clock_timestamp(),
         changed_by = $4`,
      [change.minAvailable !== undefined, change.minAvailable ?? null, change.draining ?? null, by],
    );
  }

  /** Staff members waiting in their rooms for a client, longest first. */
  async waitingStaff(limit: number): Promise<WaitingStaff[]> {
    const { rows } = await this.db.query<WaitingStaff>(
      `SELECT jid AS room, staff_id, staff_nick, status_changed_at AS since
       FROM roompool_rooms WHERE status = 'staff_waiting'
       ORDER BY status_changed_at, jid LIMIT $1`,
      [limit],
    );
    return rows;
  }

  /** Open rooms by status (for the metrics). */
  async countsByStatus(): Promise<Array<[string, number]>> {
    const { rows } = await this.db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM roompool_rooms WHERE status <> 'closed' GROUP BY status`,
    );
    return rows.map((row) => [row.status, row.n]);
  }

  /** Rooms whose claim is older than `timeoutMs` while the person has not arrived. */
  async expiredClaims(timeoutMs: number): Promise<string[]> {
    const { rows } = await this.db.query<{ jid: string }>(
      `SELECT jid FROM roompool_rooms
       WHERE (status = 'staff_claimed' AND staff_claimed_at < clock_timestamp() - $1 * interval '1 millisecond')
          OR (status = 'client_claimed' AND client_claimed_at < clock_timestamp() - $1 * interval '1 millisecond')`,
      [timeoutMs],
    );
    return rows.map((row) => row.jid);
  }

  /**
   * Applies a lifecycle step to the room as the table has it now (row-locked, so a claim by the
   * web application cannot slip in between), and records what changed. `realJid` gives the real
   * JID of an occupant the bot saw, for the staff/client columns; `at` is when the bot saw it
   * (later than now only if the database was down meanwhile).
   */
  async apply(
    jid: string,
    step: (state: RoomState) => Transition,
    realJid: (nick: string) => string | undefined = () => undefined,
    at: Date = new Date(),
  ): Promise<Transition | undefined> {
    return this.db.transaction(async (client) => {
      const { rows } = await client.query<RoomRow>(
        `SELECT ${ROW} FROM roompool_rooms WHERE jid = $1 FOR UPDATE`,
        [jid],
      );
      const row = rows[0];
      if (!row) return undefined;
      const before = stateOf(row);
      const result = step(before);
      const after = result.state;
      if (
        after.status === before.status &&
        after.staff === before.staff &&
        after.client === before.client
      ) {
        return result;
      }
      await client.query(
        "SELECT set_config('concierge.cause', $1, true), set_config('concierge.at', $2, true)",
        [result.cause || "occupants changed", at.toISOString()],
      );
      const staffArrived = after.staff !== undefined && after.staff !== before.staff;
      const clientArrived = after.client !== undefined && after.client !== before.client;
      await client.query(
        `UPDATE roompool_rooms SET
           status = $2,
           staff_occupant = $3,
           client_occupant = $4,
           staff_real_jid = CASE WHEN $5 THEN $6 ELSE staff_real_jid END,
           staff_joined_at = CASE WHEN $5 THEN $9::timestamptz ELSE staff_joined_at END,
           client_real_jid = CASE WHEN $7 THEN $8 ELSE client_real_jid END,
           client_joined_at = CASE WHEN $7 THEN $9::timestamptz ELSE client_joined_at END,
           closed_at = CASE WHEN $2 = 'closed' THEN $9::timestamptz END
         WHERE jid = $1`,
        [
          jid,
          after.status,
          after.staff ?? null,
          after.client ?? null,
          staffArrived,
          staffArrived ? (realJid(after.staff!) ?? null) : null,
          clientArrived,
          clientArrived ? (realJid(after.client!) ?? null) : null,
          at.toISOString(),
        ],
      );
      await client.query(clearedClaims(before.status, after.status), [jid]);
      return result;
    });
  }
}

/** Going back to an earlier status gives up the claims made after it (the row keeps the rest). */
function clearedClaims(from: RoomStatus, to: RoomStatus): string {
  if (to === "available") {
    return `UPDATE roompool_rooms SET staff_id = NULL, staff_nick = NULL, staff_claimed_at = NULL,
      staff_occupant = NULL, staff_real_jid = NULL, staff_joined_at = NULL,
      client_id = NULL, client_nick = NULL, client_claimed_at = NULL,
      client_occupant = NULL, client_real_jid = NULL, client_joined_at = NULL WHERE jid = $1`;
  }
  if (to === "staff_waiting" && from === "client_claimed") {
    return `UPDATE roompool_rooms SET client_id = NULL, client_nick = NULL, client_claimed_at = NULL
      WHERE jid = $1`;
  }
  return "SELECT $1::text";
}
