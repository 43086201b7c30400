import xml from "@xmpp/xml";
import { FencedError, StorageUnavailableError } from "./db/errors.js";
import { IqTimeoutError } from "./xmpp/iq-caller.js";
import { NotConnectedError } from "./xmpp/link.js";
import { NS_CONCIERGE_ERRORS } from "./xmpp/namespaces.js";
import { StanzaError } from "./xmpp/stanza-error.js";

/**
 * The failures with a known meaning that handlers let through, as the error a client gets: all
 * are temporary (type wait), say what is missing, and carry an application-specific condition a
 * client can test for. Anything else stays an internal-server-error.
 */
export function explainFailure(error: unknown): StanzaError | undefined {
  if (error instanceof StorageUnavailableError) {
    return new StanzaError(
      "service-unavailable",
      "the storage is unavailable; try again in a few seconds",
      "wait",
      xml("storage-unavailable", { xmlns: NS_CONCIERGE_ERRORS }),
    );
  }
  if (error instanceof FencedError) {
    return new StanzaError(
      "service-unavailable",
      "this instance is handing over to another; try again in a few seconds",
      "wait",
      xml("handing-over", { xmlns: NS_CONCIERGE_ERRORS }),
    );
  }
  if (error instanceof NotConnectedError || error instanceof IqTimeoutError) {
    return new StanzaError(
      "service-unavailable",
      "the XMPP server did not answer a request this needs; try again in a few seconds",
      "wait",
      xml("upstream-unavailable", { xmlns: NS_CONCIERGE_ERRORS }),
    );
  }
  return undefined;
}
