import type { FailureLine } from "../backoff.js";
import { StanzaError } from "../xmpp/stanza-error.js";

/** The XMPP server behind a MUC service, as its software version says; undefined if unknown. */
export type ServerSoftware = "prosody" | "ejabberd" | undefined;

export function serverSoftware(name: string | undefined): ServerSoftware {
  const lower = name?.toLowerCase() ?? "";
  if (lower.includes("prosody")) return "prosody";
  if (lower.includes("ejabberd")) return "ejabberd";
  return undefined;
}

/**
 * The affiliation a NEERC room must give the component JID so that the component may read the
 * room's member, admin and owner lists: the least that does it on each server. Prosody lets only
 * owners read the owner list; ejabberd 23.01 silently drops an owner affiliation for a JID
 * without a local part (a component) but keeps admin, which reads all three lists there.
 */
export function componentAffiliation(software: "prosody" | "ejabberd"): "owner" | "admin" {
  return software === "prosody" ? "owner" : "admin";
}

/**
 * What the operator must change when a room refuses the component its member lists
 * (componentAffiliation).
 */
export function listsRefused(
  error: unknown,
  componentJid: string,
  roomJid: string,
  software: ServerSoftware,
): FailureLine {
  const said =
    error instanceof StanzaError
      ? error.text
        ? `${error.condition}: ${error.text}`
        : error.condition
      : error instanceof Error
        ? error.message
        : String(error);
  const fix =
    software === "prosody"
      ? `make ${componentJid} an ${componentAffiliation(software)} of the room`
      : software === "ejabberd"
        ? `make ${componentJid} an ${componentAffiliation(software)} of the room (ejabberd drops an owner affiliation for a component JID), e.g. ejabberdctl set_room_affiliation ${roomName(roomJid)} ${componentJid} admin`
        : `make ${componentJid} an owner of the room on Prosody, an admin on ejabberd`;
  return {
    level: "error",
    message: `cannot read the members of ${roomJid} (${said}): ${fix}`,
  };
}

/** "neerc conference.example.org": ejabberdctl's room and service arguments. */
function roomName(roomJid: string): string {
  const at = roomJid.indexOf("@");
  return `${roomJid.slice(0, at)} ${roomJid.slice(at + 1)}`;
}
