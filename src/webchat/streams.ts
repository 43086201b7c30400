import type { ServerResponse } from "node:http";
import { HttpError } from "../http/errors.js";
import type { StoredEvent } from "./store.js";

/** One reader of a session's events: an SSE response, or a long poll waiting for the next one. */
export interface Reader {
  readonly sessionId: number;
  /** The token it came with (its hash, hex) and the client's address: for the caps. */
  readonly tokenKey: string;
  readonly address: string;
  readonly expiresAt: Date;
  /** An event appended to the session (each once, in order; the reader skips what it has). */
  deliver(event: StoredEvent): void;
  /** A keep-alive tick. */
  tick(now: number): void;
  /** Ends the response (after what was delivered). */
  close(): void;
}

export interface StreamLimits {
  perToken: number;
  perAddress: number;
  total: number;
}

/**
 * Who reads which session right now, with the caps on open readers (per token, per address, in
 * all), one keep-alive timer for all of them, and the events of a session handed to each of its
 * readers. It tells its owner when a session's last reader goes (`idle`) and when one comes back.
 */
export class Readers {
  readonly #bySession = new Map<number, Set<Reader>>();
  readonly #perToken = new Map<string, number>();
  readonly #perAddress = new Map<string, number>();
  #total = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: StreamLimits,
    private readonly events: { idle(sessionId: number): void; busy(sessionId: number): void },
  ) {}

  get size(): number {
    return this.#total;
  }

  /** Throws TOO_MANY_STREAMS if one more reader would go over a cap. */
  admit(tokenKey: string, address: string): void {
    const { perToken, perAddress, total } = this.limits;
    if ((this.#perToken.get(tokenKey) ?? 0) >= perToken) {
      throw new HttpError("TOO_MANY_STREAMS", `at most ${perToken} open streams per token`);
    }
    if ((this.#perAddress.get(address) ?? 0) >= perAddress) {
      throw new HttpError("TOO_MANY_STREAMS", `at most ${perAddress} open streams per address`);
    }
    if (this.#total >= total) {
      throw new HttpError("TOO_MANY_STREAMS", "the service holds as many streams as it may");
    }
  }

  add(reader: Reader): void {
    let set = this.#bySession.get(reader.sessionId);
    if (!set) this.#bySession.set(reader.sessionId, (set = new Set()));
    set.add(reader);
    count(this.#perToken, reader.tokenKey, 1);
    count(this.#perAddress, reader.address, 1);
    this.#total++;
    if (set.size === 1) this.events.busy(reader.sessionId);
  }

  remove(reader: Reader): void {
    const set = this.#bySession.get(reader.sessionId);
    if (!set?.delete(reader)) return;
    count(this.#perToken, reader.tokenKey, -1);
    count(this.#perAddress, reader.address, -1);
    this.#total--;
    if (set.size === 0) {
      this.#bySession.delete(reader.sessionId);
      this.events.idle(reader.sessionId);
    }
  }

  has(sessionId: number): boolean {
    return this.#bySession.has(sessionId);
  }

  deliver(sessionId: number, event: StoredEvent): void {
    for (const reader of this.#bySession.get(sessionId) ?? []) reader.deliver(event);
  }

  /** Closes the readers of a session, or of one token of it. */
  close(sessionId: number, tokenKey?: string): void {
    for (const reader of [...(this.#bySession.get(sessionId) ?? [])]) {
      if (tokenKey === undefined || reader.tokenKey === tokenKey) reader.close();
    }
  }

  closeToken(tokenKey: string): void {
    for (const set of [...this.#bySession.values()]) {
      for (const reader of [...set]) if (reader.tokenKey === tokenKey) reader.close();
    }
  }

  closeAll(): void {
    for (const set of [...this.#bySession.values()]) for (const reader of [...set]) reader.close();
  }

  /** Starts the keep-alive ticks (and the expiry checks that go with them). */
  start(intervalMs: number): void {
    this.#timer = setInterval(() => {
      const now = Date.now();
      for (const set of [...this.#bySession.values()]) {
        for (const reader of [...set]) reader.tick(now);
      }
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

function count(map: Map<string, number>, key: string, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}

/** What a stream writes to: an http.ServerResponse (a fake one in unit tests). */
export type SseResponse = Pick<
  ServerResponse,
  "writeHead" | "write" | "end" | "on" | "off" | "writableLength" | "writableNeedDrain"
>;

export interface SseOptions {
  sessionId: number;
  tokenKey: string;
  address: string;
  expiresAt: Date;
  /** Events up to this one the client has; the stream starts after it. */
  after: number;
  retryMs: number;
  /** A reader whose unsent output grows past this is cut off (it resumes from its last id). */
  maxBacklogBytes: number;
  headers: Record<string, string | number | string[]>;
  onClose: () => void;
}

/**
 * A Server-Sent Events response: `retry:` first, then `id:`/`data:` per event, a comment line
 * per keep-alive tick. Events that arrive while the backlog is being replayed from the database
 * wait and follow it; any event at or below the last id written is skipped, so an event read
 * both ways goes out once. Over HTTP/1.0 Node sends no chunking and ends by closing.
 */
export class SseStream implements Reader {
  readonly sessionId: number;
  readonly tokenKey: string;
  readonly address: string;
  readonly expiresAt: Date;
  #last: number;
  #replaying = true;
  #waiting: StoredEvent[] = [];
  #waitingBytes = 0;
  #closed = false;

  constructor(
    private readonly res: SseResponse,
    private readonly options: SseOptions,
  ) {
    this.sessionId = options.sessionId;
    this.tokenKey = options.tokenKey;
    this.address = options.address;
    this.expiresAt = options.expiresAt;
    this.#last = options.after;
    res.on("close", () => {
      this.#closed = true;
      options.onClose();
    });
  }

  get last(): number {
    return this.#last;
  }

  get closed(): boolean {
    return this.#closed;
  }

  open(): void {
    this.res.writeHead(200, {
      ...this.options.headers,
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store, no-transform",
      "X-Accel-Buffering": "no",
    });
    this.res.write(`retry: ${this.options.retryMs}\n\n`);
  }

  /**
   * Writes events read from the database (in order), at the reader's pace: the log may be far
   * longer than the backlog a live reader is allowed, so this waits for the socket to drain.
   */
  async replay(events: readonly StoredEvent[]): Promise<void> {
    for (const event of events) {
      if (this.#closed) return;
      this.#put(event);
      if (this.res.writableNeedDrain) await this.#drained();
    }
  }

  /** The backlog is written: the events that arrived meanwhile follow. */
  live(): void {
    this.#replaying = false;
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#waitingBytes = 0;
    for (const event of waiting) this.#write(event);
  }

  deliver(event: StoredEvent): void {
    if (!this.#replaying) return this.#write(event);
    this.#waiting.push(event);
    this.#waitingBytes += event.json.length;
    if (this.#waitingBytes > this.options.maxBacklogBytes) this.close();
  }

  tick(now: number): void {
    if (this.#closed) return;
    if (now >= this.expiresAt.getTime()) {
      this.res.write(": the token has expired\n\n");
      this.close();
      return;
    }
    this.res.write(": keep-alive\n\n");
    if (!this.#replaying && this.res.writableLength > this.options.maxBacklogBytes) this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.res.end();
    this.options.onClose();
  }

  /** A live event: a reader whose unsent output passes the bound is let go (it resumes). */
  #write(event: StoredEvent): void {
    this.#put(event);
    if (this.res.writableLength > this.options.maxBacklogBytes) this.close();
  }

  #put(event: StoredEvent): void {
    if (this.#closed || event.seq <= this.#last) return;
    this.#last = event.seq;
    this.res.write(`id: ${event.seq}\ndata: ${event.json}\n\n`);
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.res.off("drain", done);
        this.res.off("close", done);
        resolve();
      };
      this.res.on("drain", done);
      this.res.on("close", done);
    });
  }
}

/** A long poll: resolves at the first event after `after`, or on close / time-out. */
export class PollWaiter implements Reader {
  readonly #done: Promise<void>;
  #resolve!: () => void;

  constructor(
    readonly sessionId: number,
    readonly tokenKey: string,
    readonly address: string,
    readonly expiresAt: Date,
    private readonly after: number,
  ) {
    this.#done = new Promise((resolve) => (this.#resolve = resolve));
  }

  get done(): Promise<void> {
    return this.#done;
  }

  deliver(event: StoredEvent): void {
    if (event.seq > this.after) this.#resolve();
  }

  tick(): void {}

  close(): void {
    this.#resolve();
  }
}
