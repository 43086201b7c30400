import type { Database } from "../db/database.js";
import type { Activity, Buddy } from "./model.js";
import type { Property } from "./properties.js";

interface BuddyRow {
  jid: string;
  properties: Property[];
  alias: string | null;
  current_activity_id: string | null;
  current_activity_room: string | null;
}

interface ActivityRow {
  id: string;
  room: string;
  properties: Property[];
  participants: string[] | null;
}

/**
 * The index in Postgres: the source of truth, read whole at start into memory (where queries are
 * answered) and written through on every change. Each write replaces one buddy or one activity
 * (with its participants) in one transaction.
 */
export class OlpcStore {
  constructor(private readonly db: Database) {}

  async buddies(): Promise<Buddy[]> {
    const { rows } = await this.db.query<BuddyRow>(
      `SELECT jid, properties, alias, current_activity_id, current_activity_room
       FROM olpc_buddies ORDER BY jid`,
    );
    return rows.map((row) => ({
      jid: row.jid,
      properties: row.properties,
      ...(row.alias !== null ? { alias: row.alias } : {}),
      ...(row.current_activity_id !== null && row.current_activity_room !== null
        ? { currentActivity: { id: row.current_activity_id, room: row.current_activity_room } }
        : {}),
    }));
  }

  async activities(): Promise<Activity[]> {
    const { rows } = await this.db.query<ActivityRow>(
      `SELECT a.id, a.room, a.properties,
              array_agg(p.jid ORDER BY p.jid) FILTER (WHERE p.jid IS NOT NULL) AS participants
       FROM olpc_activities a
       LEFT JOIN olpc_participants p ON p.activity_id = a.id
       GROUP BY a.id ORDER BY a.id`,
    );
    return rows.map((row) => ({
      id: row.id,
      room: row.room,
      properties: row.properties,
      participants: row.participants ?? [],
    }));
  }

  async saveBuddy(buddy: Buddy): Promise<void> {
    await this.db.query(
      `INSERT INTO olpc_buddies (jid, properties, alias, current_activity_id, current_activity_room)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (jid) DO UPDATE SET properties = $2, alias = $3, current_activity_id = $4,
         current_activity_room = $5, updated_at = clock_timestamp()`,
      [
        buddy.jid,
        JSON.stringify(buddy.properties),
        buddy.alias ?? null,
        buddy.currentActivity?.id ?? null,
        buddy.currentActivity?.room ?? null,
      ],
    );
  }

  async deleteBuddy(jid: string): Promise<void> {
    await this.db.query("DELETE FROM olpc_buddies WHERE jid = $1", [jid]);
  }

  /** Writes the activity and exactly its participants. */
  async saveActivity(activity: Activity): Promise<void> {
    await this.db.transaction(async (client) => {
      await client.query(
        `INSERT INTO olpc_activities (id, room, properties) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET room = $2, properties = $3, updated_at = clock_timestamp()`,
        [activity.id, activity.room, JSON.stringify(activity.properties)],
      );
      await client.query(
        "DELETE FROM olpc_participants WHERE activity_id = $1 AND NOT (jid = ANY ($2::text[]))",
        [activity.id, activity.participants],
      );
      await client.query(
        `INSERT INTO olpc_participants (activity_id, jid)
         SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
        [activity.id, activity.participants],
      );
    });
  }

  /** A closed activity is deleted with its participants: nothing refers to it any more. */
  async deleteActivity(id: string): Promise<void> {
    await this.db.query("DELETE FROM olpc_activities WHERE id = $1", [id]);
  }

  async setInCall(room: string, active: boolean): Promise<void> {
    await this.db.query("UPDATE olpc_activities SET in_call = $2 WHERE room = $1", [room, active]);
  }

  async rooms(): Promise<string[]> {
    const { rows } = await this.db.query<{ room: string }>("SELECT room FROM olpc_rooms");
    return rows.map((row) => row.room);
  }

  async addRoom(room: string, invitedBy: string): Promise<void> {
    await this.db.query(
      "INSERT INTO olpc_rooms (room, invited_by) VALUES ($1, $2) ON CONFLICT DO NOTHING",
      [room, invitedBy],
    );
  }

  async removeRoom(room: string): Promise<void> {
    await this.db.query("DELETE FROM olpc_rooms WHERE room = $1", [room]);
  }
}
