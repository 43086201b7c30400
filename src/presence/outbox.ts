import type { Element } from "@xmpp/xml";
import type { Logger } from "pino";
import { StanzaTooLargeError } from "../xmpp/link.js";

/** What the outbox needs from the component connection. */
export interface Wire {
  send(element: Element): void;
  readonly congested: boolean;
  drained(): Promise<void>;
}

/** Builds the stanza for one recipient address. */
export type Build = (to: string) => Element;

interface Batch {
  recipients: string[];
  build: Build;
}

/** Where one copy for a user goes: see Outbox. */
export type UserAddresses = (user: string) => string[];

/**
 * The one way services address people, after the chat drafts: every device of a user, one
 * device, or everyone in a set of users (a room). "Every device of a user" is one headline to
 * the bare JID, which the server hands to each online resource (RFC 6121 §8.5.2.1.1: every
 * available resource with a non-negative priority), whether or not it ever spoke to us, plus one
 * copy to each device we know whose negative priority keeps it from that. Sends leave in order,
 * after the caller's reply, and wait for the socket to drain, so a fan-out to thousands does not
 * pile up in memory or delay request handling.
 */
export class Outbox {
  #queue: Batch[] = [];
  #pumping: Promise<void> | undefined;

  constructor(
    private readonly wire: Wire,
    readonly addresses: UserAddresses,
    private readonly log: Logger,
  ) {}

  toDevice(device: string, build: Build): void {
    this.#enqueue([device], build);
  }

  toDevices(devices: readonly string[], build: Build): void {
    this.#enqueue([...devices], build);
  }

  /** Every device of `user` (a headline: see above). */
  toUser(user: string, build: Build): void {
    this.#enqueue(this.addresses(user), build);
  }

  toUsers(users: Iterable<string>, build: Build): void {
    const recipients: string[] = [];
    for (const user of users) recipients.push(...this.addresses(user));
    this.#enqueue(recipients, build);
  }

  /** Resolves once everything queued so far has been written (the caller bounds the wait). */
  async idle(): Promise<void> {
    while (this.#pumping) await this.#pumping;
  }

  #enqueue(recipients: string[], build: Build): void {
    if (recipients.length === 0) return;
    this.#queue.push({ recipients, build });
    this.#pumping ??= this.#pump();
  }

  async #send(batch: Batch): Promise<void> {
    let tooLarge: StanzaTooLargeError | undefined;
    try {
      for (const to of batch.recipients) {
        if (this.wire.congested) await this.wire.drained();
        try {
          this.wire.send(batch.build(to));
        } catch (error) {
          // One stanza the server would not take; the rest of the batch can still go.
          if (!(error instanceof StanzaTooLargeError)) throw error;
          tooLarge = error;
        }
      }
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "notification fan-out stopped");
    }
    if (tooLarge)
      this.log.warn({ bytes: tooLarge.bytes }, `a notification not sent: ${tooLarge.message}`);
  }

  async #pump(): Promise<void> {
    try {
      // Let the handler that queued this send its reply first.
      await new Promise((resolve) => setImmediate(resolve));
      // The whole queue at a time, not shift() by shift(): V8 copies the rest of an array of more
      // than ~16k items on every shift(), which made draining a long queue quadratic (a big
      // room's members coming online queue one batch per pair). Batches queued meanwhile are
      // taken by the next turn of the loop, in order.
      while (this.#queue.length > 0) {
        const batches = this.#queue;
        this.#queue = [];
        for (const batch of batches) await this.#send(batch);
      }
    } finally {
      // In the same step that finds the queue empty: a `.finally()` callback would run a
      // microtask later, and a batch queued in between would be left with no pump to send it.
      this.#pumping = undefined;
    }
  }
}
