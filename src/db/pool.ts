import pg from "pg";
import type { Logger } from "pino";
import { backoffDelay, formatDelay, sleep, type BackoffPolicy } from "../backoff.js";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export function createPool(url: string, size: number, log: Logger): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: size, application_name: "concierge" });
  // An idle client that loses its server emits here; without a listener that would crash us.
  pool.on("error", (error) => log.warn({ err: error.message }, "idle database connection lost"));
  return pool;
}

/** Runs `work` in one transaction: committed if it returns, rolled back if it throws. */
export async function transaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransaction(client, work);
  } finally {
    client.release();
  }
}

/** The same on a client the caller already holds (e.g. one holding a session-level lock). */
export async function inTransaction<C extends pg.ClientBase, T>(
  client: C,
  work: (client: C) => Promise<T>,
): Promise<T> {
  await client.query("BEGIN");
  try {
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/**
 * Waits until the database answers, retrying with backoff and one log line per attempt.
 * Returns false if the signal aborted first.
 */
export async function waitForDatabase(
  pool: pg.Pool,
  policy: BackoffPolicy,
  log: Logger,
  signal: AbortSignal,
): Promise<boolean> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      await pool.query("SELECT 1");
      if (attempt > 0) log.info("database reachable");
      return true;
    } catch (error) {
      const delay = backoffDelay(attempt, policy);
      log.warn(
        { retryInMs: delay, attempt },
        `database unreachable (${describePgError(error)}); retrying in ${formatDelay(delay)}`,
      );
      await sleep(delay, signal);
    }
  }
  return false;
}

export function describePgError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? `${code}: ${error.message}` : error.message;
}
