import assert from "node:assert/strict";
import { describe, test } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { IqCaller, IqTimeoutError } from "../../src/xmpp/iq-caller.js";
import { StanzaError } from "../../src/xmpp/stanza-error.js";

const PEER = "pubsub.example.org";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function recorder() {
  const sent: Element[] = [];
  const caller = new IqCaller((element) => {
    sent.push(element);
  });
  return { caller, sent };
}

function request(id?: string): Element {
  return xml("iq", { type: "get", to: PEER, id }, xml("query", { xmlns: "urn:example:q" }));
}

function result(id: string, ...children: Element[]): Element {
  return xml("iq", { type: "result", id, from: PEER }, ...children);
}

function errorResult(id: string, error: StanzaError): Element {
  return xml("iq", { type: "error", id, from: PEER }, error.toElement());
}

/** Lets promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Tracks whether a promise settled, without leaving its rejection unhandled. */
function watch<T>(promise: Promise<T>) {
  const state = { settled: false };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

describe("IqCaller.request", () => {
  test("sends the iq through send()", () => {
    const { caller, sent } = recorder();
    const iq = request("abc");
    void caller.request(iq).catch(() => undefined);

    assert.equal(sent.length, 1);
    assert.equal(sent[0], iq);
    caller.rejectAll(new Error("cleanup"));
  });

  test("keeps an id the iq already has", () => {
    const { caller, sent } = recorder();
    void caller.request(request("mine")).catch(() => undefined);

    assert.equal(sent[0]?.attrs.id, "mine");
    caller.rejectAll(new Error("cleanup"));
  });

  test("gives an iq without an id a fresh random id", () => {
    const { caller, sent } = recorder();
    void caller.request(request()).catch(() => undefined);
    void caller.request(request()).catch(() => undefined);

    const [first, second] = sent.map((iq) => iq.attrs.id as unknown);
    assert.match(String(first), UUID);
    assert.match(String(second), UUID);
    assert.notEqual(first, second);
    caller.rejectAll(new Error("cleanup"));
  });

  test("resolves with the result stanza that answers it", async () => {
    const { caller } = recorder();
    const pending = caller.request(request("r1"));
    const reply = result("r1", xml("query", { xmlns: "urn:example:q" }, xml("item")));

    assert.equal(caller.accept(reply), true);
    assert.equal(await pending, reply);
  });

  test("counts pending requests until they are answered", async () => {
    const { caller } = recorder();
    assert.equal(caller.pendingCount, 0);
    const first = caller.request(request("p1"));
    const second = caller.request(request("p2"));
    assert.equal(caller.pendingCount, 2);

    caller.accept(result("p1"));
    assert.equal(caller.pendingCount, 1);
    caller.accept(result("p2"));
    assert.equal(caller.pendingCount, 0);
    await Promise.all([first, second]);
  });

  test("matches each answer to its own request, whatever the order", async () => {
    const { caller } = recorder();
    const first = caller.request(request("one"));
    const second = caller.request(request("two"));
    const secondReply = result("two");
    const firstReply = result("one");

    caller.accept(secondReply);
    caller.accept(firstReply);
    assert.equal(await first, firstReply);
    assert.equal(await second, secondReply);
  });

  test("an error answer rejects with the StanzaError it carries", async () => {
    const { caller } = recorder();
    const pending = caller.request(request("e1"));

    assert.equal(
      caller.accept(errorResult("e1", new StanzaError("item-not-found", "no node", "modify"))),
      true,
    );
    await assert.rejects(pending, (error: unknown) => {
      assert.ok(error instanceof StanzaError);
      assert.equal(error.condition, "item-not-found");
      assert.equal(error.text, "no node");
      assert.equal(error.type, "modify");
      return true;
    });
    assert.equal(caller.pendingCount, 0);
  });

  test("an error answer without a condition rejects with undefined-condition", async () => {
    const { caller } = recorder();
    const pending = caller.request(request("e2"));
    caller.accept(xml("iq", { type: "error", id: "e2", from: PEER }));

    await assert.rejects(
      pending,
      (error: unknown) => error instanceof StanzaError && error.condition === "undefined-condition",
    );
  });

  test("a send() that throws rejects with that error and leaves nothing pending", async () => {
    const failure = new Error("not connected");
    const caller = new IqCaller(() => {
      throw failure;
    });

    await assert.rejects(caller.request(request("s1")), (error: unknown) => error === failure);
    assert.equal(caller.pendingCount, 0);
    assert.equal(caller.accept(result("s1")), false);
  });

  test("rejects with IqTimeoutError when no answer comes in time", async () => {
    const { caller } = recorder();
    const pending = caller.request(request("slow"), 20);

    await assert.rejects(pending, (error: unknown) => {
      assert.ok(error instanceof IqTimeoutError);
      assert.equal(error.name, "IqTimeoutError");
      assert.equal(error.message, "no answer to iq slow within 20 ms");
      return true;
    });
    assert.equal(caller.pendingCount, 0);
  });

  test("an answer arriving after the timeout is not accepted", async () => {
    const { caller } = recorder();
    await assert.rejects(caller.request(request("late"), 10), IqTimeoutError);

    assert.equal(caller.accept(result("late")), false);
  });

  test("does not time out once answered", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const { caller } = recorder();
    const reply = result("fast");
    const pending = caller.request(request("fast"), 100);
    caller.accept(reply);
    t.mock.timers.tick(1_000);

    assert.equal(await pending, reply);
  });

  test("the timer of an answered request does not cancel a later one with the same id", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const { caller } = recorder();
    const first = caller.request(request("reused"), 100);
    caller.accept(result("reused"));
    await first;

    const second = caller.request(request("reused"), 1_000);
    t.mock.timers.tick(500);
    assert.equal(caller.pendingCount, 1);
    const reply = result("reused");
    assert.equal(caller.accept(reply), true);
    assert.equal(await second, reply);
  });

  test("waits the default 30 s before timing out", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const { caller } = recorder();
    const pending = caller.request(request("default"));
    const state = watch(pending);

    t.mock.timers.tick(29_999);
    await settle();
    assert.equal(state.settled, false);
    t.mock.timers.tick(1);
    await assert.rejects(pending, /within 30000 ms/);
  });
});

describe("IqCaller.accept", () => {
  test("returns false for an id it is not waiting for", () => {
    const { caller } = recorder();
    assert.equal(caller.accept(result("nobody")), false);
  });

  test("returns false for an answer without an id", () => {
    const { caller } = recorder();
    void caller.request(request("x")).catch(() => undefined);
    assert.equal(caller.accept(xml("iq", { type: "result", from: PEER })), false);
    assert.equal(caller.pendingCount, 1);
    caller.rejectAll(new Error("cleanup"));
  });

  test("returns false for a second answer to the same request", async () => {
    const { caller } = recorder();
    const pending = caller.request(request("twice"));
    const first = result("twice");

    assert.equal(caller.accept(first), true);
    assert.equal(caller.accept(result("twice")), false);
    assert.equal(await pending, first);
  });
});

describe("IqCaller.rejectAll", () => {
  test("rejects every pending request with the reason at once", async () => {
    const { caller } = recorder();
    const reason = new Error("offline");
    const pending = [
      caller.request(request("a")),
      caller.request(request("b")),
      caller.request(request("c")),
    ];

    caller.rejectAll(reason);
    assert.equal(caller.pendingCount, 0);
    for (const promise of pending) {
      await assert.rejects(promise, (error: unknown) => error === reason);
    }
  });

  test("answers arriving afterwards are not accepted", async () => {
    const { caller } = recorder();
    const pending = caller.request(request("gone"));
    caller.rejectAll(new Error("offline"));
    await assert.rejects(pending, /offline/);

    assert.equal(caller.accept(result("gone")), false);
  });

  test("clears the timers, so nothing times out later", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const { caller } = recorder();
    const pending = caller.request(request("t"), 100);
    caller.rejectAll(new Error("offline"));
    await assert.rejects(pending, /offline/);

    const next = caller.request(request("t"), 1_000);
    t.mock.timers.tick(200);
    assert.equal(caller.pendingCount, 1, "the old timer must not remove the new request");
    caller.rejectAll(new Error("cleanup"));
    await assert.rejects(next, /cleanup/);
  });

  test("does nothing when nothing is pending", () => {
    const { caller } = recorder();
    assert.doesNotThrow(() => caller.rejectAll(new Error("offline")));
    assert.equal(caller.pendingCount, 0);
  });

  test("requests made afterwards work as usual", async () => {
    const { caller } = recorder();
    caller.rejectAll(new Error("offline"));
    const pending = caller.request(request("after"));
    const reply = result("after");
    caller.accept(reply);
    assert.equal(await pending, reply);
  });
});
