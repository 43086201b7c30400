import xml, { type Element } from "@xmpp/xml";
import { asFullJid, requireJid, type BareJid, type FullJid, type Jid } from "./jid.js";
import { StanzaError } from "./stanza-error.js";

/**
 * An inbound stanza with its addresses parsed and normalised on first use (src/xmpp/jid.ts):
 * most handlers read only one of them, and the router's hot path should not pay for parsing it
 * does not need. A missing or invalid address is jid-malformed.
 */
export class Inbound {
  #from: Jid | undefined;
  #to: Jid | undefined;

  constructor(
    readonly stanza: Element,
    /** The child element the handler was chosen by. */
    readonly payload: Element,
  ) {}

  get from(): Jid {
    return (this.#from ??= requireJid(this.stanza.attrs.from, "'from' address"));
  }

  get to(): Jid {
    return (this.#to ??= requireJid(this.stanza.attrs.to, "'to' address"));
  }

  /** The sending user (bare JID). */
  get user(): BareJid {
    return this.from.bare;
  }

  /** The sending device (full JID); a sender without a resource is jid-malformed. */
  get device(): FullJid {
    const device = asFullJid(this.from);
    if (!device) throw new StanzaError("jid-malformed", "the sender has no resource");
    return device;
  }
}

/** The child elements; text nodes are skipped. */
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
