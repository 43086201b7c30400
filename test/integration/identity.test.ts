import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Element } from "@xmpp/xml";
import { RawClient } from "../../bench/raw-client.js";
import { TestClient, errorCondition, xml } from "../harness/client.js";
import { Daemon } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { createRoom, setAffiliation, letComponentReadLists } from "../harness/muc.js";
import { startStack, type Stack } from "../harness/stack.js";

/**
 * One identity for every address, on a real server: users whose names hold an XEP-0106 escape
 * and non-ASCII letters, addressed in mixed case in payloads, are the same users in the NEERC
 * board, in presence and in the OLPC index. And a notification reaches every online resource
 * of a user once, whether or not that resource ever spoke to the component.
 */

const NS = "http://neerc.ifmo.ru/protocol/neerc";
const NS_PRESENCE = "urn:concierge:presence:0";
const NS_BUDDY = "http://laptop.org/xmpp/buddy";
const NS_BUDDY_PROPS = "http://laptop.org/xmpp/buddy-properties";
// O'Brien as servers keep him (RFC 7622 forbids ' in a local part; XEP-0106 escapes it).
const OBRIEN = "o\\27brien";
const UNI = "ünï";
const names = ["admin", OBRIEN, UNI, "bob"];
/** Logged in with xmpp.js (SCRAM); xmpp.js cannot log in a non-ASCII user name (see uniClient). */
const ascii = names.filter((name) => name !== UNI);
const account = (name: string) => ({ username: name, password: `pw-${name.length}` });

let stack: Stack;
let daemon: Daemon;
let uni: RawClient;
const clients = new Map<string, TestClient>();

before(async () => {
  stack = await startStack({ accounts: names.map(account) });
  for (const name of ascii) {
    clients.set(name, await TestClient.connect(stack, account(name), "desk"));
  }
  // xmpp.js's SCRAM sends a non-ASCII user name in a form Prosody refuses ("Invalid username");
  // a raw client logging in with PLAIN (allowed by the private server) is who ünï is.
  uni = await RawClient.connect({
    host: "127.0.0.1",
    port: stack.prosody.c2sPort,
    domain: stack.prosody.domain,
    username: UNI,
    password: account(UNI).password,
    resource: "desk",
  });
  await uni.available();
  const admin = clients.get("admin")!;
  const room = `neerc@${stack.prosody.mucDomain}`;
  await createRoom(admin, room);
  await letComponentReadLists(admin, room, stack);
  // Written as a person might: the server keeps them in its normal form, we must too.
  await setAffiliation(admin, room, `O\\27Brien@LocalHost`, "member");
  await setAffiliation(admin, room, `ÜNÏ@LOCALHOST`, "admin");
  await setAffiliation(admin, room, `Bob@localhost`, "member");
  daemon = await Daemon.start(stack, {
    name: "identity",
    logLevel: "info",
    extra: { neerc: { muc_service: stack.prosody.mucDomain }, olpc: {} },
  });
  await daemon.waitOnline();
});

after(async () => {
  for (const c of clients.values()) await c.stop();
  await uni?.close();
  await daemon?.stop();
  await stack?.stop();
});

const client = (name: string) => clients.get(name)!;
const iq = (from: string, type: "get" | "set", payload: Element) =>
  client(from).request(xml("iq", { type, to: stack.componentJid }, payload));
const mirror = (user: string) =>
  `${user.replace(/\\/g, "\\5c").replace("@", "\\40")}@${stack.componentJid}`;

describe("one identity for every address", () => {
  test("the board knows users by their normal names, however the room's lists were written", async () => {
    const reply = await iq("admin", "get", xml("query", { xmlns: `${NS}#users` }));
    assert.equal(reply.attrs.type, "result", reply.toString());
    const users = reply
      .getChild("query")!
      .getChildren("user")
      .map((u) => `${u.attrs.name} ${u.attrs.power}`);
    assert.deepEqual(users, ["admin yes", "bob no", `${OBRIEN} no`, `${UNI} yes`]);
  });

  test("a task for o\\27brien reaches each of his resources once, the one that never spoke to us too", async () => {
    const phone = await TestClient.connect(stack, account(OBRIEN), "phone");
    clients.set(`${OBRIEN}-phone`, phone);
    // The phone is presence-aware; the desk (a plain NEERC client) never sent us anything.
    await phone.xmpp.send(xml("presence", { to: stack.componentJid }));
    await phone.waitFor(
      (s) => s.name === "presence" && s.attrs.from === mirror(`${OBRIEN}@localhost`),
    );
    const desk = client(OBRIEN);
    const reply = await iq(
      "admin",
      "set",
      xml(
        "task",
        { xmlns: `${NS}#task`, title: "Check the printer", type: "todo" },
        xml("status", { for: OBRIEN, type: "none" }),
      ),
    );
    assert.equal(reply.attrs.type, "result", reply.toString());
    const id = String(reply.getChild("task")!.attrs.id);
    const headlines = (c: TestClient) =>
      c.received.filter(
        (s) => s.name === "message" && s.attrs.type === "headline" && s.toString().includes(id),
      );
    await eventually(
      () => headlines(desk).length + headlines(phone).length,
      (n) => n >= 2,
      "both resources told",
    );
    await new Promise((resolve) => setTimeout(resolve, 300)); // and no second copy on the way
    assert.equal(headlines(desk).length, 1, "the desk gets one copy");
    assert.equal(headlines(phone).length, 1, "the phone gets one copy");

    const done = await iq(
      OBRIEN,
      "set",
      xml("taskstatus", { xmlns: `${NS}#taskstatus`, id, type: "running" }),
    );
    assert.equal(done.attrs.type, "result", done.toString());
  });

  test("presence: users with escapes and accents see each other, from their mirror JIDs", async () => {
    uni.send(`<presence to='${stack.componentJid}'/>`);
    await client("bob").xmpp.send(xml("presence", { to: stack.componentJid }));
    const seen = await client("bob").waitFor(
      (s) => s.name === "presence" && s.attrs.from === mirror(`${UNI}@localhost`),
    );
    assert.equal(seen.getChild("x", NS_PRESENCE)?.attrs.jid, `${UNI}@localhost`);
    await client("bob").waitFor(
      (s) => s.name === "presence" && s.attrs.from === mirror(`${OBRIEN}@localhost`),
    );
  });

  test("the OLPC index finds a buddy named in any case", async () => {
    const published = await iq(
      OBRIEN,
      "set",
      xml(
        "properties",
        { xmlns: NS_BUDDY_PROPS },
        xml("property", { type: "str", name: "color" }, "#112233,#445566"),
      ),
    );
    assert.equal(errorCondition(published), undefined, published.toString());
    for (const spelling of [`${OBRIEN}@localhost`, `O\\27BRIEN@LocalHost`]) {
      const reply = await iq(
        "bob",
        "get",
        xml("query", { xmlns: NS_BUDDY }, xml("buddy", { jid: spelling })),
      );
      const buddies = reply.getChild("query", NS_BUDDY)?.getChildren("buddy") ?? [];
      assert.deepEqual(
        buddies.map((b) => String(b.attrs.jid)),
        [`${OBRIEN}@localhost`],
        `${spelling}: ${reply.toString()}`,
      );
    }
    // A character RFC 7622 forbids in a local part is refused, not matched loosely.
    const odd = await iq(
      "bob",
      "get",
      xml("query", { xmlns: NS_BUDDY }, xml("buddy", { jid: "o'brien@localhost" })),
    );
    assert.equal(errorCondition(odd), "jid-malformed");
  });
});
