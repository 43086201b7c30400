import { randomUUID } from "node:crypto";
import type { Element } from "@xmpp/xml";
import { StanzaError } from "./stanza-error.js";

interface Pending {
  /** The address asked; only a reply from there settles the request. */
  to: string | undefined;
  resolve(reply: Element): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class IqTimeoutError extends Error {
  constructor(id: string, ms: number) {
    super(`no answer to iq ${id} within ${ms} ms`);
    this.name = "IqTimeoutError";
  }
}

/**
 * Outgoing iq requests. Unlike xmpp.js's caller, pending requests are rejected at once when the
 * connection drops instead of lingering until their timeout.
 */
export class IqCaller {
  readonly #pending = new Map<string, Pending>();

  constructor(private readonly send: (element: Element) => void) {}

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Sends an iq get/set and resolves with the result stanza; an error reply rejects with StanzaError. */
  request(iq: Element, timeoutMs = 30_000): Promise<Element> {
    const id = (iq.attrs.id as string | undefined) ?? randomUUID();
    iq.attrs.id = id;
    if (this.#pending.has(id)) {
      return Promise.reject(new Error(`an iq with id ${id} is already waiting for its answer`));
    }
    const to = iq.attrs.to as string | undefined;
    return new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new IqTimeoutError(id, timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, { to, resolve, reject, timer });
      try {
        this.send(iq);
      } catch (error) {
        this.#settle(id)?.reject(error as Error);
      }
    });
  }

  /** Takes a result/error iq if it answers one of ours; returns false otherwise. */
  accept(reply: Element): boolean {
    const id = reply.attrs.id as string | undefined;
    const expected = id === undefined ? undefined : this.#pending.get(id);
    if (!expected || (expected.to !== undefined && expected.to !== reply.attrs.from)) return false;
    const pending = this.#settle(id);
    if (!pending) return false;
    if (reply.attrs.type === "error") pending.reject(StanzaError.fromStanza(reply));
    else pending.resolve(reply);
    return true;
  }

  rejectAll(reason: Error): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(reason);
  }

  #settle(id: string | undefined): Pending | undefined {
    if (id === undefined) return undefined;
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }
}
