import { Component } from "@xmpp/component-core";
import type { Element } from "@xmpp/xml";
import type { PrivateServer } from "../../src/dev/server.js";

/**
 * A raw XEP-0114 connection to the server's component port; resolves once authenticated,
 * rejects with the server's refusal (e.g. a StreamError `not-authorized`).
 */
export async function connectComponent(
  server: PrivateServer,
  jid: string,
  password: string,
  onStanza?: (stanza: Element, entity: Component) => void,
): Promise<Component> {
  const service = `xmpp://127.0.0.1:${server.componentPort}`;
  const entity = new Component({ service, domain: jid });
  const online = new Promise<void>((resolve, reject) => {
    entity.once("online", () => resolve());
    entity.once("error", reject);
  });
  entity.on("error", () => {});
  entity.on("open", (header: Element) => {
    entity.authenticate(String(header.attrs.id), password).catch(() => undefined);
  });
  if (onStanza) entity.on("stanza", (stanza: Element) => onStanza(stanza, entity));
  try {
    await entity.connect(service);
    await entity.open({ domain: jid });
    await online;
  } catch (error) {
    entity.socket?.destroy();
    throw error;
  }
  return entity;
}
