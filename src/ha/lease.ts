import { EventEmitter } from "node:events";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Logger } from "pino";
import { Backoff, sleep, type BackoffPolicy } from "../backoff.js";
import { classifyPgError, databaseAddress } from "../db/errors.js";

export interface LeaseOptions {
  url: string;
  /** The lease's name: instances with the same name share one lease (one acts). */
  name: string;
  /** How long a lease lasts without renewal; a standby takes over after that. */
  ttlMs: number;
  /** How often the holder renews (and a standby asks). */
  renewMs: number;
  retry: BackoffPolicy;
  log: Logger;
}

/** The term of one holder: what it fences its writes with. */
export interface Term {
  name: string;
  epoch: number;
  holder: string;
  /** concierge.fence for every database connection of the term. */
  fence: string;
}

interface LeaseEvents {
  /** The term is over: stop acting at once. */
  lost: [reason: string];
}

/**
 * Leadership for active/standby with PostgreSQL as the one shared truth: a lease renewed every
 * `renewMs` on a connection of its own (never one from a pool), with an epoch that fences the
 * holder's writes. The holder stops acting the moment it cannot be sure it still holds the lease:
 * a failed renewal, or no successful one for most of `ttlMs` by its own monotonic clock — which
 * also covers a process that was paused (SIGSTOP, a VM pause): when it runs again, the first
 * stanza or request it would handle or send asks holds() and ends the term instead. A standby
 * takes over only once the database's clock says the lease expired; writes the old holder still
 * makes are refused by the database (the fence), and the server replaces its connections.
 */
export class Lease extends EventEmitter<LeaseEvents> {
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  #client: pg.Client | undefined;
  #term: Term | undefined;
  #renewedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #holderSeen: string | undefined;

  constructor(private readonly options: LeaseOptions) {
    super();
  }

  get term(): Term | undefined {
    return this.#term;
  }

  /** Who holds the lease, as last seen by a standby (for /readyz). */
  get otherHolder(): string | undefined {
    return this.#holderSeen;
  }

  /** Waits until this instance holds the lease; undefined if `signal` aborted first. */
  async acquire(signal: AbortSignal): Promise<Term | undefined> {
    const { log, renewMs } = this.options;
    const backoff = new Backoff(this.options.retry, log);
    let announced = false;
    while (!signal.aborted) {
      try {
        const askedAt = performance.now();
        const epoch = await this.#ask();
        backoff.succeeded();
        if (epoch !== undefined) return this.#begin(epoch, askedAt);
        if (!announced) {
          log.info(
            { leader: this.#holderSeen },
            `standing by: ${this.#holderSeen ?? "another instance"} holds the lease`,
          );
          announced = true;
        }
        await sleep(renewMs, signal);
      } catch (error) {
        this.#drop();
        const { message } = classifyPgError(error, databaseAddress(this.options.url));
        await sleep(
          backoff.failed({ level: "warn", message: `cannot ask for the lease (${message})` }),
          signal,
        );
      }
    }
    return undefined;
  }

  /** Gives the lease up (a clean stop): a standby can take over at once. */
  async release(): Promise<void> {
    const term = this.#term;
    this.#end();
    if (!term) return;
    try {
      await this.#connection().then((client) =>
        client.query("SELECT concierge_lease_release($1, $2, $3)", [
          term.name,
          term.holder,
          term.epoch,
        ]),
      );
    } catch {
      // It expires by itself.
    }
  }

  async close(): Promise<void> {
    this.#end();
    await this.#client?.end().catch(() => undefined);
    this.#client = undefined;
  }

  /**
   * True while `term` is this instance's and was renewed recently enough by its own clock;
   * otherwise the term ends here, synchronously ("lost" is emitted before this returns). Asked
   * before every stanza in or out and every request taken: after a pause, sockets may be read
   * before any timer runs.
   */
  holds(term: Term): boolean {
    if (this.#term !== term) return false;
    const silentMs = performance.now() - this.#renewedAt;
    if (silentMs <= this.#safeForMs) return true;
    this.#lose(term, `the lease was not renewed for ${Math.round(silentMs)} ms`);
    return false;
  }

  /** Past this since the last renewal was asked for, the lease may be about to expire. */
  get #safeForMs(): number {
    const { renewMs, ttlMs } = this.options;
    return Math.max(renewMs, ttlMs - Math.max(renewMs, ttlMs / 4));
  }

  #begin(epoch: number, askedAt: number): Term {
    const { name, renewMs, log } = this.options;
    const term: Term = { name, epoch, holder: this.holder, fence: `${name}:${epoch}` };
    this.#term = term;
    this.#renewedAt = askedAt;
    log.info({ epoch }, "took the lease: this instance acts");
    const tick = async () => {
      if (!this.holds(term)) return;
      try {
        // The database renews at some moment after we ask: count from the asking.
        const askedAt = performance.now();
        const renewed = await this.#ask();
        if (this.#term !== term) return;
        if (renewed !== epoch)
          return this.#lose(term, `${this.#holderSeen ?? "another instance"} holds the lease now`);
        this.#renewedAt = askedAt;
      } catch (error) {
        this.#drop();
        const { message } = classifyPgError(error, databaseAddress(this.options.url));
        this.#lose(term, `the lease could not be renewed (${message})`);
      }
    };
    this.#timer = setInterval(() => void tick(), renewMs);
    return term;
  }

  #lose(term: Term, reason: string): void {
    if (this.#term !== term) return;
    this.#end();
    this.options.log.warn({ epoch: term.epoch }, `gave up the lease: ${reason}`);
    this.emit("lost", reason);
  }

  #end(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#term = undefined;
  }

  /** One round trip: take or renew; the epoch if we hold the lease now. */
  async #ask(): Promise<number | undefined> {
    const { name, ttlMs } = this.options;
    const client = await this.#connection();
    const { rows } = await client.query<{ epoch: string | null; holder: string | null }>(
      `SELECT concierge_lease($1, $2, $3) AS epoch,
              (SELECT holder FROM concierge_leases WHERE name = $1) AS holder`,
      [name, this.holder, ttlMs],
    );
    const row = rows[0];
    this.#holderSeen = row?.holder && row.holder !== this.holder ? row.holder : undefined;
    return row?.epoch == null ? undefined : Number(row.epoch);
  }

  async #connection(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: "concierge-lease",
      keepAlive: true,
      keepAliveInitialDelayMillis: 1_000,
      connectionTimeoutMillis: this.options.renewMs * 2,
      query_timeout: this.options.renewMs * 2,
    });
    // A broken connection is dropped and made again on the next round.
    client.on("error", () => this.#drop());
    await client.connect();
    this.#client = client;
    return client;
  }

  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    void client?.end().catch(() => undefined);
  }
}
