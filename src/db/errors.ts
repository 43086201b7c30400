/**
 * What a PostgreSQL failure means for the daemon, in words an operator can act on. Pure: the
 * error in, a kind and a sentence out.
 *
 * - `outage`: the server is down, restarting, unreachable or overloaded; it comes back by itself.
 * - `configuration`: the URL is wrong (no such database, wrong password, no such user, the server
 *   refuses this client); retrying does not help until someone fixes it.
 * - `query`: the statement itself failed (a bug or a constraint): not a storage problem.
 * - `fenced`: this instance no longer holds the active/standby lease (migration 007).
 */
export type PgFailureKind = "outage" | "configuration" | "query" | "fenced";

export interface PgFailure {
  kind: PgFailureKind;
  message: string;
}

/** Raised instead of a query's own error while the database cannot be used. */
export class StorageUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`the database is unavailable (${reason})`);
    this.name = "StorageUnavailableError";
  }
}

/** A write refused because another instance holds the lease now: this one must stop acting. */
export class FencedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "FencedError";
  }
}

/** The database URL cannot work as it is; the message says what to fix. */
export class DatabaseConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseConfigError";
  }
}

const SOCKET_WORDS: Record<string, string> = {
  ECONNREFUSED: "nothing listens there",
  ECONNRESET: "the connection was reset",
  ETIMEDOUT: "no answer from the host",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  EPIPE: "the server closed the connection",
  ENOTFOUND: "no such host: check the host in database.url",
  EAI_AGAIN: "the host name could not be resolved",
};

/** Messages of node-postgres itself (no code) that mean the connection is gone or never came. */
const DISCONNECTED = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Query read timeout/,
  /is not queryable/,
  /^Cannot use a pool after calling end/,
];

export function classifyPgError(error: unknown, where: string): PgFailure {
  if (error instanceof StorageUnavailableError) return { kind: "outage", message: error.reason };
  if (error instanceof FencedError) return { kind: "fenced", message: error.reason };
  if (!(error instanceof Error)) return { kind: "query", message: String(error) };
  const code = (error as { code?: unknown }).code;
  const text = error.message;
  if (typeof code === "string" && code in SOCKET_WORDS) {
    return { kind: "outage", message: `${where}: ${code}: ${SOCKET_WORDS[code]}` };
  }
  if (DISCONNECTED.some((pattern) => pattern.test(text))) {
    return { kind: "outage", message: `${where}: ${text}` };
  }
  if (typeof code !== "string") return { kind: "query", message: text };
  switch (code) {
    case "CF001":
      return { kind: "fenced", message: text };
    case "3D000": {
      const name = /database "(.*)" does not exist/.exec(text)?.[1];
      const create = name ? `createdb ${name}, or CREATE DATABASE` : "CREATE DATABASE";
      return {
        kind: "configuration",
        message: `${text}: create it (${create}) or fix database.url`,
      };
    }
    case "28P01":
      return {
        kind: "configuration",
        message: `${text}: fix the password in database.url (or DATABASE_URL)`,
      };
    case "28000":
      return {
        kind: "configuration",
        message: `${text}: fix the user in database.url, or allow it in the server's pg_hba.conf`,
      };
    case "42501":
      return { kind: "query", message: `${text}: grant the database user the privilege` };
  }
  // Class 08: connection exceptions. 57P0x: the server shuts down, crashed or is starting.
  // 53xxx: out of connections, memory or disk space. All pass without anyone's help, or need
  // the server's operator, not ours.
  if (code.startsWith("08") || /^57P0[123]$/.test(code) || code.startsWith("53")) {
    return { kind: "outage", message: `${where}: ${code}: ${text}` };
  }
  return { kind: "query", message: `${code}: ${text}` };
}

/** host:port of a database URL, for messages (never the password). */
export function databaseAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || "localhost"}:${parsed.port || "5432"}`;
  } catch {
    return "the database";
  }
}
