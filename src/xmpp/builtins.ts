import xml, { type Element } from "@xmpp/xml";
import type { Router } from "./router.js";
import { StanzaError } from "./stanza-error.js";
import { NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VERSION } from "./namespaces.js";

export interface SoftwareVersion {
  name: string;
  version: string;
}

/**
 * Service discovery (XEP-0030), ping (XEP-0199) and software version (XEP-0092), answered at the
 * component JID and at every node@component JID. Disco reflects what the services registered.
 */
export function installBuiltins(router: Router, software: SoftwareVersion): void {
  router.feature(NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VERSION);

  // The answer only changes when a service registers something: build it once per change.
  let info: { revision: number; query: Element } | undefined;
  router.iq("get", NS_DISCO_INFO, "query", ({ payload }) => {
    rejectUnknownNode(payload.attrs.node);
    if (info?.revision !== router.discoRevision) {
      const query = xml(
        "query",
        { xmlns: NS_DISCO_INFO },
        ...router.identities.map((identity) => xml("identity", { ...identity })),
        ...router.features.map((feature) => xml("feature", { var: feature })),
      );
      info = { revision: router.discoRevision, query };
    }
    return info.query;
  });

  router.iq("get", NS_DISCO_ITEMS, "query", ({ payload }) => {
    rejectUnknownNode(payload.attrs.node);
    return xml(
      "query",
      { xmlns: NS_DISCO_ITEMS },
      ...router.items.map((item) => xml("item", { ...item })),
    );
  });

  router.iq("get", NS_PING, "ping", () => undefined);

  router.iq("get", NS_VERSION, "query", () =>
    xml(
      "query",
      { xmlns: NS_VERSION },
      xml("name", {}, software.name),
      xml("version", {}, software.version),
    ),
  );
}

/** No service publishes disco nodes yet, so any node is unknown. */
function rejectUnknownNode(node: unknown): void {
  if (node !== undefined) throw new StanzaError("item-not-found", "no such disco node");
}
