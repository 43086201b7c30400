import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TestClient, errorCondition, xml } from "../harness/client.js";
import { Daemon } from "../harness/daemon.js";
import { startStack, type Stack } from "../harness/stack.js";

const DISCO_INFO = "http://jabber.org/protocol/disco#info";
const DISCO_ITEMS = "http://jabber.org/protocol/disco#items";

let stack: Stack;
let daemon: Daemon;
let alice: TestClient;

before(async () => {
  stack = await startStack();
  daemon = await Daemon.start(stack);
  await daemon.waitOnline();
  alice = await TestClient.connect(stack, stack.accounts[0]!);
});

after(async () => {
  await alice?.stop();
  await daemon?.stop();
  await stack?.stop();
});

const iq = (type: "get" | "set", to: string, ...children: ReturnType<typeof xml>[]) =>
  xml("iq", { type, to }, ...children);

describe("built-in services through Prosody", () => {
  test("disco#info names the component and its features", async () => {
    const reply = await alice.request(
      iq("get", stack.componentJid, xml("query", { xmlns: DISCO_INFO })),
    );
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.attrs.from, stack.componentJid);
    const query = reply.getChild("query", DISCO_INFO)!;
    const identity = query.getChild("identity")!;
    assert.deepEqual(
      { ...(identity.attrs as Record<string, string>) },
      { category: "component", type: "generic", name: "Concierge" },
    );
    const features = query.getChildren("feature").map((f) => f.attrs.var as string);
    for (const ns of [DISCO_INFO, DISCO_ITEMS, "urn:xmpp:ping", "jabber:iq:version"]) {
      assert.ok(features.includes(ns), `feature ${ns} in ${features.join(", ")}`);
    }
  });

  test("disco#info is answered at node@component too", async () => {
    const to = `neerc@${stack.componentJid}`;
    const reply = await alice.request(iq("get", to, xml("query", { xmlns: DISCO_INFO })));
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.attrs.from, to);
  });

  test("disco#info of an unknown node is item-not-found", async () => {
    const reply = await alice.request(
      iq("get", stack.componentJid, xml("query", { xmlns: DISCO_INFO, node: "nope" })),
    );
    assert.equal(errorCondition(reply), "item-not-found");
  });

  test("disco#items answers with an item list", async () => {
    const reply = await alice.request(
      iq("get", stack.componentJid, xml("query", { xmlns: DISCO_ITEMS })),
    );
    assert.equal(reply.attrs.type, "result");
    assert.ok(reply.getChild("query", DISCO_ITEMS));
  });

  test("ping is answered with an empty result", async () => {
    const reply = await alice.request(
      iq("get", stack.componentJid, xml("ping", { xmlns: "urn:xmpp:ping" })),
    );
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.children.length, 0);
  });

  test("software version names Concierge", async () => {
    const reply = await alice.request(
      iq("get", stack.componentJid, xml("query", { xmlns: "jabber:iq:version" })),
    );
    const query = reply.getChild("query", "jabber:iq:version")!;
    assert.equal(query.getChildText("name"), "Concierge");
    assert.match(query.getChildText("version") ?? "", /^\d+\.\d+\.\d+/);
  });
});

describe("bad requests get stanza errors and the daemon keeps serving", () => {
  test("an unknown iq is service-unavailable", async () => {
    const reply = await alice.request(
      iq("get", stack.componentJid, xml("query", { xmlns: "urn:example:nothing" })),
    );
    assert.equal(errorCondition(reply), "service-unavailable");
    assert.equal(reply.getChild("error")?.attrs.type, "cancel");
  });

  test("a set where only get is served is service-unavailable", async () => {
    const reply = await alice.request(
      iq("set", stack.componentJid, xml("ping", { xmlns: "urn:xmpp:ping" })),
    );
    assert.equal(errorCondition(reply), "service-unavailable");
  });

  test("an iq with no child is bad-request", async () => {
    const reply = await alice.request(iq("get", stack.componentJid));
    assert.equal(errorCondition(reply), "bad-request");
  });

  test("an iq with two children is bad-request", async () => {
    const reply = await alice.request(
      iq(
        "get",
        stack.componentJid,
        xml("ping", { xmlns: "urn:xmpp:ping" }),
        xml("query", { xmlns: DISCO_INFO }),
      ),
    );
    assert.equal(errorCondition(reply), "bad-request");
  });

  test("a message or presence nobody handles gets no answer and changes nothing", async () => {
    await alice.xmpp.send(
      xml("message", { to: stack.componentJid, type: "chat" }, xml("body", {}, "hi")),
    );
    await alice.xmpp.send(xml("presence", { to: stack.componentJid }));
    const reply = await alice.request(
      iq("get", stack.componentJid, xml("ping", { xmlns: "urn:xmpp:ping" })),
    );
    assert.equal(reply.attrs.type, "result");
    assert.equal(alice.received.filter((s) => s.attrs.from === stack.componentJid).length, 0);
  });

  test("after a burst of malformed requests, requests are still served", async () => {
    const bad = Array.from({ length: 50 }, (_, i) =>
      alice.request(
        i % 2
          ? iq("get", stack.componentJid)
          : iq("set", stack.componentJid, xml("x", { xmlns: "urn:x" }), xml("y")),
      ),
    );
    for (const reply of await Promise.all(bad)) assert.equal(errorCondition(reply), "bad-request");
    const reply = await alice.request(
      iq("get", stack.componentJid, xml("ping", { xmlns: "urn:xmpp:ping" })),
    );
    assert.equal(reply.attrs.type, "result");
    assert.equal(daemon.child.exitCode, null);
  });
});

describe("reconnection", () => {
  test("the component reconnects by itself after Prosody restarts, and serves again", async () => {
    const onlineBefore = daemon.logs.filter((line) => line.msg === "component online").length;
    await alice.stop();
    await stack.prosody.restart();
    await daemon.waitForLog((line) => line.msg.startsWith("connection to the XMPP server lost"));
    await daemon.waitOnline(onlineBefore + 1, 20_000);
    alice = await TestClient.connect(stack, stack.accounts[0]!);
    const reply = await alice.request(
      iq("get", stack.componentJid, xml("ping", { xmlns: "urn:xmpp:ping" })),
    );
    assert.equal(reply.attrs.type, "result");
  });
});
