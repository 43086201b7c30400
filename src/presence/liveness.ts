import xml from "@xmpp/xml";
import type { Logger } from "pino";
import { NotConnectedError } from "../xmpp/component-link.js";
import { IqTimeoutError, type IqCaller } from "../xmpp/iq-caller.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import { GONE } from "./stanzas.js";

const NS_PING = "urn:xmpp:ping";

export interface LivenessOptions {
  caller: IqCaller;
  /** The devices to check, as full JIDs. */
  devices: () => Iterable<string>;
  gone: (device: string) => void;
  from: string;
  timeoutMs: number;
  log: Logger;
}

/**
 * Asks devices whether they are still there (XEP-0199 ping). A device whose connection died
 * without a goodbye may look online to the server for minutes; one that does not answer within
 * the timeout, or for which the server answers that it is gone, stops counting.
 */
export class Liveness {
  #running: Promise<void> | undefined;

  constructor(private readonly options: LivenessOptions) {}

  /** Checks every device once; a check already under way is joined, not repeated. */
  check(): Promise<void> {
    return (this.#running ??= this.#checkAll().finally(() => (this.#running = undefined)));
  }

  async #checkAll(): Promise<void> {
    const { caller, from, timeoutMs, log } = this.options;
    const checks: Promise<void>[] = [];
    for (const device of [...this.options.devices()]) {
      const ping = xml("iq", { type: "get", from, to: device }, xml("ping", { xmlns: NS_PING }));
      checks.push(
        caller.request(ping, timeoutMs).then(
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
  return error instanceof StanzaError && GONE.has(error.condition);
}
