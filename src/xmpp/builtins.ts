import xml, { type Element } from "@xmpp/xml";
import { CAPS_NODE, capsVer } from "./caps.js";
import type { DiscoNode, Router } from "./router.js";
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
  // The same answer is given at our entity-capabilities node (XEP-0115), echoing the node.
  let info: { revision: number; query: Element; capsNode: string } | undefined;
  router.iq("get", NS_DISCO_INFO, "query", (request) => {
    const { payload } = request;
    if (info?.revision !== router.discoRevision) {
      const children = [
        ...router.identities.map((identity) => xml("identity", { ...identity })),
        ...router.features.map((feature) => xml("feature", { var: feature })),
      ];
      const capsNode = `${CAPS_NODE}#${capsVer(router.identities, router.features)}`;
      info = {
        revision: router.discoRevision,
        query: xml("query", { xmlns: NS_DISCO_INFO }, ...children),
        capsNode,
      };
    }
    const node = payload.attrs.node as unknown;
    if (node === info.capsNode)
      return xml("query", { xmlns: NS_DISCO_INFO, node }, ...info.query.children);
    if (node !== undefined) {
      const { identities, features } = knownNode(router, node, "info").info!(request);
      return xml(
        "query",
        { xmlns: NS_DISCO_INFO, node },
        ...identities.map((identity) => xml("identity", { ...identity })),
        ...features.map((feature) => xml("feature", { var: feature })),
      );
    }
    return info.query;
  });

  router.iq("get", NS_DISCO_ITEMS, "query", (request) => {
    const node = request.payload.attrs.node as unknown;
    if (node !== undefined) {
      const items = knownNode(router, node, "items").items!(request);
      return xml(
        "query",
        { xmlns: NS_DISCO_ITEMS, node },
        ...items.map((item) => xml("item", { ...item })),
      );
    }
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

/** The node a service registered with answers of this kind, or item-not-found. */
function knownNode(router: Router, node: unknown, kind: "info" | "items"): DiscoNode {
  const found = typeof node === "string" ? router.discoNode(node) : undefined;
  if (!found?.[kind]) throw new StanzaError("item-not-found", "no such disco node");
  return found;
}
