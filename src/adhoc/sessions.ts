import { randomBytes } from "node:crypto";
import type { StageAction } from "./command.js";

/** One command in progress: whose it is, where it stands, and what the next step needs. */
export interface Session {
  id: string;
  node: string;
  /** The full JID that started it: nobody else may continue it. */
  owner: string;
  actions: readonly StageAction[];
  state: unknown;
  lastUsed: number;
}

export type Lookup =
  { found: Session } | { missing: "unknown" | "expired" } | { missing: "not-yours" };

export interface SessionLimits {
  maxSessions: number;
  timeoutMs: number;
}

/**
 * The open command sessions, bounded in number and in idle time. The clock is injected; expired
 * sessions are swept when a new one needs room and remembered briefly so that their owner hears
 * "expired" rather than "unknown".
 */
export class SessionTable {
  readonly #open = new Map<string, Session>();
  readonly #expired = new Map<string, number>();

  constructor(
    private readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
    private readonly newId: () => string = () => randomBytes(12).toString("hex"),
  ) {}

  get size(): number {
    return this.#open.size;
  }

  /** A fresh id (also for a command that completes at once and keeps no session). */
  id(): string {
    return this.newId();
  }

  /** Opens a session; false when the table is full even after sweeping expired ones. */
  open(session: Omit<Session, "lastUsed">): boolean {
    this.#forgetOldExpired();
    if (this.#open.size >= this.limits.maxSessions) this.#sweep();
    if (this.#open.size >= this.limits.maxSessions) return false;
    this.#open.set(session.id, { ...session, lastUsed: this.now() });
    return true;
  }

  lookup(id: string, node: string, requester: string): Lookup {
    const session = this.#open.get(id);
    if (!session) return { missing: this.#expired.has(id) ? "expired" : "unknown" };
    if (this.#isExpired(session)) {
      this.#expire(session);
      return { missing: "expired" };
    }
    if (session.owner !== requester || session.node !== node) return { missing: "not-yours" };
    return { found: session };
  }

  /** The session goes on to its next stage. */
  advance(session: Session, actions: readonly StageAction[], state: unknown): void {
    session.actions = actions;
    session.state = state;
    session.lastUsed = this.now();
  }

  close(id: string): void {
    this.#open.delete(id);
  }

  #isExpired(session: Session): boolean {
    return this.now() - session.lastUsed >= this.limits.timeoutMs;
  }

  #expire(session: Session): void {
    this.#open.delete(session.id);
    this.#expired.set(session.id, this.now());
    this.#forgetOldExpired();
  }

  #sweep(): void {
    for (const session of [...this.#open.values()]) {
      if (this.#isExpired(session)) this.#expire(session);
    }
  }

  /** Remembering expired ids is a courtesy: each for one more timeout, and as many as sessions. */
  #forgetOldExpired(): void {
    // Oldest first: a Map iterates in insertion order, and ids expire in time order.
    for (const [id, at] of this.#expired) {
      const old = this.now() - at >= this.limits.timeoutMs;
      if (!old && this.#expired.size <= this.limits.maxSessions) break;
      this.#expired.delete(id);
    }
  }
}
