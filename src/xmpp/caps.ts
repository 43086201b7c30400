import { createHash } from "node:crypto";
import xml, { type Element } from "@xmpp/xml";
import type { Identity } from "./router.js";
import { NS_CAPS } from "./namespaces.js";

/** Names this software in entity capabilities (XEP-0115). */
export const CAPS_NODE = "urn:concierge:caps";

/** The XEP-0115 verification string of an identity and feature set (SHA-1, base64). */
export function capsVer(identities: readonly Identity[], features: readonly string[]): string {
  const ids = identities.map((i) => `${i.category}/${i.type}//${i.name ?? ""}<`).sort();
  const vars = [...features].sort().map((f) => `${f}<`);
  return createHash("sha1")
    .update(ids.join("") + vars.join(""))
    .digest("base64");
}

/** The `<c/>` element a presence carries so that servers (PEP) can learn our features. */
export function capsElement(ver: string): Element {
  return xml("c", { xmlns: NS_CAPS, hash: "sha-1", node: CAPS_NODE, ver });
}
