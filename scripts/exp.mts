import { pino } from "pino";
import xml from "@xmpp/xml";
import { startStack } from "../test/harness/stack.ts";
import { TestClient } from "../test/harness/client.ts";
import { ComponentLink } from "../src/xmpp/component-link.ts";
import { Router } from "../src/xmpp/router.ts";
const s = await startStack();
const log = pino({ level: "warn" });
const link = new ComponentLink({
  host: "127.0.0.1",
  port: s.prosody.componentPort,
  domain: s.componentJid,
  secret: s.secret,
  reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
  log,
});
const router = new Router((el) => link.send(el), log);
link.on("stanza", (el) => {
  console.log("COMP IN", el.toString().slice(0, 300));
  router.dispatch(el);
});
link.start();
await link.waitOnline();
const owner = await TestClient.connect(s, s.accounts[0]!);
const room = `neerc@${s.prosody.mucDomain}`;
await owner.xmpp.send(
  xml("presence", { to: `${room}/admin` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })),
);
await new Promise((r) => setTimeout(r, 300));
const form = await owner.request(
  xml(
    "iq",
    { type: "get", to: room },
    xml("query", { xmlns: "http://jabber.org/protocol/muc#owner" }),
  ),
);
console.log("FORM", form.toString().slice(0, 3000));
const submit = await owner.request(
  xml(
    "iq",
    { type: "set", to: room },
    xml(
      "query",
      { xmlns: "http://jabber.org/protocol/muc#owner" },
      xml(
        "x",
        { xmlns: "jabber:x:data", type: "submit" },
        xml(
          "field",
          { var: "FORM_TYPE" },
          xml("value", {}, "http://jabber.org/protocol/muc#roomconfig"),
        ),
        xml("field", { var: "muc#roomconfig_persistentroom" }, xml("value", {}, "1")),
      ),
    ),
  ),
);
console.log("SUBMIT", submit.toString());
const aff = await owner.request(
  xml(
    "iq",
    { type: "set", to: room },
    xml(
      "query",
      { xmlns: "http://jabber.org/protocol/muc#admin" },
      xml("item", { affiliation: "admin", jid: s.componentJid }),
      xml("item", { affiliation: "member", jid: "user2@localhost" }),
    ),
  ),
);
console.log("AFF", aff.toString());
for (const a of ["owner", "admin", "member"]) {
  try {
    const r = await router.caller.request(
      xml(
        "iq",
        { type: "get", to: room, from: s.componentJid },
        xml(
          "query",
          { xmlns: "http://jabber.org/protocol/muc#admin" },
          xml("item", { affiliation: a }),
        ),
      ),
      3000,
    );
    console.log("LIST", a, r.toString());
  } catch (e) {
    console.log("LIST ERR", a, (e as Error).message);
  }
}
try {
  const r = await router.caller.request(
    xml(
      "iq",
      { type: "get", to: `nope@${s.prosody.mucDomain}`, from: s.componentJid },
      xml(
        "query",
        { xmlns: "http://jabber.org/protocol/muc#admin" },
        xml("item", { affiliation: "member" }),
      ),
    ),
    3000,
  );
  console.log("NOPE", r.toString());
} catch (e) {
  console.log("NOPE ERR", (e as Error).message);
}
// headline to bare jid
await link.send(
  xml(
    "message",
    { to: "user1@localhost", from: s.componentJid, type: "headline" },
    xml("body", {}, "hello"),
  ),
);
await new Promise((r) => setTimeout(r, 300));
console.log(
  "OWNER GOT",
  owner.received.map((e) => e.toString().slice(0, 200)),
);
await owner.stop();
await link.stop();
await s.stop();
