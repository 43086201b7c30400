import xml, { type Element } from "@xmpp/xml";
import type { Logger } from "pino";
import { IqTimeoutError } from "../xmpp/iq-caller.js";
import type { FullJid } from "../xmpp/jid.js";
import { NotConnectedError } from "../xmpp/link.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import { GONE } from "./stanzas.js";
import { NS_PING } from "../xmpp/namespaces.js";

export interface LivenessOptions {
  link: { request(iq: Element, timeoutMs?: number): Promise<Element> };
  /** The devices to check. */
  devices: () => Iterable<FullJid>;
  gone: (device: FullJid) => void;
  from: string;
  timeoutMs: number;
  log: Logger;
}

/**
 * Asks devices whether they are still there (XEP-0199 ping). A device whose connection died
 * without a goodbye may look online to the server for minutes; one that does not answer within
 * the timeout, or for which the server answers that it is gone, stops counting. A device that
 * answers, even with an error (it does not do ping), is there.
 */
export class Liveness {
  #running: Promise<void> | undefined;

  constructor(private readonly options: LivenessOptions) {}

  /** Checks every device once; a check already under way is joined, not repeated. */
  check(): Promise<void> {
    return (this.#running ??= this.#checkAll().finally(() => (this.#running = undefined)));
  }

  async #checkAll(): Promise<void> {
    const { link, from, timeoutMs, log } = this.options;
    const checks: Promise<void>[] = [];
    for (const device of [...this.options.devices()]) {
      const ping = xml("iq", { type: "get", from, to: device }, xml("ping", { xmlns: NS_PING }));
      checks.push(
        link.request(ping, timeoutMs).then(
          () => undefined,
          (error: unknown) => {
            if (!isGone(error)) return;
            log.debug({ device, reason: (error as Error).message }, "device is gone");
            this.options.gone(device);
          },
        ),
      );
    }
    await Promise.all(checks);
  }
}

function isGone(error: unknown): boolean {
  if (error instanceof NotConnectedError) return false; // we are the ones offline
  if (error instanceof IqTimeoutError) return true;
  if (!(error instanceof StanzaError) || !GONE.has(error.condition)) return false;
  return !answeredByDevice(error);
}

/**
 * XEP-0199 tells a client without ping to answer service-unavailable, and the server answers
 * exactly that for a resource that is not there (RFC 6121 §8.5.3.2.1): same sender, same type,
 * same speed. What differs is the path. A client's answer comes through its session, and the
 * server stamps it with the session's language (RFC 6120 §8.1.5); the server's own answer to
 * our ping, which has no language, has none (checked on Prosody 0.12 and ejabberd 23.01;
 * ejabberd also says "User session not found").
 */
function answeredByDevice(error: StanzaError): boolean {
  if (/session not found/i.test(error.text ?? "")) return false;
  return typeof error.stanza?.attrs["xml:lang"] === "string";
}
