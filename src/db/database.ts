import { EventEmitter } from "node:events";
import pg from "pg";
import type { Logger } from "pino";
import { Backoff, formatDelay, sleep, type BackoffPolicy } from "../backoff.js";
import {
  DatabaseConfigError,
  FencedError,
  StorageUnavailableError,
  classifyPgError,
  databaseAddress,
  type PgFailure,
} from "./errors.js";
import { inTransaction } from "./pool.js";

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  /** The bound on opening one connection. */
  connectTimeoutMs: number;
  /** The bound on one statement, after which its connection is dropped. */
  queryTimeoutMs: number;
  retry: BackoffPolicy;
  /** The active/standby term's fence (`name:epoch`): set on every connection, see migration 007. */
  fence?: string;
  log: Logger;
}

interface DatabaseEvents {
  /** The database answers again after an outage. */
  up: [];
  down: [reason: string];
  /** A write was refused: another instance holds the lease now. */
  fenced: [reason: string];
}

/**
 * The daemon's PostgreSQL: a pool plus what it knows about the server's health. When a query
 * fails because the server is gone, the database is marked down with one log line, every query
 * fails at once with StorageUnavailableError (handlers answer "storage unavailable" without
 * waiting for timeouts), and a probe with backoff notices the server's return, logging one line
 * per step; then `up` fires and work that waited for it goes on.
 */
export class Database extends EventEmitter<DatabaseEvents> {
  readonly pool: pg.Pool;
  readonly address: string;
  #down: { reason: string; since: number } | undefined;
  #probing: Promise<void> | undefined;
  readonly #closed = new AbortController();

  constructor(private readonly options: DatabaseOptions) {
    super();
    this.address = databaseAddress(options.url);
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      application_name: "concierge",
      connectionTimeoutMillis: options.connectTimeoutMs,
      query_timeout: options.queryTimeoutMs,
      keepAlive: true,
      ...(options.fence ? { options: `-c concierge.fence=${options.fence}` } : {}),
    });
    // An idle client that loses its server emits here; without a listener that would crash us.
    this.pool.on("error", (error) => this.#failed(error));
  }

  get available(): boolean {
    return this.#down === undefined;
  }

  /** Why the database is down, in words; undefined while it is up. */
  get downReason(): string | undefined {
    return this.#down?.reason;
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.#guard(() => this.pool.query<R>(text, values));
  }

  /** Runs `work` in one transaction: committed if it returns, rolled back if it throws. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#guard(async () => {
      const client = await this.#checkout();
      let broken: unknown;
      try {
        return await inTransaction(client, work);
      } catch (error) {
        if (classifyPgError(error, this.address).kind === "outage") broken = error;
        throw error;
      } finally {
        // A client whose connection failed must not go back into the pool.
        client.release(broken instanceof Error ? broken : undefined);
      }
    });
  }

  /** A client of its own (for session-level locks); the caller releases it. */
  connect(): Promise<pg.PoolClient> {
    return this.#guard(() => this.#checkout());
  }

  /** Resolves once the database is up (at once if it is), or with false when `signal` aborts. */
  whenAvailable(signal?: AbortSignal): Promise<boolean> {
    if (this.available) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (up: boolean) => {
        this.off("up", onUp);
        signal?.removeEventListener("abort", onAbort);
        this.#closed.signal.removeEventListener("abort", onAbort);
        resolve(up);
      };
      const onUp = () => done(true);
      const onAbort = () => done(false);
      this.on("up", onUp);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#closed.signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * At start: waits until the database answers, one log line per attempt. A wrong URL (no such
   * database, wrong password) is not retried: it throws DatabaseConfigError saying what to fix.
   * Returns false if `signal` aborted first.
   */
  async waitUntilReachable(signal: AbortSignal): Promise<boolean> {
    const backoff = new Backoff(this.options.retry, this.options.log);
    while (!signal.aborted) {
      try {
        await this.pool.query("SELECT 1");
        if (backoff.attempt > 0) this.options.log.info({ at: this.address }, "database reachable");
        return true;
      } catch (error) {
        const failure = classifyPgError(error, this.address);
        if (failure.kind === "configuration") throw new DatabaseConfigError(failure.message);
        const delay = backoff.failed({
          level: "warn",
          message: `database unreachable (${failure.message})`,
        });
        await sleep(delay, signal);
      }
    }
    return false;
  }

  async end(): Promise<void> {
    this.#closed.abort();
    await this.#probing;
    await this.pool.end();
  }

  /**
   * A client out of the pool, with an error listener for as long as it is out: pg-pool listens
   * only to idle clients, and a checked-out client whose server goes away emits an 'error'
   * that, unheard, would end the process.
   */
  async #checkout(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    const onError = (error: Error) => void this.#failed(error);
    client.on("error", onError);
    const release = client.release.bind(client);
    client.release = (error?: Error | boolean) => {
      client.off("error", onError);
      return release(error);
    };
    return client;
  }

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.#down) throw new StorageUnavailableError(this.#down.reason);
    try {
      return await work();
    } catch (error) {
      const failure = this.#failed(error);
      if (failure.kind === "query") throw error;
      if (failure.kind === "fenced") throw new FencedError(failure.message);
      throw new StorageUnavailableError(failure.message);
    }
  }

  /** Classifies a failure; an outage or a configuration problem marks the database down. */
  #failed(error: unknown): PgFailure {
    const failure = classifyPgError(error, this.address);
    if (failure.kind === "fenced") {
      this.emit("fenced", failure.message);
      return failure;
    }
    if (failure.kind !== "query" && !this.#down && !this.#closed.signal.aborted) {
      this.#down = { reason: failure.message, since: Date.now() };
      this.emit("down", failure.message);
      this.#probing = this.#probe(failure);
    }
    return failure;
  }

  /** Until the database answers: one line per backoff step with the latest cause. */
  async #probe(first: PgFailure): Promise<void> {
    const { log } = this.options;
    const backoff = new Backoff(this.options.retry, log);
    let failure = first;
    const signal = this.#closed.signal;
    while (!signal.aborted) {
      const delay = backoff.failed({
        level: failure.kind === "configuration" ? "error" : "warn",
        message: `database unreachable (${failure.message}); requests are answered "storage unavailable"`,
      });
      await sleep(delay, signal);
      if (signal.aborted) return;
      try {
        await this.pool.query("SELECT 1");
        const downFor = Date.now() - (this.#down?.since ?? Date.now());
        this.#down = undefined;
        log.info({ downMs: downFor }, `database reachable again after ${formatDelay(downFor)}`);
        this.emit("up");
        return;
      } catch (error) {
        failure = classifyPgError(error, this.address);
        if (this.#down) this.#down.reason = failure.message;
      }
    }
  }
}

export { DatabaseConfigError, FencedError, StorageUnavailableError };
