import type { Database } from "../db/database.js";
import type { PoolClient } from "../db/pool.js";
import type { Status, StatusType, Task, TaskType } from "./rules.js";

interface TaskRow {
  id: string;
  title: string;
  type: TaskType;
  created_ms: string;
}

interface StatusRow {
  task_id: string;
  username: string;
  type: StatusType;
  value: string | null;
}

/** Tasks and statuses in Postgres. Every change is one transaction holding the task's row lock. */
export class TaskStore {
  constructor(private readonly db: Database) {}

  async list(room: string): Promise<Task[]> {
    const [tasks, statuses] = await Promise.all([
      this.db.query<TaskRow>(
        "SELECT id, title, type, created_ms FROM neerc_tasks WHERE room = $1 ORDER BY created_ms, id",
        [room],
      ),
      this.db.query<StatusRow>(
        "SELECT task_id, username, type, value FROM neerc_task_statuses WHERE room = $1 ORDER BY task_id, position",
        [room],
      ),
    ]);
    const byTask = new Map<string, Status[]>();
    for (const row of statuses.rows) {
      const list = byTask.get(row.task_id) ?? [];
      list.push(toStatus(row));
      byTask.set(row.task_id, list);
    }
    return tasks.rows.map((row) => toTask(row, byTask.get(row.id) ?? []));
  }

  /** Creates the task, or replaces title, type and every status of an existing one. */
  async save(room: string, task: Task): Promise<Task> {
    return this.db.transaction(async (client) => {
      const { rows } = await client.query<TaskRow>(
        `INSERT INTO neerc_tasks (room, id, title, type, created_ms) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (room, id) DO UPDATE SET title = $3, type = $4, updated_at = now()
         RETURNING id, title, type, created_ms`,
        [room, task.id, task.title, task.type, task.timestamp],
      );
      await client.query("DELETE FROM neerc_task_statuses WHERE room = $1 AND task_id = $2", [
        room,
        task.id,
      ]);
      await insertStatuses(client, room, task.id, task.statuses);
      return toTask(rows[0]!, task.statuses);
    });
  }

  async remove(room: string, id: string): Promise<Task | undefined> {
    const { rows } = await this.db.query<TaskRow>(
      "DELETE FROM neerc_tasks WHERE room = $1 AND id = $2 RETURNING id, title, type, created_ms",
      [room, id],
    );
    return rows[0] && toTask(rows[0], []);
  }

  /** Sets one user's status; the row is locked, so concurrent reports never overwrite each other. */
  async setStatus(room: string, id: string, status: Status): Promise<void> {
    await this.db.query(
      `UPDATE neerc_task_statuses SET type = $4, value = $5, updated_at = now()
       WHERE room = $1 AND task_id = $2 AND username = $3`,
      [room, id, status.for, status.type, status.value ?? null],
    );
  }
}

async function insertStatuses(client: PoolClient, room: string, id: string, statuses: Status[]) {
  if (statuses.length === 0) return;
  await client.query(
    `INSERT INTO neerc_task_statuses (room, task_id, username, position, type, value)
     SELECT $1, $2, s.username, s.position, s.type, s.value
     FROM unnest($3::text[], $4::int[], $5::text[], $6::text[]) AS s(username, position, type, value)`,
    [
      room,
      id,
      statuses.map((s) => s.for),
      statuses.map((_, i) => i),
      statuses.map((s) => s.type),
      statuses.map((s) => s.value ?? null),
    ],
  );
}

function toTask(row: TaskRow, statuses: Status[]): Task {
  return {
    id: row.id,
    title: row.title,
    type: row.type,
    timestamp: Number(row.created_ms),
    statuses,
  };
}

function toStatus(row: StatusRow): Status {
  return { for: row.username, type: row.type, ...(row.value !== null ? { value: row.value } : {}) };
}
