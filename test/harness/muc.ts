import type { Element } from "@xmpp/xml";
import { affiliationChange, membersOnlyRoomConfig } from "../../src/dev/neerc-room.js";
import { componentAffiliation } from "../../src/neerc/failures.js";
import { NS_MUC } from "../../src/xmpp/namespaces.js";
import { xml, type TestClient } from "./client.js";
import type { Stack } from "./stack.js";

function assertResult(reply: Element, what: string): void {
  if (reply.attrs.type !== "result") throw new Error(`${what} failed: ${reply.toString()}`);
}

/** Creates a persistent members-only room owned by `owner`, who stays in it. */
export async function createRoom(owner: TestClient, roomJid: string): Promise<void> {
  await owner.xmpp.send(xml("presence", { to: `${roomJid}/owner` }, xml("x", { xmlns: NS_MUC })));
  await owner.waitFor(
    (s) => s.name === "presence" && String(s.attrs.from).startsWith(`${roomJid}/`),
  );
  const reply = await owner.request(
    xml("iq", { type: "set", to: roomJid }, membersOnlyRoomConfig()),
  );
  assertResult(reply, `configuring ${roomJid}`);
}

/** Sets one affiliation (Prosody applies one item per request). */
export async function setAffiliation(
  owner: TestClient,
  roomJid: string,
  jid: string,
  affiliation: "owner" | "admin" | "member" | "none" | "outcast",
): Promise<void> {
  const reply = await owner.request(
    xml("iq", { type: "set", to: roomJid }, affiliationChange(jid, affiliation)),
  );
  assertResult(reply, `making ${jid} ${affiliation} of ${roomJid}`);
}

/**
 * Gives the component the affiliation that lets it read a NEERC room's lists on the stack's
 * server, as the README tells operators to (owner on Prosody, admin on ejabberd).
 */
export function letComponentReadLists(owner: TestClient, roomJid: string, stack: Stack) {
  return setAffiliation(
    owner,
    roomJid,
    stack.componentJid,
    componentAffiliation(stack.prosody.kind),
  );
}
