import assert from "node:assert/strict";
import { describe, test } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { pino, type Level, type Logger } from "pino";
import { NS_STANZAS } from "../../src/xmpp/namespaces.js";
import { StanzaTooLargeError } from "../../src/xmpp/link.js";
import { Router } from "../../src/xmpp/router.js";
import { StanzaError } from "../../src/xmpp/stanza-error.js";
import type { Inbound } from "../../src/xmpp/stanza.js";

const NS = "urn:example:test";
const NS_OTHER = "urn:example:other";
const USER = "juliet@capulet.example/balcony";
const COMPONENT = "concierge.example.org";

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

interface Setup {
  router: Router;
  sent: Element[];
  lines: LogLine[];
  log: Logger;
}

/** A router whose `send` records what it is given and whose log lines land in `lines`. */
function setup(options: { level?: Level | "silent"; send?: (element: Element) => void } = {}) {
  const sent: Element[] = [];
  const lines: LogLine[] = [];
  const log = pino(
    { level: options.level ?? "trace" },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  const send =
    options.send ??
    ((element: Element) => {
      sent.push(element);
    });
  const router = new Router(send, log);
  return { router, sent, lines, log } satisfies Setup;
}

function iq(
  type: string | undefined,
  children: Element[] | Element,
  attrs: Record<string, string | undefined> = {},
): Element {
  return xml(
    "iq",
    { type, id: "req-1", from: USER, to: COMPONENT, ...attrs },
    ...(Array.isArray(children) ? children : [children]),
  );
}

function query(xmlns = NS, name = "query", ...children: Element[]): Element {
  return xml(name, { xmlns }, ...children);
}

function message(attrs: Record<string, string | undefined>, ...children: Element[]): Element {
  return xml("message", { from: USER, to: COMPONENT, id: "msg-1", ...attrs }, ...children);
}

function presence(attrs: Record<string, string | undefined>, ...children: Element[]): Element {
  return xml("presence", { from: USER, to: COMPONENT, ...attrs }, ...children);
}

/** Lets promise chains and other queued callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function only(sent: Element[]): Element {
  assert.equal(sent.length, 1, `expected exactly one stanza sent, got ${sent.length}`);
  return sent[0] as Element;
}

function elementChildren(element: Element): Element[] {
  return element.children.filter((child): child is Element => typeof child !== "string");
}

interface ErrorInfo {
  type: unknown;
  condition: string;
  text: string | null;
}

/** Asserts `reply` is an error stanza and returns its error type, condition and text. */
function stanzaError(reply: Element): ErrorInfo {
  assert.equal(reply.attrs.type, "error", `expected an error reply, got ${reply.toString()}`);
  const error = reply.getChild("error");
  assert.ok(error, `error reply without <error/>: ${reply.toString()}`);
  const conditions = elementChildren(error).filter(
    (child) => child.attrs.xmlns === NS_STANZAS && child.name !== "text",
  );
  assert.equal(conditions.length, 1, `expected one condition in ${error.toString()}`);
  return {
    type: error.attrs.type,
    condition: (conditions[0] as Element).name,
    text: error.getChildText("text", NS_STANZAS),
  };
}

function assertError(reply: Element, condition: string, type?: string, text?: string | null) {
  const info = stanzaError(reply);
  assert.equal(info.condition, condition, `condition of ${reply.toString()}`);
  if (type !== undefined) assert.equal(info.type, type, `error type of ${reply.toString()}`);
  if (text !== undefined) assert.equal(info.text, text, `error text of ${reply.toString()}`);
}

function linesAt(lines: LogLine[], level: number): LogLine[] {
  return lines.filter((line) => line.level === level);
}

describe("Router: iq requests", () => {
  test("a handler's returned element becomes the payload of the result", () => {
    const { router, sent } = setup();
    router.iq("get", NS, "query", () => xml("query", { xmlns: NS }, xml("answer", {}, "42")));
    router.dispatch(iq("get", query()));

    const reply = only(sent);
    assert.equal(reply.name, "iq");
    assert.equal(reply.attrs.type, "result");
    const payloads = elementChildren(reply);
    assert.equal(payloads.length, 1);
    assert.equal(payloads[0]?.name, "query");
    assert.equal(payloads[0]?.attrs.xmlns, NS);
    assert.equal(payloads[0]?.getChildText("answer"), "42");
  });

  test("a handler that returns undefined gets an empty result", () => {
    const { router, sent } = setup();
    router.iq("set", NS, "query", () => undefined);
    router.dispatch(iq("set", query()));

    const reply = only(sent);
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.children.length, 0);
  });

  test("a handler that returns nothing at all gets an empty result", () => {
    const { router, sent } = setup();
    router.iq("set", NS, "query", () => {});
    router.dispatch(iq("set", query()));

    const reply = only(sent);
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.children.length, 0);
  });

  test("an async handler's result is sent once its promise resolves, not before", async () => {
    const { router, sent } = setup();
    const answer = deferred<Element>();
    router.iq("get", NS, "query", () => answer.promise);
    router.dispatch(iq("get", query()));

    await settle();
    assert.equal(sent.length, 0, "nothing may be sent before the handler resolves");

    answer.resolve(xml("query", { xmlns: NS }, xml("late")));
    await settle();
    const reply = only(sent);
    assert.equal(reply.attrs.type, "result");
    assert.ok(reply.getChild("query", NS)?.getChild("late"));
  });

  test("an async handler resolving to undefined gets an empty result", async () => {
    const { router, sent } = setup();
    router.iq("get", NS, "query", async () => {
      await settle();
      return undefined;
    });
    router.dispatch(iq("get", query()));
    await settle();
    await settle();

    const reply = only(sent);
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.children.length, 0);
  });

  test("the handler receives the whole stanza and the payload it was chosen by", () => {
    const { router } = setup();
    let seen: Inbound | undefined;
    router.iq("get", NS, "query", (request) => {
      seen = request;
    });
    const payload = query(NS, "query", xml("item", { n: "1" }));
    const stanza = iq("get", payload);
    router.dispatch(stanza);

    assert.ok(seen);
    assert.equal(seen.stanza, stanza);
    assert.equal(seen.payload, payload);
    assert.equal(seen.from.full, USER);
    assert.equal(seen.from.bare, "juliet@capulet.example");
    assert.equal(seen.user, "juliet@capulet.example");
    assert.equal(seen.device, USER);
    assert.equal(seen.to.full, COMPONENT);
  });

  test("the result swaps from and to and keeps the id", () => {
    const { router, sent } = setup();
    router.iq("get", NS, "query", () => undefined);
    router.dispatch(iq("get", query(), { id: "abc-123", from: USER, to: `room@${COMPONENT}` }));

    const reply = only(sent);
    assert.equal(reply.attrs.to, USER);
    assert.equal(reply.attrs.from, `room@${COMPONENT}`);
    assert.equal(reply.attrs.id, "abc-123");
  });

  test("an error reply swaps from and to and keeps the id", () => {
    const { router, sent } = setup();
    router.dispatch(iq("get", query(), { id: "err-7", from: USER, to: `node@${COMPONENT}` }));

    const reply = only(sent);
    assert.equal(reply.name, "iq");
    assert.equal(reply.attrs.to, USER);
    assert.equal(reply.attrs.from, `node@${COMPONENT}`);
    assert.equal(reply.attrs.id, "err-7");
    assertError(reply, "service-unavailable");
  });

  test("whitespace text around the payload does not count as a child", () => {
    const { router, sent } = setup();
    let calls = 0;
    router.iq("get", NS, "query", () => {
      calls++;
    });
    router.dispatch(
      xml("iq", { type: "get", id: "ws", from: USER, to: COMPONENT }, "\n  ", query(), "\n"),
    );

    assert.equal(calls, 1);
    assert.equal(only(sent).attrs.type, "result");
  });

  test("handlers are chosen by iq type, namespace and element name together", () => {
    const { router, sent } = setup();
    const calls: string[] = [];
    router.iq("get", NS, "query", () => void calls.push("get query"));
    router.iq("set", NS, "query", () => void calls.push("set query"));
    router.iq("get", NS, "other", () => void calls.push("get other"));
    router.iq("get", NS_OTHER, "query", () => void calls.push("get other-ns query"));

    router.dispatch(iq("set", query(NS, "query")));
    router.dispatch(iq("get", query(NS, "other")));
    router.dispatch(iq("get", query(NS_OTHER, "query")));
    router.dispatch(iq("get", query(NS, "query")));

    assert.deepEqual(calls, ["set query", "get other", "get other-ns query", "get query"]);
    assert.equal(sent.length, 4);
    for (const reply of sent) assert.equal(reply.attrs.type, "result");
  });

  test("an iq nobody registered gets service-unavailable of type cancel", () => {
    const { router, sent } = setup();
    router.iq("get", NS, "query", () => undefined);
    router.dispatch(iq("get", query(NS_OTHER)));

    assertError(only(sent), "service-unavailable", "cancel");
  });

  test("a handler registered for get does not answer a set", () => {
    const { router, sent } = setup();
    let called = false;
    router.iq("get", NS, "query", () => {
      called = true;
    });
    router.dispatch(iq("set", query()));

    assert.equal(called, false);
    assertError(only(sent), "service-unavailable", "cancel");
  });

  test("a payload without a namespace matches no handler", () => {
    const { router, sent } = setup();
    router.iq("get", NS, "query", () => undefined);
    router.dispatch(iq("get", xml("query")));

    assertError(only(sent), "service-unavailable", "cancel");
  });

  test("an iq with no child element gets bad-request", () => {
    const { router, sent } = setup();
    router.dispatch(iq("get", []));

    assertError(only(sent), "bad-request", "modify");
  });

  test("an iq with only text and no child element gets bad-request", () => {
    const { router, sent } = setup();
    router.dispatch(xml("iq", { type: "get", id: "t", from: USER, to: COMPONENT }, "hello"));

    assertError(only(sent), "bad-request", "modify");
  });

  test("an iq with two child elements gets bad-request and no handler runs", () => {
    const { router, sent } = setup();
    let called = false;
    router.iq("get", NS, "query", () => {
      called = true;
    });
    router.dispatch(iq("get", [query(), query(NS_OTHER)]));

    assert.equal(called, false);
    assertError(only(sent), "bad-request", "modify");
  });

  test("an iq with an invalid type gets bad-request", () => {
    const { router, sent } = setup();
    router.iq("get", NS, "query", () => undefined);
    router.dispatch(iq("normal", query()));

    assertError(only(sent), "bad-request", "modify");
  });

  test("an iq with no type gets bad-request", () => {
    const { router, sent } = setup();
    router.iq("get", NS, "query", () => undefined);
    router.dispatch(iq(undefined, query()));

    assertError(only(sent), "bad-request", "modify");
  });

  test("an iq request without an id gets bad-request", () => {
    const { router, sent } = setup();
    let called = false;
    router.iq("get", NS, "query", () => {
      called = true;
    });
    router.dispatch(iq("get", query(), { id: undefined }));

    assert.equal(called, false);
    const reply = only(sent);
    assertError(reply, "bad-request", "modify");
    assert.equal(reply.attrs.id, undefined);
  });

  test("an iq request with an empty id gets bad-request", () => {
    const { router, sent } = setup();
    router.iq("get", NS, "query", () => undefined);
    router.dispatch(iq("get", query(), { id: "" }));

    assertError(only(sent), "bad-request", "modify");
  });

  test("a StanzaError thrown by a handler is sent with its condition, type and text", () => {
    const { router, sent } = setup();
    router.iq("set", NS, "query", () => {
      throw new StanzaError("not-allowed", "rooms are closed today");
    });
    router.dispatch(iq("set", query()));

    assertError(only(sent), "not-allowed", "cancel", "rooms are closed today");
  });

  test("a StanzaError without text is sent without a <text/> element", () => {
    const { router, sent } = setup();
    router.iq("set", NS, "query", () => {
      throw new StanzaError("forbidden");
    });
    router.dispatch(iq("set", query()));

    assertError(only(sent), "forbidden", "auth", null);
  });

  test("a StanzaError with an explicit error type keeps that type", () => {
    const { router, sent } = setup();
    router.iq("set", NS, "query", () => {
      throw new StanzaError("conflict", "try again", "wait");
    });
    router.dispatch(iq("set", query()));

    assertError(only(sent), "conflict", "wait", "try again");
  });

  test("a StanzaError rejected by an async handler is sent likewise", async () => {
    const { router, sent } = setup();
    router.iq("set", NS, "query", async () => {
      await settle();
      throw new StanzaError("item-not-found", "no such room");
    });
    router.dispatch(iq("set", query()));
    await settle();
    await settle();

    assertError(only(sent), "item-not-found", "cancel", "no such room");
  });

  test("a StanzaError is logged at debug level, never as an error", () => {
    const { router, lines } = setup({ level: "debug" });
    router.iq("set", NS, "query", () => {
      throw new StanzaError("not-allowed");
    });
    router.dispatch(iq("set", query()));

    assert.equal(linesAt(lines, LEVEL.error).length, 0);
    const refused = lines.filter((line) => line.msg === "request refused");
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.level, LEVEL.debug);
    assert.equal(refused[0]?.condition, "not-allowed");
  });

  test("a plain Error thrown by a handler becomes internal-server-error and is logged", () => {
    const { router, sent, lines } = setup({ level: "info" });
    router.iq("get", NS, "query", () => {
      throw new Error("database on fire");
    });
    router.dispatch(iq("get", query(), { id: "boom-1" }));

    const reply = only(sent);
    assertError(reply, "internal-server-error", "cancel", null);
    assert.ok(!reply.toString().includes("database on fire"), "internal details must not leak");

    const errors = linesAt(lines, LEVEL.error);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.msg, "handler failed");
    const err = errors[0]?.err as { message?: string } | undefined;
    assert.equal(err?.message, "database on fire");
    assert.deepEqual(errors[0]?.stanza, {
      name: "iq",
      type: "get",
      id: "boom-1",
      from: USER,
      payload: `${NS} query`,
    });
  });

  test("a plain Error rejected by an async handler becomes internal-server-error and is logged", async () => {
    const { router, sent, lines } = setup({ level: "info" });
    router.iq("get", NS, "query", async () => {
      await settle();
      throw new Error("lost connection");
    });
    router.dispatch(iq("get", query()));
    await settle();
    await settle();

    assertError(only(sent), "internal-server-error", "cancel", null);
    const errors = linesAt(lines, LEVEL.error);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.msg, "handler failed");
    assert.equal((errors[0]?.err as { message?: string } | undefined)?.message, "lost connection");
  });

  test("a thrown value that is not an Error becomes internal-server-error and is logged", () => {
    const { router, sent, lines } = setup({ level: "info" });
    router.iq("get", NS, "query", () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw "a bare string";
    });
    router.dispatch(iq("get", query()));

    assertError(only(sent), "internal-server-error", "cancel");
    assert.equal(linesAt(lines, LEVEL.error).length, 1);
  });

  test("a handler that reads a malformed from address gets jid-malformed", () => {
    const { router, sent } = setup();
    router.iq("get", NS, "query", (request) => {
      void request.from;
    });
    router.dispatch(iq("get", query(), { from: "juliet@" }));

    assertError(only(sent), "jid-malformed", "modify");
  });

  test("a request without a from address is refused without a reply", () => {
    const { router, sent } = setup();
    router.dispatch(iq("get", query(), { from: undefined }));

    assert.equal(sent.length, 0);
  });
});

describe("Router: answers too large for the server", () => {
  test("are replaced by a resource-constraint that says how large, and the link stays", () => {
    const sent: Element[] = [];
    const { router, lines } = setup({
      level: "warn",
      send: (element) => {
        const bytes = Buffer.byteLength(element.toString());
        if (bytes > 600) throw new StanzaTooLargeError(bytes, 600);
        sent.push(element);
      },
    });
    router.iq("get", NS, "query", () => query(NS, "query", xml("x", {}, "y".repeat(2_000))));
    router.dispatch(iq("get", query()));
    assertError(only(sent), "resource-constraint", "modify");
    assert.match(
      only(sent).getChild("error")!.getChildText("text", NS_STANZAS) ?? "",
      /would be \d+ bytes, more than the server takes from a component \(600\); ask for less/,
    );
    assert.ok(lines.some((line) => line.msg === "answer too large"));
  });
});

describe("Router: iq responses", () => {
  test("an unexpected result or error iq is dropped without a reply and logged at debug", () => {
    const { router, sent, lines } = setup({ level: "debug" });
    router.dispatch(xml("iq", { type: "result", id: "stray", from: USER, to: COMPONENT }));
    router.dispatch(
      xml(
        "iq",
        { type: "error", id: "stray-2", from: USER, to: COMPONENT },
        new StanzaError("service-unavailable").toElement(),
      ),
    );

    assert.equal(sent.length, 0);
    const dropped = lines.filter((line) => line.msg === "dropping unexpected iq response");
    assert.deepEqual(
      dropped.map((line) => [line.level, line.id]),
      [
        [LEVEL.debug, "stray"],
        [LEVEL.debug, "stray-2"],
      ],
    );
  });

  test("a result iq is not offered to the iq handlers", () => {
    const { router, sent } = setup();
    let called = false;
    router.iq("get", NS, "query", () => {
      called = true;
    });
    router.dispatch(iq("result", query()));

    assert.equal(called, false);
    assert.equal(sent.length, 0);
  });
});

describe("Router: registration", () => {
  test("registering the same iq type, namespace and element twice throws", () => {
    const { router } = setup();
    router.iq("get", NS, "query", () => undefined);
    assert.throws(
      () => router.iq("get", NS, "query", () => undefined),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /already registered/);
        assert.ok(error.message.includes(`get ${NS} query`), error.message);
        return true;
      },
    );
  });

  test("the same namespace and element may be registered once for get and once for set", () => {
    const { router } = setup();
    router.iq("get", NS, "query", () => undefined);
    assert.doesNotThrow(() => router.iq("set", NS, "query", () => undefined));
  });

  test("iqGetOrSet answers both get and set with the same handler", () => {
    const { router, sent } = setup();
    const types: string[] = [];
    router.iqGetOrSet(NS, "query", (request) => {
      types.push(String(request.stanza.attrs.type));
      return xml("query", { xmlns: NS });
    });
    router.dispatch(iq("get", query()));
    router.dispatch(iq("set", query()));

    assert.deepEqual(types, ["get", "set"]);
    assert.deepEqual(
      sent.map((reply) => reply.attrs.type as unknown),
      ["result", "result"],
    );
  });

  test("iqGetOrSet conflicts with an existing get or set registration", () => {
    const first = setup().router;
    first.iqGetOrSet(NS, "query", () => undefined);
    assert.throws(() => first.iq("get", NS, "query", () => undefined), /already registered/);
    assert.throws(() => first.iq("set", NS, "query", () => undefined), /already registered/);

    const second = setup().router;
    second.iq("set", NS, "query", () => undefined);
    assert.throws(() => second.iqGetOrSet(NS, "query", () => undefined), /already registered/);
  });

  test("registering two message handlers for one namespace throws", () => {
    const { router } = setup();
    router.message(NS, () => undefined);
    assert.throws(() => router.message(NS, () => undefined), /message handler for .* already/);
  });

  test("registering two presence handlers for one namespace throws", () => {
    const { router } = setup();
    router.presence(NS, () => undefined);
    assert.throws(() => router.presence(NS, () => undefined), /presence handler for .* already/);
  });

  test("message and presence handlers for the same namespace do not conflict", () => {
    const { router } = setup();
    router.message(NS, () => undefined);
    assert.doesNotThrow(() => router.presence(NS, () => undefined));
  });

  test("registration methods return the router so calls chain", () => {
    const { router } = setup();
    const chained = router
      .iq("get", NS, "a", () => undefined)
      .iqGetOrSet(NS, "b", () => undefined)
      .message(NS, () => undefined)
      .presence(NS, () => undefined)
      .feature(NS)
      .identity({ category: "component", type: "generic" })
      .item({ jid: COMPONENT });
    assert.equal(chained, router);
  });

  test("features are deduplicated and sorted", () => {
    const { router } = setup();
    router.feature("urn:c", "urn:a").feature("urn:b", "urn:a").feature();
    assert.deepEqual(router.features, ["urn:a", "urn:b", "urn:c"]);
  });

  test("identities and items are kept in registration order", () => {
    const { router } = setup();
    router.identity({ category: "conference", type: "text", name: "Rooms" });
    router.identity({ category: "component", type: "generic" });
    router.item({ jid: `rooms.${COMPONENT}`, name: "Rooms" });
    router.item({ jid: COMPONENT, node: "n" });

    assert.deepEqual(router.identities, [
      { category: "conference", type: "text", name: "Rooms" },
      { category: "component", type: "generic" },
    ]);
    assert.deepEqual(router.items, [
      { jid: `rooms.${COMPONENT}`, name: "Rooms" },
      { jid: COMPONENT, node: "n" },
    ]);
  });
});

describe("Router: messages and presences", () => {
  test("a message handler is chosen by the namespace of a child element", () => {
    const { router, sent } = setup();
    const seen: string[] = [];
    router.message(NS, (inbound) => void seen.push(`ns:${inbound.payload.name}`));
    router.message(NS_OTHER, (inbound) => void seen.push(`other:${inbound.payload.name}`));
    router.dispatch(message({ type: "chat" }, xml("body", {}, "hi"), xml("x", { xmlns: NS })));

    assert.deepEqual(seen, ["ns:x"]);
    assert.equal(sent.length, 0, "message handlers are not answered automatically");
  });

  test("each distinct namespace in a message runs its handler once", () => {
    const { router } = setup();
    const seen: string[] = [];
    router.message(NS, (inbound) => void seen.push(`ns:${inbound.payload.name}`));
    router.message(NS_OTHER, (inbound) => void seen.push(`other:${inbound.payload.name}`));
    router.dispatch(
      message(
        {},
        xml("first", { xmlns: NS }),
        xml("a", { xmlns: NS_OTHER }),
        xml("second", { xmlns: NS }),
        xml("b", { xmlns: NS_OTHER }),
      ),
    );

    assert.deepEqual(seen, ["ns:first", "other:a"]);
  });

  test("a handler receives the message and the payload it was chosen by", () => {
    const { router } = setup();
    let seen: Inbound | undefined;
    router.message(NS, (inbound) => {
      seen = inbound;
    });
    const payload = xml("x", { xmlns: NS }, xml("y"));
    const stanza = message({}, xml("body", {}, "text"), payload);
    router.dispatch(stanza);

    assert.equal(seen?.stanza, stanza);
    assert.equal(seen?.payload, payload);
    assert.equal(seen?.from.full, USER);
  });

  test("children without a namespace choose no handler", () => {
    const { router, sent, lines } = setup();
    let called = false;
    router.message("undefined", () => {
      called = true;
    });
    router.dispatch(message({ type: "chat" }, xml("body", {}, "hello")));

    assert.equal(called, false);
    assert.equal(sent.length, 0);
    assert.equal(lines.length, 0);
  });

  test("a message nobody handles is dropped silently", () => {
    const { router, sent, lines } = setup({ level: "trace" });
    router.message(NS, () => {
      throw new Error("must not be called");
    });
    router.dispatch(message({ type: "chat" }, xml("x", { xmlns: NS_OTHER })));
    router.dispatch(message({ type: "chat" }));

    assert.equal(sent.length, 0);
    assert.deepEqual(lines, []);
  });

  test("a presence handler is chosen by the namespace of a child element", () => {
    const { router } = setup();
    const seen: string[] = [];
    router.presence(NS, (inbound) => void seen.push(`presence ${inbound.payload.name}`));
    router.message(NS, () => void seen.push("message"));
    router.dispatch(presence({}, xml("show", {}, "away"), xml("x", { xmlns: NS })));

    assert.deepEqual(seen, ["presence x"]);
  });

  test("each distinct namespace in a presence runs its handler once", () => {
    const { router } = setup();
    const seen: string[] = [];
    router.presence(NS, (inbound) => void seen.push(inbound.payload.name));
    router.dispatch(presence({}, xml("a", { xmlns: NS }), xml("b", { xmlns: NS })));

    assert.deepEqual(seen, ["a"]);
  });

  test("a presence nobody handles is dropped silently", () => {
    const { router, sent, lines } = setup({ level: "trace" });
    router.dispatch(presence({ type: "unavailable" }, xml("x", { xmlns: NS })));

    assert.equal(sent.length, 0);
    assert.deepEqual(lines, []);
  });

  test("a StanzaError thrown by a message handler is sent back as an error message", async () => {
    const { router, sent } = setup();
    router.message(NS, () => {
      throw new StanzaError("forbidden", "members only");
    });
    router.dispatch(message({ id: "m-9", to: `room@${COMPONENT}` }, xml("x", { xmlns: NS })));
    await settle(); // a reply may come asynchronously

    const reply = only(sent);
    assert.equal(reply.name, "message");
    assert.equal(reply.attrs.to, USER);
    assert.equal(reply.attrs.from, `room@${COMPONENT}`);
    assert.equal(reply.attrs.id, "m-9");
    assertError(reply, "forbidden", "auth", "members only");
  });

  test("a StanzaError thrown by a presence handler is sent back as an error presence", async () => {
    const { router, sent } = setup();
    router.presence(NS, () => {
      throw new StanzaError("registration-required");
    });
    router.dispatch(presence({ to: `room@${COMPONENT}/nick` }, xml("x", { xmlns: NS })));
    await settle(); // a reply may come asynchronously

    const reply = only(sent);
    assert.equal(reply.name, "presence");
    assert.equal(reply.attrs.to, USER);
    assert.equal(reply.attrs.from, `room@${COMPONENT}/nick`);
    assertError(reply, "registration-required", "auth");
  });

  test("a plain Error thrown by a message handler becomes internal-server-error and is logged", async () => {
    const { router, sent, lines } = setup({ level: "info" });
    router.message(NS, () => {
      throw new Error("kaput");
    });
    router.dispatch(message({}, xml("x", { xmlns: NS })));
    await settle(); // a reply may come asynchronously

    assertError(only(sent), "internal-server-error", "cancel");
    const errors = linesAt(lines, LEVEL.error);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.msg, "handler failed");
  });

  test("an async message handler's rejection becomes an error message", async () => {
    const { router, sent, lines } = setup({ level: "info" });
    router.message(NS, async () => {
      await settle();
      throw new Error("later");
    });
    router.dispatch(message({}, xml("x", { xmlns: NS })));
    await settle();
    await settle();

    assertError(only(sent), "internal-server-error", "cancel");
    assert.equal(linesAt(lines, LEVEL.error).length, 1);
  });

  test("an async message handler's failure does not stop the other namespaces' handlers", async () => {
    const { router, sent } = setup();
    const seen: string[] = [];
    router.message(NS, async () => {
      await settle();
      throw new StanzaError("not-acceptable");
    });
    router.message(NS_OTHER, () => void seen.push("other"));
    router.dispatch(message({}, xml("x", { xmlns: NS }), xml("y", { xmlns: NS_OTHER })));
    await settle();
    await settle();

    assert.deepEqual(seen, ["other"]);
    assertError(only(sent), "not-acceptable");
  });

  test("a message handler that throws synchronously does not stop the other namespaces' handlers", async () => {
    const { router, sent } = setup();
    const seen: string[] = [];
    router.message(NS, () => {
      throw new StanzaError("not-acceptable");
    });
    router.message(NS_OTHER, () => void seen.push("other"));
    router.dispatch(message({}, xml("x", { xmlns: NS }), xml("y", { xmlns: NS_OTHER })));
    await router.close(10_000);

    assert.deepEqual(seen, ["other"]);
    assertError(only(sent), "not-acceptable");
  });

  test("a message handler that throws synchronously does not orphan an earlier async handler", async () => {
    const { router, sent } = setup();
    const slow = deferred();
    router.message(NS, () => slow.promise);
    router.message(NS_OTHER, () => {
      throw new StanzaError("not-acceptable");
    });
    router.dispatch(message({}, xml("x", { xmlns: NS }), xml("y", { xmlns: NS_OTHER })));

    let closed = false;
    const closing = router.close(10_000).then(() => {
      closed = true;
    });
    try {
      await settle();
      assert.equal(closed, false, "close() must wait for the async handler still running");
    } finally {
      slow.resolve();
      await closing;
    }
    assertError(only(sent), "not-acceptable");
  });

  test("close() still waits for a message's other handlers after one of them failed", async () => {
    const { router, sent } = setup();
    const slow = deferred();
    router.message(NS, () => slow.promise);
    router.message(NS_OTHER, async () => {
      await settle();
      throw new StanzaError("not-acceptable");
    });
    router.dispatch(message({}, xml("x", { xmlns: NS }), xml("y", { xmlns: NS_OTHER })));
    await settle();
    await settle();

    let closed = false;
    const closing = router.close(10_000).then(() => {
      closed = true;
    });
    try {
      await settle();
      assert.equal(closed, false, "close() must wait for the handler still running");
    } finally {
      slow.resolve();
      await closing;
    }
    assertError(only(sent), "not-acceptable");
  });

  test("an error message is never answered, even when its handler throws", async () => {
    const { router, sent, lines } = setup({ level: "info" });
    router.message(NS, () => {
      throw new Error("broken");
    });
    router.message(NS_OTHER, () => {
      throw new StanzaError("bad-request");
    });
    router.dispatch(message({ type: "error" }, xml("x", { xmlns: NS })));
    router.dispatch(message({ type: "error" }, xml("y", { xmlns: NS_OTHER })));
    await settle(); // a reply may come asynchronously

    assert.equal(sent.length, 0);
    assert.equal(linesAt(lines, LEVEL.error).length, 1, "the failure is still logged");
  });

  test("an error presence is never answered, even when its handler throws", async () => {
    const { router, sent } = setup();
    router.presence(NS, async () => {
      await settle();
      throw new StanzaError("bad-request");
    });
    router.dispatch(presence({ type: "error" }, xml("x", { xmlns: NS })));
    await settle();
    await settle();

    assert.equal(sent.length, 0);
  });

  test("stanzas other than iq, message and presence are ignored", () => {
    const { router, sent, lines } = setup({ level: "trace" });
    router.dispatch(xml("handshake", {}));
    router.dispatch(xml("stream:error", {}, xml("conflict", { xmlns: NS_STANZAS })));

    assert.equal(sent.length, 0);
    assert.deepEqual(lines, []);
  });
});

describe("Router: close()", () => {
  test("after close() a new iq request gets service-unavailable and its handler does not run", async () => {
    const { router, sent } = setup();
    let called = false;
    router.iq("get", NS, "query", () => {
      called = true;
    });
    await router.close(1_000);
    router.dispatch(iq("get", query()));

    assert.equal(called, false);
    assertError(only(sent), "service-unavailable", "cancel", "shutting down");
  });

  test("after close() an iq nobody handles still gets service-unavailable", async () => {
    const { router, sent } = setup();
    await router.close(1_000);
    router.dispatch(iq("get", query(NS_OTHER)));

    assertError(only(sent), "service-unavailable", "cancel");
  });

  test("after close() messages and presences are dropped without running handlers", async () => {
    const { router, sent } = setup();
    const seen: string[] = [];
    router.message(NS, () => void seen.push("message"));
    router.presence(NS, () => void seen.push("presence"));
    await router.close(1_000);
    router.dispatch(message({}, xml("x", { xmlns: NS })));
    router.dispatch(presence({}, xml("x", { xmlns: NS })));

    assert.deepEqual(seen, []);
    assert.equal(sent.length, 0);
  });

  test("close() resolves at once when nothing is in flight", async () => {
    const { router } = setup();
    await router.close(60_000);
  });

  test("close() waits for a running iq handler, whose result is still sent", async () => {
    const { router, sent } = setup();
    const answer = deferred<Element | undefined>();
    router.iq("get", NS, "query", () => answer.promise);
    router.dispatch(iq("get", query(), { id: "inflight" }));

    let closed = false;
    const closing = router.close(10_000).then(() => {
      closed = true;
    });
    await settle();
    assert.equal(closed, false, "close() must wait for the handler");
    assert.equal(sent.length, 0);

    answer.resolve(undefined);
    await closing;
    assert.equal(closed, true);
    const reply = only(sent);
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.attrs.id, "inflight");
  });

  test("close() waits for a handler that fails, whose error is still sent", async () => {
    const { router, sent } = setup();
    const answer = deferred<Element | undefined>();
    router.iq("get", NS, "query", () => answer.promise);
    router.dispatch(iq("get", query()));

    const closing = router.close(10_000);
    answer.reject(new StanzaError("conflict"));
    await closing;

    assertError(only(sent), "conflict");
  });

  test("close() waits for running message and presence handlers", async () => {
    const { router } = setup();
    const first = deferred();
    const second = deferred();
    router.message(NS, () => first.promise);
    router.presence(NS, () => second.promise);
    router.dispatch(message({}, xml("x", { xmlns: NS })));
    router.dispatch(presence({}, xml("x", { xmlns: NS })));

    let closed = false;
    const closing = router.close(10_000).then(() => {
      closed = true;
    });
    first.resolve();
    await settle();
    assert.equal(closed, false, "one handler is still running");
    second.resolve();
    await closing;
    assert.equal(closed, true);
  });

  test("close() gives up waiting after its timeout", async () => {
    const { router, sent } = setup();
    const never = deferred<Element | undefined>();
    router.iq("get", NS, "query", () => never.promise);
    router.dispatch(iq("get", query()));

    await router.close(30);
    assert.equal(sent.length, 0, "the handler is still running");

    never.resolve(undefined);
    await settle();
    assert.equal(only(sent).attrs.type, "result", "a late result is still sent");
  });

  test("close() does not wait for handlers that finished before it was called", async () => {
    const { router } = setup();
    const done = deferred();
    router.message(NS, () => done.promise);
    router.dispatch(message({}, xml("x", { xmlns: NS })));
    done.resolve();
    await settle();

    await router.close(60_000);
  });
});

describe("Router: failing send", () => {
  const throwingSend = () => {
    throw new Error("not connected");
  };

  test("a send() that throws while answering does not make dispatch throw", () => {
    const { router, lines } = setup({ level: "info", send: throwingSend });
    router.iq("get", NS, "query", () => undefined);

    assert.doesNotThrow(() => router.dispatch(iq("get", query())));
    const warnings = linesAt(lines, LEVEL.warn);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.msg, "could not send a reply");
  });

  test("a send() that throws while sending an error does not make dispatch throw", () => {
    const { router, lines } = setup({ level: "info", send: throwingSend });

    assert.doesNotThrow(() => router.dispatch(iq("get", query())));
    assert.doesNotThrow(() => router.dispatch(iq("get", [])));
    assert.equal(linesAt(lines, LEVEL.warn).length, 2);
  });

  test("a send() that throws after an async handler neither rejects nor blocks close()", async () => {
    const { router, lines } = setup({ level: "info", send: throwingSend });
    router.iq("get", NS, "query", async () => {
      await settle();
      return xml("query", { xmlns: NS });
    });
    router.dispatch(iq("get", query()));
    await router.close(10_000);

    assert.equal(linesAt(lines, LEVEL.warn).length, 1);
    assert.equal(linesAt(lines, LEVEL.error).length, 0);
  });

  test("a send() that throws after a failed async handler logs the failure and the send", async () => {
    const { router, lines } = setup({ level: "info", send: throwingSend });
    router.iq("get", NS, "query", async () => {
      await settle();
      throw new Error("inner");
    });
    router.dispatch(iq("get", query()));
    await router.close(10_000);

    assert.equal(linesAt(lines, LEVEL.error).length, 1);
    assert.equal(linesAt(lines, LEVEL.warn).length, 1);
  });

  test("a silent logger is enough for the router", () => {
    const router = new Router(throwingSend, pino({ level: "silent" }));
    router.iq("get", NS, "query", () => {
      throw new Error("x");
    });
    assert.doesNotThrow(() => router.dispatch(iq("get", query())));
  });
});
