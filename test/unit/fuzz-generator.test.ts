import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NS, StanzaGenerator, type FuzzStanza, type FuzzWorld } from "../fuzz/generator.js";
import { Prng } from "../../src/dev/random.js";

const world: FuzzWorld = {
  componentJid: "concierge.localhost",
  domain: "localhost",
  mucDomain: "conference.localhost",
  users: ["user1@localhost", "user2@localhost", "user3@localhost", "user4@localhost"],
  neercRooms: ["neerc", "contest"],
  otherRooms: ["lobby"],
  extraRooms: ["0123abcd@conference.localhost"],
  groups: ["Halls"],
};

/** Prosody 0.12's c2s_stanza_size_limit. */
const SERVER_LIMIT = 256 * 1024;

function draw(seed: number, count: number, options = {}): FuzzStanza[] {
  const generator = new StanzaGenerator(seed, world, options);
  return Array.from({ length: count }, () => generator.next());
}

// One long stream shared by the coverage and size tests (generating it takes a second or two).
const stream = draw(7, 20_000);
const labels = new Map<string, number>();
for (const stanza of stream) {
  for (const label of new Set(stanza.labels)) labels.set(label, (labels.get(label) ?? 0) + 1);
}

describe("the PRNG", () => {
  test("is mulberry32: the same numbers for a seed on every machine", () => {
    const a = new Prng(1);
    assert.deepEqual([a.uint32(), a.uint32(), a.uint32()], [2693262067, 11749833, 2265367787]);
    const b = new Prng(0xdeadbeef);
    assert.deepEqual([b.uint32(), b.uint32(), b.uint32()], [4043151706, 1147597007, 3315858022]);
  });

  test("int() stays within its bounds, both included", () => {
    const r = new Prng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 1_000; i++) {
      const n = r.int(-2, 2);
      assert.ok(n >= -2 && n <= 2);
      seen.add(n);
    }
    assert.equal(seen.size, 5);
  });
});

describe("determinism", () => {
  test("the same seed gives the same stanzas, byte for byte", () => {
    const first = draw(42, 2_000);
    const second = draw(42, 2_000);
    assert.deepEqual(
      first.map((s) => [s.element.toString(), s.expectsReply, s.labels.join(" ")]),
      second.map((s) => [s.element.toString(), s.expectsReply, s.labels.join(" ")]),
    );
  });

  test("different seeds give different streams", () => {
    const a = draw(1, 200).map((s) => s.element.toString());
    const b = draw(2, 200).map((s) => s.element.toString());
    const same = a.filter((xml, i) => xml === b[i]).length;
    assert.ok(same < 5, `${same} of 200 identical`);
  });

  test("ids are unique, and only iq get/set (or no or an unknown type) expect a reply", () => {
    const ids = new Set(stream.map((s) => s.id));
    assert.equal(ids.size, stream.length);
    for (const s of stream) {
      const type = String(s.element.attrs.type ?? "");
      const expected = s.kind === "iq" && type !== "result" && type !== "error";
      assert.equal(s.expectsReply, expected, s.element.toString().slice(0, 200));
      assert.equal(s.element.attrs.id, s.id);
      assert.doesNotMatch(s.id, /[\t\r\n]/, "XML would turn these into spaces in the reply");
    }
  });
});

describe("coverage within 20,000 draws", () => {
  const expect = (required: readonly string[], atLeast = 1) => {
    const missing = required.filter((label) => (labels.get(label) ?? 0) < atLeast);
    assert.deepEqual(missing, [], `seen fewer than ${atLeast} times`);
  };

  test("every namespace the daemon serves, and the ones around it", () => {
    expect(Object.values(NS).map((ns) => `ns:${ns}`));
    expect(["ns:random"]);
  });

  test("every kind of stanza and type, including invalid types", () => {
    expect(
      ["get", "set", "result", "error", "none", "invalid"].map((t) => `iq-type:${t}`),
      50,
    );
    expect(["iq-children:0", "iq-children:1", "iq-children:2"], 50);
    expect(
      ["none", "chat", "normal", "headline", "groupchat", "error", "invalid"].map(
        (t) => `msg-type:${t}`,
      ),
    );
    expect(
      [
        "available",
        "unavailable",
        "probe",
        "subscribe",
        "subscribed",
        "unsubscribe",
        "unsubscribed",
        "error",
        "invalid",
      ].map((t) => `pres-type:${t}`),
    );
    const kinds = new Set(stream.map((s) => s.kind));
    assert.deepEqual([...kinds].sort(), ["iq", "message", "presence"]);
  });

  test("every kind of address", () => {
    expect(
      [
        "component",
        "neerc-default",
        "neerc-room",
        "other-room",
        "node",
        "mirror",
        "mirror-unknown",
        "resource",
        "invalid",
        "remote",
        "none",
      ].map((t) => `to:${t}`),
    );
    const tos = stream.map((s) => String(s.element.attrs.to ?? ""));
    assert.ok(tos.some((to) => to === "user1\\40localhost@concierge.localhost"));
    assert.ok(tos.some((to) => to === "contest@concierge.localhost"));
  });

  test("plausible and broken payloads of each protocol", () => {
    expect([
      "case:valid",
      "case:disco-node-none",
      "case:disco-node-caps",
      "case:disco-node-random",
      "case:neerc-valid-create",
      "case:neerc-valid-edit",
      "case:neerc-valid-remove",
      "case:neerc-valid-taskstatus",
      "case:neerc-task-title-huge",
      "case:neerc-task-title-max",
      "case:neerc-task-title-over-max",
      "case:neerc-task-title-missing",
      "case:neerc-task-type-invalid",
      "case:neerc-task-statuses-over-limit",
      "case:neerc-task-extra-attributes",
      "case:neerc-status-for-group",
      "case:neerc-status-for-unknown",
      "case:neerc-value-over-max",
      "case:neerc-taskstatus-id-missing",
      "case:olpc-property-valid",
      "case:olpc-property-wrong-value",
      "case:olpc-property-unknown-type",
      "case:olpc-property-missing-name",
      "case:olpc-property-element-content",
      "case:olpc-properties-duplicates",
      "case:olpc-properties-over-count",
      "case:olpc-properties-maxed",
      "case:olpc-criteria-both",
      "case:olpc-view-valid",
      "case:olpc-view-size-silly",
      "case:olpc-view-id-over-max",
      "case:olpc-bare-buddy",
      "case:olpc-close",
      "case:olpc-membership-none",
      "case:olpc-current-activity",
      "case:rsm-plausible",
      "case:rsm-junk",
      "case:rsm-top-level",
      "case:in-call-valid",
      "case:in-call-room-missing",
      "case:in-call-room-jid-ish",
      "case:muc-invite",
      "case:muc-user-presence",
      "case:show-invalid",
      "case:idle",
      "case:error-gone",
      "case:jid-invalid",
      "case:jid-too-long",
      "case:jid-long-unicode",
      "case:bad-jid-attribute",
      "case:misnamed",
      "case:neerc-spoofed-notification",
      `case:pep-${NS.buddyProps}`,
      `case:pep-${NS.currentActivity}`,
      `case:pep-${NS.activities}`,
      `case:pep-${NS.activityProps}`,
      `case:pep-${NS.nick}`,
      "case:pep-unknown-node",
    ]);
  });

  test("hostile structure: huge attributes, deep nesting, odd ids and text", () => {
    expect([
      "case:huge-attribute",
      "case:deep-nesting",
      "case:payload-junk",
      "case:stanza-junk",
      "case:stanza-text",
      "case:prefixed-attribute",
      "case:odd-id",
      "case:random-element",
    ]);
    let longest = 0;
    for (const s of stream) {
      for (const length of attributeLengths(s.element.toString())) {
        longest = Math.max(longest, length);
      }
    }
    assert.ok(longest >= 90_000, `longest attribute ${longest}`);
    assert.ok(
      stream.some((s) => depthOf(s.element.toString()) >= 100),
      "nesting 100 deep",
    );
  });
});

describe("size bounds", () => {
  test("every stanza stays within the limit (default 200,000 bytes, under the server's)", () => {
    for (const s of stream) {
      assert.ok(s.bytes <= 200_000, `#${s.index}: ${s.bytes} bytes`);
      assert.equal(s.bytes, Buffer.byteLength(s.element.toString(), "utf8"));
      assert.equal(s.oversize, false);
    }
    assert.ok(
      stream.some((s) => s.bytes > 100_000),
      "some are big",
    );
    const mean = stream.reduce((sum, s) => sum + s.bytes, 0) / stream.length;
    assert.ok(mean < 5_000, `mean ${mean} bytes`);
  });

  test("a smaller limit holds too", () => {
    for (const s of draw(9, 3_000, { maxBytes: 20_000 })) assert.ok(s.bytes <= 20_000);
  });

  test("oversized stanzas come only when asked for, and are over the server's limit", () => {
    const some = draw(11, 2_000, { oversizeRate: 0.01 });
    const oversize = some.filter((s) => s.oversize);
    assert.ok(oversize.length > 5);
    for (const s of oversize) {
      assert.ok(s.bytes > SERVER_LIMIT);
      assert.equal(s.expectsReply, false);
    }
    for (const s of some.filter((x) => !x.oversize)) assert.ok(s.bytes <= 200_000);
  });

  test("only characters XML allows (no controls, no U+FFFE/U+FFFF, no lone surrogates)", () => {
    for (const s of stream) {
      const bad = firstNonXmlCharacter(s.element.toString());
      assert.equal(bad, undefined, `#${s.index}: U+${bad?.toString(16)}`);
    }
  });
});

/** The first UTF-16 unit XML 1.0 does not allow (a lone surrogate counts), or undefined. */
function firstNonXmlCharacter(text: string): number | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return c;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return c;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return c;
    if (c === 0xfffe || c === 0xffff) return c;
  }
  return undefined;
}

function attributeLengths(xml: string): number[] {
  return [...xml.matchAll(/="([^"]*)"/g)].map((m) => m[1]!.length);
}

/** The deepest nesting of elements in serialized XML (tags only; text and attributes skipped). */
function depthOf(xml: string): number {
  let depth = 0;
  let max = 0;
  for (const m of xml.matchAll(/<(\/?)[^>]*?(\/?)>/g)) {
    if (m[1]) depth--;
    else if (!m[2]) max = Math.max(max, ++depth);
  }
  return max;
}
