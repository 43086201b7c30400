import { StanzaError } from "./stanza-error.js";

/**
 * The one rule for "who is this": every address the daemon keys anything by goes through here.
 * RFC 7622: the localpart and the domainpart are case-folded (Unicode toLowerCase, NFC, full-
 * and half-width forms mapped), the resourcepart is kept as it is (NFC only). XEP-0106 escapes
 * are left alone: `o\27brien@example.org` is a localpart like any other, and no character is
 * escaped on the way in.
 *
 * Addresses the server stamps on stanzas (`from`) are already in this form on Prosody and
 * ejabberd; addresses inside payloads (a room, a buddy, an affiliation item) are whatever a
 * client wrote, and only match after this.
 */

declare const bareBrand: unique symbol;
declare const fullBrand: unique symbol;

/** A normalised address without a resource: a user, a room, a domain. */
export type BareJid = string & { readonly [bareBrand]: true };
/** A normalised address with a resource: one device, one occupant. */
export type FullJid = string & { readonly [fullBrand]: true };

export interface Jid {
  local: string | undefined;
  domain: string;
  resource: string | undefined;
  bare: BareJid;
  /** The whole address, normalised (equal to `bare` when there is no resource). */
  full: string;
}

const LOCAL_DISALLOWED = /["&'/:<>@\s\p{Cc}]/u;
const DOMAIN_DISALLOWED = /[@/\s\p{Cc}\\]/u;
const RESOURCE_DISALLOWED = /\p{Cc}/u;
const MAX_PART_BYTES = 1023;

/** Full- and half-width forms to their plain equivalents (the PRECIS width mapping). */
function widthMapped(text: string): string {
  return /[\uff00-\uffef]/u.test(text)
    ? text.replace(/[\uff00-\uffef]/gu, (c) => c.normalize("NFKC"))
    : text;
}

function caseFolded(part: string): string {
  // Fast path: plain lowercase ASCII is already normal (almost every address).
  if (/^[a-z0-9._\-+=!$%*~\\]*$/.test(part)) return part;
  return widthMapped(part).normalize("NFC").toLowerCase().normalize("NFC");
}

function tooLong(part: string): boolean {
  return part.length > MAX_PART_BYTES || Buffer.byteLength(part) > MAX_PART_BYTES;
}

/** Parses and normalises an address; undefined if it is not a valid JID. */
export function parseJid(text: unknown): Jid | undefined {
  if (typeof text !== "string" || text === "") return undefined;
  const slash = text.indexOf("/");
  const head = slash === -1 ? text : text.slice(0, slash);
  const at = head.indexOf("@");
  const rawLocal = at === -1 ? undefined : head.slice(0, at);
  let domain = caseFolded(at === -1 ? head : head.slice(at + 1));
  if (domain.endsWith(".")) domain = domain.slice(0, -1);
  if (domain === "" || DOMAIN_DISALLOWED.test(domain) || tooLong(domain)) return undefined;
  let local: string | undefined;
  if (rawLocal !== undefined) {
    local = caseFolded(rawLocal);
    if (local === "" || LOCAL_DISALLOWED.test(local) || tooLong(local)) return undefined;
  }
  let resource: string | undefined;
  if (slash !== -1) {
    resource = text.slice(slash + 1).normalize("NFC");
    if (resource === "" || RESOURCE_DISALLOWED.test(resource) || tooLong(resource)) {
      return undefined;
    }
  }
  const bare = (local === undefined ? domain : `${local}@${domain}`) as BareJid;
  return {
    local,
    domain,
    resource,
    bare,
    full: resource === undefined ? bare : `${bare}/${resource}`,
  };
}

/** An address from a stanza or a payload, or jid-malformed naming `what`. */
export function requireJid(text: unknown, what: string): Jid {
  if (typeof text !== "string" || text === "") {
    throw new StanzaError("jid-malformed", `missing ${what}`);
  }
  const parsed = parseJid(text);
  if (!parsed) throw new StanzaError("jid-malformed", `${what} is not a valid JID`);
  return parsed;
}

/** A user's or room's address (`local@domain`, resource dropped), or jid-malformed. */
export function requireUserJid(text: unknown, what: string): BareJid {
  const parsed = requireJid(text, what);
  if (parsed.local === undefined) {
    throw new StanzaError("jid-malformed", `${what} is not a user@domain JID`);
  }
  return parsed.bare;
}

/** The bare part of an address that is already normalised (a FullJid or BareJid). */
export function bareOf(jid: FullJid | BareJid): BareJid {
  const slash = jid.indexOf("/");
  return (slash === -1 ? jid : jid.slice(0, slash)) as BareJid;
}

/** `jid` as a device address if it has a resource. */
export function asFullJid(jid: Jid): FullJid | undefined {
  return jid.resource === undefined ? undefined : (jid.full as FullJid);
}
