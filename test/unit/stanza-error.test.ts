import assert from "node:assert/strict";
import { describe, test } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { NS_STANZAS } from "../../src/xmpp/namespaces.js";
import {
  StanzaError,
  type StanzaErrorCondition,
  type StanzaErrorType,
} from "../../src/xmpp/stanza-error.js";
import { childElements, errorReply, replyTo } from "../../src/xmpp/stanza.js";

/** RFC 6120 §8.3.3: every defined condition with the error type it usually carries. */
const CONDITIONS: [StanzaErrorCondition, StanzaErrorType][] = [
  ["bad-request", "modify"],
  ["conflict", "cancel"],
  ["feature-not-implemented", "cancel"],
  ["forbidden", "auth"],
  ["gone", "cancel"],
  ["internal-server-error", "cancel"],
  ["item-not-found", "cancel"],
  ["jid-malformed", "modify"],
  ["not-acceptable", "modify"],
  ["not-allowed", "cancel"],
  ["not-authorized", "auth"],
  ["policy-violation", "modify"],
  ["recipient-unavailable", "wait"],
  ["redirect", "modify"],
  ["registration-required", "auth"],
  ["remote-server-not-found", "cancel"],
  ["remote-server-timeout", "wait"],
  ["resource-constraint", "wait"],
  ["service-unavailable", "cancel"],
  ["subscription-required", "auth"],
  ["undefined-condition", "cancel"],
  ["unexpected-request", "wait"],
];

function errorStanza(error: Element | undefined, attrs: Record<string, string> = {}): Element {
  return xml(
    "iq",
    { type: "error", id: "1", from: "a@example.org", ...attrs },
    ...(error ? [error] : []),
  );
}

describe("StanzaError", () => {
  test("is an Error named StanzaError", () => {
    const error = new StanzaError("conflict");
    assert.ok(error instanceof Error);
    assert.ok(error instanceof StanzaError);
    assert.equal(error.name, "StanzaError");
  });

  test("its message is the condition, followed by the text when there is one", () => {
    assert.equal(new StanzaError("forbidden").message, "forbidden");
    assert.equal(new StanzaError("forbidden", "members only").message, "forbidden: members only");
  });

  test("keeps condition and text", () => {
    const error = new StanzaError("item-not-found", "no such room");
    assert.equal(error.condition, "item-not-found");
    assert.equal(error.text, "no such room");
    assert.equal(new StanzaError("gone").text, undefined);
  });

  for (const [condition, type] of CONDITIONS) {
    test(`${condition} defaults to error type ${type}`, () => {
      assert.equal(new StanzaError(condition).type, type);
    });
  }

  test("an explicit error type overrides the default", () => {
    const error = new StanzaError("service-unavailable", undefined, "wait");
    assert.equal(error.type, "wait");
    assert.equal(error.condition, "service-unavailable");
  });
});

describe("StanzaError#toElement", () => {
  test("builds <error type> with the condition in the stanzas namespace", () => {
    const element = new StanzaError("bad-request").toElement();
    assert.equal(element.name, "error");
    assert.equal(element.attrs.type, "modify");
    assert.equal(element.attrs.xmlns, undefined, "<error/> is in the stanza's namespace");
    const children = childElements(element);
    assert.equal(children.length, 1);
    assert.equal(children[0]?.name, "bad-request");
    assert.equal(children[0]?.attrs.xmlns, NS_STANZAS);
    assert.equal(children[0]?.children.length, 0);
  });

  test("adds an English <text/> after the condition when there is text", () => {
    const element = new StanzaError("not-allowed", "room is locked").toElement();
    const children = childElements(element);
    assert.deepEqual(
      children.map((child) => child.name),
      ["not-allowed", "text"],
    );
    const text = children[1];
    assert.equal(text?.attrs.xmlns, NS_STANZAS);
    assert.equal(text?.attrs["xml:lang"], "en");
    assert.equal(text?.getText(), "room is locked");
  });

  test("leaves out <text/> when the text is empty", () => {
    const element = new StanzaError("not-allowed", "").toElement();
    assert.equal(childElements(element).length, 1);
  });

  test("escapes the text when serialized", () => {
    const serialized = new StanzaError("bad-request", "a < b & c").toElement().toString();
    assert.ok(serialized.includes("a &lt; b &amp; c"), serialized);
  });

  test("uses the explicit error type", () => {
    assert.equal(new StanzaError("conflict", "x", "modify").toElement().attrs.type, "modify");
  });

  test("serializes as RFC 6120 shows", () => {
    assert.equal(
      new StanzaError("service-unavailable", "shutting down").toElement().toString(),
      `<error type="cancel"><service-unavailable xmlns="${NS_STANZAS}"/>` +
        `<text xmlns="${NS_STANZAS}" xml:lang="en">shutting down</text></error>`,
    );
  });
});

describe("StanzaError.fromStanza", () => {
  test("reads back what toElement wrote", () => {
    for (const [condition, type] of CONDITIONS) {
      const original = new StanzaError(condition, `text for ${condition}`);
      const read = StanzaError.fromStanza(errorStanza(original.toElement()));
      assert.equal(read.condition, condition);
      assert.equal(read.type, type);
      assert.equal(read.text, `text for ${condition}`);
    }
  });

  test("keeps the error type the sender chose", () => {
    const read = StanzaError.fromStanza(
      errorStanza(xml("error", { type: "wait" }, xml("conflict", { xmlns: NS_STANZAS }))),
    );
    assert.equal(read.condition, "conflict");
    assert.equal(read.type, "wait");
  });

  test("uses the condition's default type when the sender gave none", () => {
    const read = StanzaError.fromStanza(
      errorStanza(xml("error", {}, xml("forbidden", { xmlns: NS_STANZAS }))),
    );
    assert.equal(read.condition, "forbidden");
    assert.equal(read.type, "auth");
    assert.equal(read.text, undefined);
  });

  test("finds the condition when <text/> comes first", () => {
    const read = StanzaError.fromStanza(
      errorStanza(
        xml(
          "error",
          { type: "cancel" },
          xml("text", { xmlns: NS_STANZAS }, "gone away"),
          xml("gone", { xmlns: NS_STANZAS }, "xmpp:new@example.org"),
        ),
      ),
    );
    assert.equal(read.condition, "gone");
    assert.equal(read.text, "gone away");
  });

  test("ignores application-specific conditions in other namespaces", () => {
    const read = StanzaError.fromStanza(
      errorStanza(
        xml(
          "error",
          { type: "modify" },
          xml("too-many-rooms", { xmlns: "urn:example:app" }),
          xml("not-acceptable", { xmlns: NS_STANZAS }),
        ),
      ),
    );
    assert.equal(read.condition, "not-acceptable");
    assert.equal(read.type, "modify");
  });

  test("ignores a <text/> outside the stanzas namespace", () => {
    const read = StanzaError.fromStanza(
      errorStanza(
        xml(
          "error",
          { type: "cancel" },
          xml("conflict", { xmlns: NS_STANZAS }),
          xml("text", { xmlns: "urn:example:app" }, "not this"),
        ),
      ),
    );
    assert.equal(read.text, undefined);
  });

  test("an unknown condition becomes undefined-condition", () => {
    const read = StanzaError.fromStanza(
      errorStanza(xml("error", { type: "auth" }, xml("payment-required", { xmlns: NS_STANZAS }))),
    );
    assert.equal(read.condition, "undefined-condition");
    assert.equal(read.type, "auth");
  });

  test("a condition named like an Object property is not mistaken for a known one", () => {
    const read = StanzaError.fromStanza(
      errorStanza(xml("error", { type: "cancel" }, xml("toString", { xmlns: NS_STANZAS }))),
    );
    assert.equal(read.condition, "undefined-condition");
  });

  test("an <error/> without a condition becomes undefined-condition", () => {
    const read = StanzaError.fromStanza(errorStanza(xml("error", { type: "cancel" })));
    assert.equal(read.condition, "undefined-condition");
    assert.equal(read.type, "cancel");
  });

  test("a stanza without <error/> becomes undefined-condition of type cancel", () => {
    const read = StanzaError.fromStanza(errorStanza(undefined));
    assert.equal(read.condition, "undefined-condition");
    assert.equal(read.type, "cancel");
    assert.equal(read.text, undefined);
  });
});

describe("stanza helpers", () => {
  test("replyTo swaps from and to, keeps the id and sets the type", () => {
    const request = xml("iq", { type: "get", id: "q1", from: "a@x/r", to: "svc.x" });
    const reply = replyTo(request, "result", xml("query", { xmlns: "urn:q" }));
    assert.equal(reply.name, "iq");
    assert.deepEqual(reply.attrs, { type: "result", to: "a@x/r", from: "svc.x", id: "q1" });
    assert.equal(childElements(reply)[0]?.name, "query");
  });

  test("replyTo leaves out addresses and id the request did not have", () => {
    const reply = replyTo(xml("message", { type: "chat" }), "error");
    assert.deepEqual(reply.attrs, { type: "error" });
  });

  test("errorReply carries the error element", () => {
    const request = xml("presence", { from: "a@x/r", to: "room@svc.x/nick" });
    const reply = errorReply(request, new StanzaError("conflict", "nick taken"));
    assert.equal(reply.name, "presence");
    assert.equal(reply.attrs.type, "error");
    assert.equal(reply.attrs.to, "a@x/r");
    assert.equal(reply.attrs.from, "room@svc.x/nick");
    const read = StanzaError.fromStanza(reply);
    assert.equal(read.condition, "conflict");
    assert.equal(read.text, "nick taken");
  });

  test("childElements skips text nodes", () => {
    const element = xml("x", {}, "text", xml("a"), " ", xml("b"));
    assert.deepEqual(
      childElements(element).map((child) => child.name),
      ["a", "b"],
    );
  });
});
