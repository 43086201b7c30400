import type { Element } from "@xmpp/xml";
import type { ContactStore } from "../../src/presence/contacts.js";
import type { Wire } from "../../src/presence/outbox.js";

/** A wire that records what the presence core sends and never backs up. */
export class FakeWire implements Wire {
  readonly sent: Element[] = [];
  readonly congested = false;
  #waiters: Array<() => void> = [];

  send(element: Element): void {
    this.sent.push(element);
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  /** Everything sent so far, forgotten. */
  take(): Element[] {
    return this.sent.splice(0);
  }

  /**
   * Resolves once something has been sent (at once if something already was). Timers in the
   * code under test may be unref'd, so a ref'd guard keeps the process alive meanwhile; it is no
   * timing assertion, only a way to fail instead of hanging if nothing ever comes.
   */
  async something(): Promise<void> {
    if (this.sent.length > 0) return;
    let guard: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#waiters.push(resolve);
        guard = setTimeout(() => reject(new Error("nothing was sent")), 10_000);
      });
    } finally {
      clearTimeout(guard);
    }
  }
}

/** An in-memory stand-in for the pg-backed ContactStore (the SQL is covered by integration). */
export class MemoryContacts {
  readonly jids = new Set<string>();
  readonly calls: string[] = [];

  all(): Promise<string[]> {
    this.calls.push("all");
    return Promise.resolve([...this.jids].sort());
  }

  add(jid: string): Promise<void> {
    this.calls.push(`add ${jid}`);
    this.jids.add(jid);
    return Promise.resolve();
  }

  remove(jid: string): Promise<void> {
    this.calls.push(`remove ${jid}`);
    this.jids.delete(jid);
    return Promise.resolve();
  }

  get store(): ContactStore {
    return this as unknown as ContactStore;
  }
}
