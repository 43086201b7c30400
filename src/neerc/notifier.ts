import xml, { type Element } from "@xmpp/xml";
import type { Logger } from "pino";
import type { ComponentLink } from "../xmpp/component-link.js";
import { NS_TASKS } from "./protocol.js";

/**
 * Sends change notifications without holding up the handler that caused them. Each goes to the
 * user's bare JID as a headline, which the server hands to every online resource and never puts
 * in offline storage (the clients ignore delayed copies anyway). Writes wait for the socket to
 * drain, so a fan-out to thousands of users does not pile up in memory.
 */
export class Notifier {
  readonly #running = new Set<Promise<void>>();

  constructor(
    private readonly link: ComponentLink,
    private readonly log: Logger,
  ) {}

  announce(from: string, recipients: readonly string[], body: string, task: Element): void {
    const run = this.#send(from, recipients, body, task)
      .catch((error: unknown) =>
        this.log.warn({ err: (error as Error).message }, "notification fan-out stopped"),
      )
      .finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  /** Waits for the fan-outs under way (used at shutdown; the caller bounds the wait). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }

  async #send(from: string, recipients: readonly string[], body: string, task: Element) {
    const extension = xml("x", { xmlns: NS_TASKS }, task);
    for (const to of recipients) {
      if (this.link.congested) await this.link.drained();
      this.link.send(
        xml("message", { from, to, type: "headline" }, xml("body", {}, body), extension),
      );
    }
  }
}
