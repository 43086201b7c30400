import assert from "node:assert/strict";
import { describe, test } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { pino } from "pino";
import { installBuiltins } from "../../src/xmpp/builtins.js";
import { CAPS_NODE, capsVer } from "../../src/xmpp/caps.js";
import {
  NS_DISCO_INFO,
  NS_DISCO_ITEMS,
  NS_PING,
  NS_STANZAS,
  NS_VERSION,
} from "../../src/xmpp/namespaces.js";
import { Router } from "../../src/xmpp/router.js";

const USER = "romeo@montague.example/orchard";
const COMPONENT = "concierge.example.org";
const SOFTWARE = { name: "Concierge", version: "1.2.3" };

function setup() {
  const sent: Element[] = [];
  const router = new Router(
    (element) => {
      sent.push(element);
    },
    pino({ level: "silent" }),
  );
  installBuiltins(router, SOFTWARE);
  /** Dispatches an iq to the router and returns the one reply it sent. */
  const ask = (type: string, payload: Element, attrs: Record<string, string> = {}): Element => {
    const before = sent.length;
    router.dispatch(xml("iq", { type, id: "b-1", from: USER, to: COMPONENT, ...attrs }, payload));
    assert.equal(sent.length, before + 1, "expected exactly one reply");
    return sent[sent.length - 1] as Element;
  };
  return { router, sent, ask };
}

function children(element: Element | undefined, name?: string): Element[] {
  assert.ok(element, "missing element");
  return element.children.filter(
    (child): child is Element => typeof child !== "string" && (!name || child.name === name),
  );
}

function condition(reply: Element): { condition: string | undefined; type: unknown } {
  assert.equal(reply.attrs.type, "error", reply.toString());
  const error = reply.getChild("error");
  const found = children(error).find(
    (child) => child.attrs.xmlns === NS_STANZAS && child.name !== "text",
  );
  return { condition: found?.name, type: error?.attrs.type };
}

describe("installBuiltins: features", () => {
  test("advertises disco#info, disco#items, ping and version", () => {
    const { router } = setup();
    for (const ns of [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VERSION]) {
      assert.ok(router.features.includes(ns), `missing ${ns}`);
    }
  });

  test("installing twice on one router throws (handlers already registered)", () => {
    const { router } = setup();
    assert.throws(() => installBuiltins(router, SOFTWARE), /already registered/);
  });
});

describe("installBuiltins: disco#info", () => {
  test("answers with the registered identities and the sorted features", () => {
    const { router, ask } = setup();
    router.identity({ category: "component", type: "generic", name: "Concierge" });
    router.identity({ category: "conference", type: "text" });
    router.feature("urn:example:zzz", "http://jabber.org/protocol/muc");

    const reply = ask("get", xml("query", { xmlns: NS_DISCO_INFO }));
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.attrs.to, USER);
    assert.equal(reply.attrs.from, COMPONENT);
    assert.equal(reply.attrs.id, "b-1");

    const query = reply.getChild("query", NS_DISCO_INFO);
    assert.ok(query);
    assert.equal(query.attrs.node, undefined);
    assert.deepEqual(
      children(query, "identity").map((identity) => ({ ...identity.attrs })),
      [
        { category: "component", type: "generic", name: "Concierge" },
        { category: "conference", type: "text" },
      ],
    );
    assert.deepEqual(
      children(query, "feature").map((feature) => feature.attrs.var as unknown),
      [
        NS_DISCO_INFO,
        NS_DISCO_ITEMS,
        "http://jabber.org/protocol/muc",
        NS_VERSION,
        "urn:example:zzz",
        NS_PING,
      ].sort(),
    );
  });

  test("an identity without a name is serialized without a name attribute", () => {
    const { router, ask } = setup();
    router.identity({ category: "component", type: "generic" });

    const serialized = ask("get", xml("query", { xmlns: NS_DISCO_INFO })).toString();
    assert.ok(serialized.includes('<identity category="component" type="generic"/>'), serialized);
  });

  test("reflects features and identities registered after installation", () => {
    const { router, ask } = setup();
    const before = children(ask("get", xml("query", { xmlns: NS_DISCO_INFO })).getChild("query"));
    router.feature("urn:example:late").identity({ category: "store", type: "file" });
    const after = children(ask("get", xml("query", { xmlns: NS_DISCO_INFO })).getChild("query"));

    assert.equal(after.length, before.length + 2);
    assert.ok(after.some((child) => child.attrs.var === "urn:example:late"));
    assert.ok(after.some((child) => child.name === "identity" && child.attrs.type === "file"));
  });

  test("is answered at node@component JIDs too", () => {
    const { ask } = setup();
    const reply = ask("get", xml("query", { xmlns: NS_DISCO_INFO }), {
      to: `lobby@${COMPONENT}`,
    });
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.attrs.from, `lobby@${COMPONENT}`);
  });

  test("a query for a node gets item-not-found", () => {
    const { ask } = setup();
    const reply = ask("get", xml("query", { xmlns: NS_DISCO_INFO, node: "urn:example:node" }));
    assert.deepEqual(condition(reply), { condition: "item-not-found", type: "cancel" });
    assert.equal(reply.getChild("error")?.getChildText("text", NS_STANZAS), "no such disco node");
  });

  test("our entity-capabilities node gets the same answer, with the node echoed", () => {
    const { ask, router } = setup();
    const plain = ask("get", xml("query", { xmlns: NS_DISCO_INFO }));
    const node = `${CAPS_NODE}#${capsVer(router.identities, router.features)}`;
    const reply = ask("get", xml("query", { xmlns: NS_DISCO_INFO, node }));
    assert.equal(reply.attrs.type, "result", reply.toString());
    const query = reply.getChild("query", NS_DISCO_INFO)!;
    assert.equal(query.attrs.node, node);
    assert.deepEqual(children(query).map(String), children(plain.getChild("query")).map(String));
  });

  test("a capabilities node with a stale hash gets item-not-found", () => {
    const { ask } = setup();
    const reply = ask("get", xml("query", { xmlns: NS_DISCO_INFO, node: `${CAPS_NODE}#stale=` }));
    assert.equal(condition(reply).condition, "item-not-found");
  });

  test("a query for an empty node name gets item-not-found", () => {
    const { ask } = setup();
    const reply = ask("get", xml("query", { xmlns: NS_DISCO_INFO, node: "" }));
    assert.equal(condition(reply).condition, "item-not-found");
  });

  test("a set gets service-unavailable", () => {
    const { ask } = setup();
    const reply = ask("set", xml("query", { xmlns: NS_DISCO_INFO }));
    assert.deepEqual(condition(reply), { condition: "service-unavailable", type: "cancel" });
  });
});

describe("installBuiltins: disco#items", () => {
  test("answers with an empty list when no items are registered", () => {
    const { ask } = setup();
    const reply = ask("get", xml("query", { xmlns: NS_DISCO_ITEMS }));
    assert.equal(reply.attrs.type, "result");
    const query = reply.getChild("query", NS_DISCO_ITEMS);
    assert.ok(query);
    assert.equal(children(query).length, 0);
  });

  test("answers with the registered items and their attributes", () => {
    const { router, ask } = setup();
    router.item({ jid: `rooms.${COMPONENT}`, name: "Rooms" });
    router.item({ jid: COMPONENT, node: "uploads" });

    const query = ask("get", xml("query", { xmlns: NS_DISCO_ITEMS })).getChild(
      "query",
      NS_DISCO_ITEMS,
    );
    assert.deepEqual(
      children(query, "item").map((item) => ({ ...item.attrs })),
      [
        { jid: `rooms.${COMPONENT}`, name: "Rooms" },
        { jid: COMPONENT, node: "uploads" },
      ],
    );
  });

  test("a query for a node gets item-not-found", () => {
    const { ask } = setup();
    const reply = ask("get", xml("query", { xmlns: NS_DISCO_ITEMS, node: "x" }));
    assert.deepEqual(condition(reply), { condition: "item-not-found", type: "cancel" });
  });

  test("a node a service registered answers with its items, which may depend on who asks", () => {
    const { router, ask } = setup();
    router.node("commands", {
      items: (request) =>
        request.user === "romeo@montague.example" ? [{ jid: COMPONENT, node: "a", name: "A" }] : [],
    });
    const reply = ask("get", xml("query", { xmlns: NS_DISCO_ITEMS, node: "commands" }));
    const query = reply.getChild("query", NS_DISCO_ITEMS);
    assert.equal(query?.attrs.node, "commands");
    assert.deepEqual(
      children(query, "item").map((item) => item.attrs),
      [{ jid: COMPONENT, node: "a", name: "A" }],
    );
    const other = ask("get", xml("query", { xmlns: NS_DISCO_ITEMS, node: "commands" }), {
      from: "tybalt@capulet.example/street",
    });
    assert.deepEqual(children(other.getChild("query", NS_DISCO_ITEMS), "item"), []);
  });

  test("a node with info only gets item-not-found for items, and the reverse", () => {
    const { router, ask } = setup();
    router.node("info-only", { info: () => ({ identities: [], features: ["urn:x"] }) });
    router.node("items-only", { items: () => [] });
    const items = ask("get", xml("query", { xmlns: NS_DISCO_ITEMS, node: "info-only" }));
    assert.equal(condition(items).condition, "item-not-found");
    const info = ask("get", xml("query", { xmlns: NS_DISCO_INFO, node: "items-only" }));
    assert.equal(condition(info).condition, "item-not-found");
  });

  test("a node's disco#info has its own identities and features, with the node echoed", () => {
    const { router, ask } = setup();
    router.node("cmd", {
      info: () => ({
        identities: [{ category: "automation", type: "command-node", name: "Cmd" }],
        features: ["http://jabber.org/protocol/commands"],
      }),
    });
    const query = ask("get", xml("query", { xmlns: NS_DISCO_INFO, node: "cmd" })).getChild(
      "query",
      NS_DISCO_INFO,
    );
    assert.equal(query?.attrs.node, "cmd");
    assert.deepEqual(
      children(query, "identity").map((i) => i.attrs),
      [{ category: "automation", type: "command-node", name: "Cmd" }],
    );
    assert.deepEqual(
      children(query, "feature").map((f) => f.attrs.var as unknown),
      ["http://jabber.org/protocol/commands"],
    );
  });

  test("a node registered twice is a programming error", () => {
    const { router } = setup();
    router.node("n", { items: () => [] });
    assert.throws(() => router.node("n", { items: () => [] }), /already registered/);
  });

  test("a set gets service-unavailable", () => {
    const { ask } = setup();
    assert.equal(
      condition(ask("set", xml("query", { xmlns: NS_DISCO_ITEMS }))).condition,
      "service-unavailable",
    );
  });
});

describe("installBuiltins: ping", () => {
  test("a ping gets an empty result", () => {
    const { ask } = setup();
    const reply = ask("get", xml("ping", { xmlns: NS_PING }), { id: "ping-1" });
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.attrs.id, "ping-1");
    assert.equal(reply.attrs.to, USER);
    assert.equal(reply.children.length, 0);
  });

  test("a ping to a node@component JID gets an empty result too", () => {
    const { ask } = setup();
    const reply = ask("get", xml("ping", { xmlns: NS_PING }), { to: `room@${COMPONENT}/nick` });
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.attrs.from, `room@${COMPONENT}/nick`);
  });

  test("a ping sent as set gets service-unavailable", () => {
    const { ask } = setup();
    assert.equal(
      condition(ask("set", xml("ping", { xmlns: NS_PING }))).condition,
      "service-unavailable",
    );
  });
});

describe("installBuiltins: software version", () => {
  test("answers with the software's name and version", () => {
    const { ask } = setup();
    const reply = ask("get", xml("query", { xmlns: NS_VERSION }));
    assert.equal(reply.attrs.type, "result");
    const query = reply.getChild("query", NS_VERSION);
    assert.ok(query);
    assert.equal(query.getChildText("name"), "Concierge");
    assert.equal(query.getChildText("version"), "1.2.3");
    assert.equal(query.getChild("os"), undefined, "the OS is not disclosed");
  });

  test("a set gets service-unavailable", () => {
    const { ask } = setup();
    assert.equal(
      condition(ask("set", xml("query", { xmlns: NS_VERSION }))).condition,
      "service-unavailable",
    );
  });
});
