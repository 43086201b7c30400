import type { Element } from "@xmpp/xml";
import { requireUserJid, type BareJid } from "../xmpp/jid.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import { childElements } from "../xmpp/stanza.js";

/** Small, strict readers shared by the OLPC parsers. Every refusal is a StanzaError. */

/** The namespace an element is in: its own `xmlns`, else the one it inherits. */
export function namespaceOf(element: Element, inherited: string | undefined): string | undefined {
  const own: unknown = element.attrs.xmlns;
  return typeof own === "string" ? own : inherited;
}

/** The children of `parent` that are elements, each with the namespace it is in. */
export function childrenWithNs(
  parent: Element,
  parentNs: string | undefined,
): { element: Element; ns: string | undefined }[] {
  return childElements(parent).map((element) => ({ element, ns: namespaceOf(element, parentNs) }));
}

/** An attribute as text, or undefined when absent; anything else is refused. */
export function optionalAttr(element: Element, name: string): string | undefined {
  const value: unknown = element.attrs[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw new StanzaError("bad-request", `<${element.name}/> attribute '${name}' must be text`);
  }
  return value;
}

/** A non-empty attribute no longer than `maxLength`. */
export function requiredAttr(element: Element, name: string, maxLength: number): string {
  const value = optionalAttr(element, name);
  if (value === undefined || value === "") {
    throw new StanzaError("bad-request", `<${element.name}/> needs the '${name}' attribute`);
  }
  checkLength(element, name, value, maxLength);
  return value;
}

export function checkLength(element: Element, name: string, value: string, max: number): void {
  if (value.length > max) {
    throw new StanzaError(
      "policy-violation",
      `<${element.name}/> attribute '${name}' is longer than ${max} characters`,
    );
  }
}

/** The character data of an element that must not contain elements. */
export function textOnly(element: Element, what: string): string {
  if (childElements(element).length > 0) {
    throw new StanzaError("bad-request", `${what} must contain only text`);
  }
  return element.getText();
}

/**
 * A bare JID with a local part (a buddy or a room), normalised by the daemon's one rule
 * (src/xmpp/jid.ts). A resource is dropped: the index only ever deals in bare JIDs.
 */
export function parseBareJid(value: string, what: string): BareJid {
  return requireUserJid(value, `${what} '${value.slice(0, 100)}'`);
}

/** A JID attribute, required, as a bare JID. */
export function jidAttr(element: Element, name: string): BareJid {
  const value = optionalAttr(element, name);
  if (value === undefined || value === "") {
    throw new StanzaError("bad-request", `<${element.name}/> needs the '${name}' attribute`);
  }
  return parseBareJid(value, `<${element.name}/> '${name}'`);
}

const DECIMAL = /^\d+$/u;

/**
 * A non-negative decimal integer (no sign, no fraction). Every use caps it (a size, a page size)
 * or compares it (an index), so one past 2^53 is read as Number.MAX_SAFE_INTEGER.
 */
export function parseCount(text: string, what: string): number {
  const trimmed = text.trim();
  if (!DECIMAL.test(trimmed)) {
    throw new StanzaError("bad-request", `${what} must be a non-negative integer, not '${text}'`);
  }
  return Math.min(Number(trimmed), Number.MAX_SAFE_INTEGER);
}
