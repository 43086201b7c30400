/**
 * The demo's NEERC room, made as an operator would make it: its owner creates a persistent
 * members-only room, gives the component the affiliation that lets it read the lists on this
 * server, and lists the members. Running it again on an existing room only sets the
 * affiliations again.
 */
import { client, xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { componentAffiliation } from "../neerc/failures.js";
import { NS_DATA, NS_MUC, NS_MUC_ADMIN, NS_MUC_OWNER } from "../xmpp/namespaces.js";
import type { Account, PrivateServer } from "./server.js";

export interface NeercRoomPlan {
  room: string;
  owner: Account;
  /** Local parts of the members (people without power on the board). */
  members: string[];
  componentJid: string;
}

/** Creates (or updates) the room on `server`; resolves with its JID. */
export async function prepareNeercRoom(
  server: PrivateServer,
  plan: NeercRoomPlan,
): Promise<string> {
  const roomJid = `${plan.room}@${server.mucDomain}`;
  const xmpp = client({
    service: server.service,
    domain: server.domain,
    username: plan.owner.username,
    password: plan.owner.password,
    resource: "neerc-setup",
  });
  xmpp.reconnect.stop();
  xmpp.on("error", () => {});
  const replies = new Map<string, (reply: Element) => void>();
  const joined = new Promise<Element>((resolve) => {
    xmpp.on("stanza", (stanza: Element) => {
      if (stanza.name === "presence" && String(stanza.attrs.from).startsWith(`${roomJid}/`)) {
        resolve(stanza);
      }
      if (stanza.name === "iq") replies.get(String(stanza.attrs.id))?.(stanza);
    });
  });
  let sent = 0;
  await xmpp.start();
  try {
    await xmpp.send(xml("presence", { to: `${roomJid}/setup` }, xml("x", { xmlns: NS_MUC })));
    await withDeadline(joined, `joining ${roomJid}`);
    const request = async (payload: Element) => {
      const id = `setup${++sent}`;
      const reply = new Promise<Element>((resolve) => replies.set(id, resolve));
      await xmpp.send(xml("iq", { type: "set", to: roomJid, id }, payload));
      const answer = await withDeadline(reply, `setting up ${roomJid}`);
      if (answer.attrs.type !== "result") {
        throw new Error(`setting up ${roomJid} failed: ${answer.toString()}`);
      }
    };
    await request(membersOnlyRoomConfig());
    const affiliations: [string, string][] = [
      [plan.componentJid, componentAffiliation(server.kind)],
      ...plan.members.map((member): [string, string] => [`${member}@${server.domain}`, "member"]),
    ];
    // Prosody applies only the first item of a request: one request per affiliation.
    for (const [jid, affiliation] of affiliations) {
      await request(affiliationChange(jid, affiliation));
    }
    await xmpp.send(xml("presence", { to: `${roomJid}/setup`, type: "unavailable" }));
  } finally {
    await xmpp.stop().catch(() => undefined);
  }
  return roomJid;
}

/** The owner's form for a persistent members-only room (a NEERC room, as the README says). */
export function membersOnlyRoomConfig(): Element {
  const field = (name: string, value: string) =>
    xml("field", { var: name }, xml("value", {}, value));
  return xml(
    "query",
    { xmlns: NS_MUC_OWNER },
    xml(
      "x",
      { xmlns: NS_DATA, type: "submit" },
      field("FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig"),
      field("muc#roomconfig_persistentroom", "1"),
      field("muc#roomconfig_membersonly", "1"),
    ),
  );
}

/** One affiliation change (Prosody applies only the first item of a request). */
export function affiliationChange(jid: string, affiliation: string): Element {
  return xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { jid, affiliation }));
}

function withDeadline<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer while ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
