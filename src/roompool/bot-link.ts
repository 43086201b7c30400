import { EventEmitter } from "node:events";
import { client, type Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import type { Logger } from "pino";
import type { BackoffPolicy } from "../backoff.js";
import { redactXml } from "../log.js";
import { IqCaller } from "../xmpp/iq-caller.js";
import { NotConnectedError } from "../xmpp/component-link.js";
import { keepConnected, type ConnectionOutcome } from "../xmpp/reconnect-loop.js";

export interface BotLinkOptions {
  /** The c2s endpoint, e.g. xmpp://127.0.0.1:5222. */
  service: string;
  /** The bot's bare JID, e.g. concierge-bot@example.org. */
  jid: string;
  password: string;
  resource: string;
  reconnect: BackoffPolicy;
  log: Logger;
}

interface BotEvents {
  online: [];
  offline: [];
  presence: [Element];
}

/**
 * The room-pool bot's client connection (a normal account), kept up with the same backoff policy
 * as the component. Its iq requests are rejected at once when the connection drops.
 */
export class BotLink extends EventEmitter<BotEvents> {
  readonly caller: IqCaller;
  #xmpp: Client | undefined;
  #online = false;
  #loop: Promise<void> | undefined;
  readonly #stopping = new AbortController();

  constructor(private readonly options: BotLinkOptions) {
    super();
    this.caller = new IqCaller((element) => this.send(element));
  }

  get online(): boolean {
    return this.#online;
  }

  start(): void {
    this.#loop ??= keepConnected({
      connectOnce: () => this.#connectOnce(),
      describe: (outcome) => describeFailure(outcome, this.options),
      policy: this.options.reconnect,
      log: this.options.log,
      signal: this.#stopping.signal,
    });
  }

  send(element: Element): void {
    const xmpp = this.#xmpp;
    if (!this.#online || !xmpp) throw new NotConnectedError();
    if (this.options.log.isLevelEnabled("trace")) {
      this.options.log.trace({ xml: redactXml(element.toString()) }, "bot out");
    }
    xmpp.send(element).catch(() => undefined);
  }

  request(iq: Element, timeoutMs = 10_000): Promise<Element> {
    return this.caller.request(iq, timeoutMs);
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#xmpp?.stop().catch(() => undefined);
    await this.#loop;
  }

  async #connectOnce(): Promise<ConnectionOutcome> {
    const { service, jid, password, resource, log } = this.options;
    const [username, domain] = jid.split("@") as [string, string];
    const xmpp = client({ service, domain, username, password, resource });
    // Our loop decides when to reconnect, not xmpp.js's fixed one-second retry.
    xmpp.reconnect.stop();
    this.#xmpp = xmpp;
    const outcome: ConnectionOutcome = { wasOnline: false, cause: undefined };
    const closed = new Promise<void>((resolve) => xmpp.once("offline", () => resolve()));
    xmpp.on("disconnect", () => {
      if (xmpp.status !== "offline") void xmpp.stop().catch(() => undefined);
    });
    xmpp.on("error", (error: unknown) => (outcome.cause ??= error));
    xmpp.on("stanza", (stanza: Element) => this.#dispatch(stanza));
    if (log.isLevelEnabled("trace")) {
      xmpp.on("input", (text: string) => log.trace({ xml: redactXml(text) }, "bot in"));
    }
    try {
      await xmpp.start();
      outcome.wasOnline = true;
      this.#online = true;
      log.info({ jid: String(xmpp.jid) }, "bot online");
      this.emit("online");
    } catch (error) {
      outcome.cause ??= error;
      await xmpp.stop().catch(() => undefined);
    }
    await closed;
    if (this.#online) {
      this.#online = false;
      this.caller.rejectAll(new NotConnectedError());
      this.emit("offline");
    }
    xmpp.removeAllListeners();
    xmpp.on("error", () => {});
    this.#xmpp = undefined;
    return outcome;
  }

  #dispatch(stanza: Element): void {
    if (stanza.name === "iq") {
      const type = stanza.attrs.type as string | undefined;
      if (type === "result" || type === "error") this.caller.accept(stanza);
    } else if (stanza.name === "presence") {
      this.emit("presence", stanza);
    }
  }
}

function describeFailure(
  { wasOnline, cause }: ConnectionOutcome,
  { jid, service }: BotLinkOptions,
) {
  const condition = (cause as { condition?: unknown } | undefined)?.condition;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (condition === "not-authorized") {
    return { level: "error" as const, message: `the server refused the bot's login as ${jid}` };
  }
  if (condition === "conflict") {
    return { level: "error" as const, message: `another session replaced the bot's (${jid})` };
  }
  if (typeof code === "string") {
    return { level: "warn" as const, message: `the bot cannot reach ${service} (${code})` };
  }
  if (wasOnline) return { level: "warn" as const, message: "the bot's connection was lost" };
  const reason = cause instanceof Error ? cause.message : "connection closed";
  return { level: "warn" as const, message: `the bot could not log in (${reason})` };
}
