import type { Logger } from "pino";
import type { Database } from "../db/database.js";
import { StorageUnavailableError } from "../db/errors.js";
import { HttpError } from "../http/errors.js";
import { KeyedQueue } from "../keyed-queue.js";
import { NotConnectedError } from "../xmpp/link.js";
import type { StreamStanza } from "./protocol.js";
import type { StoredEvent, WebchatStore } from "./store.js";
import type { Readers } from "./streams.js";

/**
 * Each session's events, in order: one queue per session, and every event written to Postgres
 * before any reader sees it (so a resume never shows what the log does not hold). While the
 * database is down, the writes wait for it (until `stopping` aborts).
 */
export class EventLog {
  readonly #queue = new KeyedQueue();

  constructor(
    private readonly store: WebchatStore,
    private readonly db: Database,
    private readonly readers: Readers,
    private readonly stopping: AbortSignal,
    private readonly log: Logger,
  ) {}

  /** Runs `task` in the session's order. */
  run<T>(sessionId: number, task: () => Promise<T>): Promise<T> {
    return this.#queue.run(String(sessionId), task);
  }

  /** Appends in the session's order (from outside its queue). */
  append(sessionId: number, stanza: StreamStanza, origin?: string): Promise<StoredEvent> {
    return this.run(sessionId, () => this.appendNow(sessionId, stanza, origin));
  }

  /** Appends now (inside the session's queue): written first, then handed to the readers. */
  async appendNow(sessionId: number, stanza: StreamStanza, origin?: string): Promise<StoredEvent> {
    const event = await this.durably(() => this.store.append(sessionId, stanza, origin));
    this.readers.deliver(sessionId, event);
    return event;
  }

  /** Runs `work`; while the database is down, waits for it and tries again (until stopping). */
  async durably<T>(work: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof StorageUnavailableError)) throw error;
        if (!(await this.db.whenAvailable(this.stopping))) throw error;
      }
    }
  }

  /** Logs a failed event task; refusals the browser already got and offline links are not news. */
  failed(sessionId: number, error: unknown): void {
    if (error instanceof StorageUnavailableError) {
      this.log.warn(
        { session: sessionId },
        "stopping while the database is down: a web chat event was not logged",
      );
    } else if (!(error instanceof HttpError) && !(error instanceof NotConnectedError)) {
      this.log.warn({ session: sessionId, err: error }, "web chat event failed");
    }
  }

  /** Resolves when every queued task has run. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }
}
