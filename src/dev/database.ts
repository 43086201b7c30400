import { randomBytes } from "node:crypto";
import pg from "pg";

export const DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** The server to create databases on: DATABASE_URL if set (its database name is ignored). */
export function serverUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.DATABASE_URL || DEFAULT_SERVER_URL;
}

export class PostgresUnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    const where = new URL(url).host;
    super(
      `PostgreSQL is not reachable at ${where} (${(cause as Error).message}).\n` +
        `  Start it:   pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n` +
        `  Install it: apt-get install -y postgresql\n` +
        `  Or point DATABASE_URL at a server where this user may create databases.`,
    );
    this.name = "PostgresUnreachableError";
  }
}

export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function onServer<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (error) {
    throw new PostgresUnreachableError(url, error);
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the database `name` if it does not exist yet (the demo keeps its data across runs). */
export async function ensureDatabase(name: string, server = serverUrl()): Promise<string> {
  await onServer(server, async (client) => {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  });
  return withDatabase(server, name);
}

/** A new, empty database for one test run or benchmark; drop() removes it. */
export async function createScratchDatabase(server = serverUrl()): Promise<ScratchDatabase> {
  const name = `concierge_test_${randomBytes(6).toString("hex")}`;
  await onServer(server, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  return {
    name,
    url: withDatabase(server, name),
    drop: () =>
      onServer(server, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
      ).then(() => undefined),
  };
}
