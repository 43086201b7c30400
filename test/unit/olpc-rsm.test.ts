import assert from "node:assert/strict";
import { describe, test } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { DEFAULT_LIMITS } from "../../src/olpc/limits.js";
import { NS_ACTIVITY, NS_BUDDY, NS_RSM } from "../../src/olpc/namespaces.js";
import { parseIqRequest } from "../../src/olpc/requests.js";
import { page, parseRsm, serializeRsm, type RsmRequest } from "../../src/olpc/rsm.js";
import { StanzaError, type StanzaErrorCondition } from "../../src/xmpp/stanza-error.js";

const ITEMS = Array.from({ length: 250 }, (_, i) => `item${String(i).padStart(3, "0")}`);
const uid = (item: string) => item;

function set(children: Record<string, string>): Element {
  return xml(
    "set",
    { xmlns: NS_RSM },
    ...Object.entries(children).map(([name, text]) => xml(name, {}, ...(text ? [text] : []))),
  );
}

function request(children: Record<string, string>, cap = 100): RsmRequest {
  return parseRsm(set(children), cap);
}

function assertRefused(run: () => unknown, condition: StanzaErrorCondition, text: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof StanzaError, `expected a StanzaError, got ${String(error)}`);
    assert.equal(error.condition, condition);
    assert.match(error.text ?? "", text);
    return true;
  });
}

describe("parseRsm", () => {
  test("no <set/>: the first page at the cap, and no set to answer with", () => {
    assert.deepEqual(parseRsm(undefined, 20), { present: false, max: 20 });
  });

  test("an empty <set/> is the first page at the cap", () => {
    assert.deepEqual(request({}, 20), { present: true, max: 20 });
  });

  test("reads max, after, before and index", () => {
    assert.deepEqual(request({ max: "10" }), { present: true, max: 10 });
    assert.deepEqual(request({ max: "10", after: "x" }), { present: true, max: 10, after: "x" });
    assert.deepEqual(request({ max: "10", before: "x" }), { present: true, max: 10, before: "x" });
    assert.deepEqual(request({ max: "10", before: "" }), { present: true, max: 10, before: "" });
    assert.deepEqual(request({ max: "10", index: "371" }), { present: true, max: 10, index: 371 });
    assert.deepEqual(request({ max: " 0 " }), { present: true, max: 0 });
  });

  test("a max over the cap is lowered to the cap (the responder may return fewer)", () => {
    assert.equal(request({ max: "1000" }, 50).max, 50);
    assert.equal(request({ max: "99999999999999999999999" }, 50).max, 50, "huge is still capped");
  });

  test("a negative or non-integer max or index is bad-request", () => {
    for (const bad of ["-1", "1.5", "ten", "", "1e2", "+3"]) {
      assertRefused(() => request({ max: bad }), "bad-request", /<max\/> must be a non-negative/);
      assertRefused(() => request({ index: bad }), "bad-request", /<index\/> must be/);
    }
  });

  test("an empty <after/> is bad-request", () => {
    assertRefused(() => request({ after: "" }), "bad-request", /<after\/> needs a UID/);
  });

  test("more than one of after, before and index is bad-request", () => {
    assertRefused(() => request({ after: "a", before: "b" }), "bad-request", /after, before/);
    assertRefused(() => request({ after: "a", index: "2" }), "bad-request", /after, index/);
    assertRefused(() => request({ before: "", index: "2" }), "bad-request", /before, index/);
  });

  test("a repeated or unknown child is bad-request", () => {
    const twice = xml("set", { xmlns: NS_RSM }, xml("max", {}, "1"), xml("max", {}, "2"));
    assertRefused(() => parseRsm(twice, 10), "bad-request", /<max\/> appears more than once/);
    assertRefused(() => request({ first: "x" }), "bad-request", /unexpected <first\/>/);
    const foreign = xml("set", { xmlns: NS_RSM }, xml("max", { xmlns: "urn:x" }, "1"));
    assertRefused(() => parseRsm(foreign, 10), "bad-request", /unexpected <max\/>/);
  });

  test("a repeated <before/> (with or without a UID) or a non-integer <index/> is bad-request", () => {
    const before = (uid: string) => xml("before", {}, ...(uid ? [uid] : []));
    const cases: Array<[Element, RegExp]> = [
      [
        xml("set", { xmlns: NS_RSM }, before("a"), before("b")),
        /<before\/> appears more than once/,
      ],
      [xml("set", { xmlns: NS_RSM }, before(""), before("")), /<before\/> appears more than once/],
      [xml("set", { xmlns: NS_RSM }, xml("index", {}, "abc")), /<index\/> must be a non-negative/],
    ];
    for (const [rsm, text] of cases) {
      assertRefused(() => parseRsm(rsm, 10), "bad-request", text);
      // The same through a whole draft query, activity and buddy: the handler's error reply.
      for (const xmlns of [NS_ACTIVITY, NS_BUDDY]) {
        const query = xml("query", { xmlns }, rsm);
        assertRefused(() => parseIqRequest(query, DEFAULT_LIMITS), "bad-request", text);
      }
    }
  });

  test("a child holding elements is bad-request", () => {
    const nested = xml("set", { xmlns: NS_RSM }, xml("max", {}, xml("b")));
    assertRefused(() => parseRsm(nested, 10), "bad-request", /<max\/> must contain only text/);
  });
});

describe("page", () => {
  test("pages forward through 250 items, 20 at a time", () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const result = page(ITEMS, uid, { present: true, max: 20, ...(after ? { after } : {}) });
      assert.equal(result.count, 250);
      if (result.items.length === 0) {
        assert.equal(result.first, undefined);
        assert.equal(result.last, undefined);
        break;
      }
      assert.deepEqual(result.first, { uid: result.items[0], index: seen.length });
      assert.equal(result.last, result.items.at(-1));
      seen.push(...result.items);
      after = result.last;
      pages++;
      if (seen.length === 250) {
        assert.equal(result.items.length, 10, "the last page is the remainder");
        assert.equal(result.first?.index, 240, "count minus the size of the last page");
      }
    }
    assert.equal(pages, 13);
    assert.deepEqual(seen, ITEMS);
  });

  test("pages backward from the last page (empty <before/>) to the first", () => {
    const seen: string[] = [];
    let before = "";
    for (;;) {
      const result = page(ITEMS, uid, { present: true, max: 30, before });
      assert.equal(result.count, 250);
      if (result.items.length === 0) break;
      const expectedStart = Math.max(0, 250 - seen.length - 30);
      assert.deepEqual(result.first, { uid: ITEMS[expectedStart], index: expectedStart });
      assert.equal(result.last, ITEMS[249 - seen.length]);
      seen.unshift(...result.items);
      before = result.first?.uid ?? "";
      if (result.first?.index === 0) {
        assert.equal(result.items.length, 250 % 30, "the first page holds what is left");
        const beyond = page(ITEMS, uid, { present: true, max: 30, before });
        assert.deepEqual(beyond, { items: [], count: 250 }, "nothing before the first item");
        break;
      }
    }
    assert.deepEqual(seen, ITEMS);
  });

  test("the last page of a set smaller than max is the whole set", () => {
    const result = page(ITEMS.slice(0, 5), uid, { present: true, max: 10, before: "" });
    assert.deepEqual(result.items, ITEMS.slice(0, 5));
    assert.deepEqual(result.first, { uid: ITEMS[0], index: 0 });
  });

  test("index-based access starts the page at that position", () => {
    const result = page(ITEMS, uid, { present: true, max: 10, index: 123 });
    assert.deepEqual(result.items, ITEMS.slice(123, 133));
    assert.deepEqual(result.first, { uid: "item123", index: 123 });
    assert.equal(result.last, "item132");
    const tail = page(ITEMS, uid, { present: true, max: 10, index: 245 });
    assert.deepEqual(tail.items, ITEMS.slice(245));
    assert.equal(page(ITEMS, uid, { present: true, max: 10, index: 0 }).first?.index, 0);
  });

  test("an index at or past the end is an empty page, not an error", () => {
    for (const index of [250, 10_000]) {
      assert.deepEqual(page(ITEMS, uid, { present: true, max: 10, index }), {
        items: [],
        count: 250,
      });
    }
  });

  test("a stale after/before UID is item-not-found", () => {
    assertRefused(
      () => page(ITEMS, uid, { present: true, max: 10, after: "gone" }),
      "item-not-found",
      /no item 'gone'/,
    );
    assertRefused(
      () => page(ITEMS, uid, { present: true, max: 10, before: "gone" }),
      "item-not-found",
      /'gone'/,
    );
    const shrunk = ITEMS.filter((item) => item !== "item019");
    assertRefused(
      () => page(shrunk, uid, { present: true, max: 20, after: "item019" }),
      "item-not-found",
      /item019/,
    );
  });

  test("max=0 gives the count only", () => {
    assert.deepEqual(page(ITEMS, uid, { present: true, max: 0 }), { items: [], count: 250 });
    assert.deepEqual(page(ITEMS, uid, { present: true, max: 0, after: "item010" }), {
      items: [],
      count: 250,
    });
  });

  test("an empty result set gives an empty page", () => {
    assert.deepEqual(page([], uid, { present: true, max: 10 }), { items: [], count: 0 });
    assert.deepEqual(page([], uid, { present: true, max: 10, before: "" }), {
      items: [],
      count: 0,
    });
  });

  test("after the last item is an empty page", () => {
    assert.deepEqual(page(ITEMS, uid, { present: true, max: 10, after: "item249" }), {
      items: [],
      count: 250,
    });
  });

  test("a one-item page has the same first and last", () => {
    const result = page(ITEMS, uid, { present: true, max: 1, index: 7 });
    assert.equal(result.first?.uid, result.last);
  });

  test("uids come from uidOf", () => {
    const objects = [{ id: "b" }, { id: "c" }];
    const result = page(objects, (o) => o.id, { present: true, max: 1, after: "b" });
    assert.deepEqual(result, {
      items: [{ id: "c" }],
      first: { uid: "c", index: 1 },
      last: "c",
      count: 2,
    });
  });
});

describe("serializeRsm", () => {
  test("a page: first with its index, last, count", () => {
    assert.equal(
      serializeRsm({ first: { uid: "a", index: 10 }, last: "b", count: 800 }).toString(),
      `<set xmlns="${NS_RSM}"><first index="10">a</first><last>b</last><count>800</count></set>`,
    );
  });

  test("an empty page (or max=0): the count only", () => {
    assert.equal(
      serializeRsm({ count: 790 }).toString(),
      `<set xmlns="${NS_RSM}"><count>790</count></set>`,
    );
    assert.equal(
      serializeRsm(page(ITEMS, uid, { present: true, max: 0 })).toString(),
      `<set xmlns="${NS_RSM}"><count>250</count></set>`,
    );
  });

  test("escapes UIDs", () => {
    assert.match(
      serializeRsm({ first: { uid: "<&>", index: 0 }, last: "<&>", count: 1 }).toString(),
      /<first index="0">&lt;&amp;&gt;<\/first>/,
    );
  });
});
