import xml, { type Element } from "@xmpp/xml";
import jid, { type JID } from "@xmpp/jid";
import { StanzaError } from "./stanza-error.js";

/**
 * An inbound stanza with its addresses parsed on first use: most handlers read only one of them,
 * and the router's hot path should not pay for JID parsing it does not need.
 */
export class Inbound {
  #from: JID | undefined;
  #to: JID | undefined;

  constructor(
    readonly stanza: Element,
    /** The child element the handler was chosen by. */
    readonly payload: Element,
  ) {}

  get from(): JID {
    return (this.#from ??= parseJid(this.stanza.attrs.from as unknown, "from"));
  }

  get to(): JID {
    return (this.#to ??= parseJid(this.stanza.attrs.to as unknown, "to"));
  }
}

/**
 * The sender's address exactly as the server wrote it, after checking it parses (a missing or
 * malformed one is jid-malformed). Parsing lowercases and escapes; services key users by the
 * address as sent, so that every part of the daemon agrees on who someone is.
 */
export function senderOf(inbound: Inbound): string {
  void inbound.from;
  return inbound.stanza.attrs.from as string;
}

export function parseJid(value: unknown, what: string): JID {
  if (typeof value !== "string" || value === "") {
    throw new StanzaError("jid-malformed", `missing '${what}' address`);
  }
  try {
    return jid(value);
  } catch {
    throw new StanzaError("jid-malformed", `'${what}' is not a valid JID`);
  }
}

/** The first child element, or undefined; text nodes are skipped. */
export function childElements(element: Element): Element[] {
  return element.children.filter((child): child is Element => typeof child !== "string");
}

/** A reply to `stanza` with the addresses swapped and the same id. */
export function replyTo(stanza: Element, type: string, ...children: Element[]): Element {
  const { from, to, id } = stanza.attrs as Record<string, string | undefined>;
  const attrs: Record<string, string> = { type };
  if (from !== undefined) attrs.to = from;
  if (to !== undefined) attrs.from = to;
  if (id !== undefined) attrs.id = id;
  return xml(stanza.name, attrs, ...children);
}

export function errorReply(stanza: Element, error: StanzaError): Element {
  return replyTo(stanza, "error", error.toElement());
}
