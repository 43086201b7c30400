import type { Database } from "../db/database.js";

/** Users subscribed to the component's presence, kept so that a restart can reach them. */
export class ContactStore {
  constructor(private readonly db: Database) {}

  async all(): Promise<string[]> {
    const { rows } = await this.db.query<{ jid: string }>(
      "SELECT jid FROM presence_contacts ORDER BY jid",
    );
    return rows.map((row) => row.jid);
  }

  async add(jid: string): Promise<void> {
    await this.db.query("INSERT INTO presence_contacts (jid) VALUES ($1) ON CONFLICT DO NOTHING", [
      jid,
    ]);
  }

  async remove(jid: string): Promise<void> {
    await this.db.query("DELETE FROM presence_contacts WHERE jid = $1", [jid]);
  }
}
