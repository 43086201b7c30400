import assert from "node:assert/strict";
import { describe, it } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { SHOWS } from "../../src/presence/rules.js";
import {
  GONE,
  NS_PRESENCE,
  combinedPresence,
  escapeLocal,
  mirrorJid,
  readPresence,
  unescapeLocal,
} from "../../src/presence/stanzas.js";
import { NS_IDLE } from "../../src/xmpp/namespaces.js";
import { seededRandom } from "../../src/dev/random.js";

const COMPONENT = "concierge.example.org";
const ALICE = "alice@example.org";
const PHONE = `${ALICE}/phone`;

function presence(attrs: Record<string, string> = {}, ...children: Element[]): Element {
  return xml("presence", { from: PHONE, to: COMPONENT, ...attrs }, ...children);
}

const elements = (element: Element): Element[] =>
  element.children.filter((child): child is Element => typeof child !== "string");

/** XEP-0106's escapes: every character it escapes and its escape sequence. */
const XEP_0106: Array<[string, string]> = [
  [" ", "\\20"],
  ['"', "\\22"],
  ["&", "\\26"],
  ["'", "\\27"],
  ["/", "\\2f"],
  [":", "\\3a"],
  ["<", "\\3c"],
  [">", "\\3e"],
  ["@", "\\40"],
  ["\\", "\\5c"],
];

describe("readPresence", () => {
  it("reads a presence without type as available and online", () => {
    assert.deepEqual(readPresence(presence()), {
      kind: "available",
      report: { show: "online", idle: false },
    });
  });

  for (const show of ["chat", "away", "xa", "dnd"] as const) {
    it(`reads <show>${show}</show>`, () => {
      assert.deepEqual(readPresence(presence({}, xml("show", {}, show))), {
        kind: "available",
        report: { show, idle: false },
      });
    });
  }

  it("trims whitespace around the show value", () => {
    const event = readPresence(presence({}, xml("show", {}, "  away\n")));
    assert.deepEqual(event, { kind: "available", report: { show: "away", idle: false } });
  });

  for (const value of ["online", "offline", "busy", "AWAY", "", "unavailable", "chat away"]) {
    it(`reads an invalid show ${JSON.stringify(value)} as online`, () => {
      const event = readPresence(presence({}, xml("show", {}, value)));
      assert.deepEqual(event, { kind: "available", report: { show: "online", idle: false } });
    });
  }

  it("reads an empty <show/> as online", () => {
    const event = readPresence(presence({}, xml("show")));
    assert.deepEqual(event, { kind: "available", report: { show: "online", idle: false } });
  });

  it("reads XEP-0319 <idle/> as set by the idle timer", () => {
    const event = readPresence(
      presence(
        {},
        xml("show", {}, "away"),
        xml("idle", { xmlns: NS_IDLE, since: "2024-01-01T00:00:00Z" }),
      ),
    );
    assert.deepEqual(event, { kind: "available", report: { show: "away", idle: true } });
  });

  it("reads <idle/> without a show as an idle online device", () => {
    const event = readPresence(presence({}, xml("idle", { xmlns: NS_IDLE })));
    assert.deepEqual(event, { kind: "available", report: { show: "online", idle: true } });
  });

  it("ignores an <idle/> in another namespace", () => {
    for (const xmlns of ["urn:xmpp:idle:0", "jabber:iq:last", undefined]) {
      const attrs = xmlns ? { xmlns } : {};
      const event = readPresence(presence({}, xml("show", {}, "xa"), xml("idle", attrs)));
      assert.deepEqual(
        event,
        { kind: "available", report: { show: "xa", idle: false } },
        String(xmlns),
      );
    }
  });

  it("keeps the status text and ignores other children such as priority", () => {
    const event = readPresence(
      presence(
        {},
        xml("status", {}, "at lunch"),
        xml("priority", {}, "5"),
        xml("show", {}, "dnd"),
        xml("c", { xmlns: "http://jabber.org/protocol/caps" }),
      ),
    );
    assert.deepEqual(event, {
      kind: "available",
      report: { show: "dnd", idle: false, status: "at lunch" },
    });
  });

  it("keeps the start of a long status text, and no status when it is blank", () => {
    const long = readPresence(presence({}, xml("status", {}, ` ${"x".repeat(600)} `)));
    assert.deepEqual(long, {
      kind: "available",
      report: { show: "online", idle: false, status: "x".repeat(500) },
    });
    const blank = readPresence(presence({}, xml("status", {}, "  ")));
    assert.deepEqual(blank, { kind: "available", report: { show: "online", idle: false } });
  });

  it("reads unavailable, error and probe", () => {
    assert.deepEqual(readPresence(presence({ type: "unavailable" })), { kind: "unavailable" });
    assert.deepEqual(readPresence(presence({ type: "error" })), { kind: "error" });
    assert.deepEqual(readPresence(presence({ type: "probe" })), { kind: "probe" });
  });

  it("an unavailable presence with a show is still unavailable", () => {
    const event = readPresence(presence({ type: "unavailable" }, xml("show", {}, "chat")));
    assert.deepEqual(event, { kind: "unavailable" });
  });

  for (const type of ["subscribe", "subscribed", "unsubscribe", "unsubscribed"] as const) {
    it(`reads ${type} as a subscription`, () => {
      assert.deepEqual(readPresence(presence({ type })), { kind: "subscription", type });
    });
  }

  for (const type of ["available", "invisible", "Subscribe", "", "get", "headline"]) {
    it(`ignores an unknown type ${JSON.stringify(type)}`, () => {
      assert.equal(readPresence(presence({ type })), undefined);
    });
  }
});

describe("escapeLocal / unescapeLocal (XEP-0106)", () => {
  for (const [char, escaped] of XEP_0106) {
    it(`escapes ${JSON.stringify(char)} as ${escaped} and back`, () => {
      assert.equal(escapeLocal(char), escaped);
      assert.equal(unescapeLocal(escaped), char);
      assert.equal(escapeLocal(`a${char}b`), `a${escaped}b`);
      assert.equal(unescapeLocal(`a${escaped}b`), `a${char}b`);
    });
  }

  it("escapes a bare JID to something without @ or /", () => {
    assert.equal(escapeLocal("alice@example.org"), "alice\\40example.org");
    assert.equal(escapeLocal("d'artagnan@musketeers.lit"), "d\\27artagnan\\40musketeers.lit");
    assert.equal(escapeLocal("a b/c:d"), "a\\20b\\2fc\\3ad");
  });

  it("leaves every other character alone", () => {
    const plain = "abcXYZ019.-_+~!#$%^*()[]{}|;,?=`é漢字🙂\t";
    assert.equal(escapeLocal(plain), plain);
    assert.equal(unescapeLocal(plain), plain);
  });

  it("unescapes only the ten known sequences", () => {
    for (const sequence of ["\\21", "\\41", "\\zz", "\\2", "\\", "\\4"]) {
      assert.equal(unescapeLocal(sequence), sequence);
    }
  });

  it("escapes the backslash of a literal escape sequence, so it round-trips", () => {
    assert.equal(escapeLocal("\\40"), "\\5c40");
    assert.equal(unescapeLocal("\\5c40"), "\\40");
    assert.equal(unescapeLocal(escapeLocal("\\5c")), "\\5c");
  });

  it("round-trips random strings over the special characters (seeded)", () => {
    const random = seededRandom(20240601);
    const alphabet = [
      ...XEP_0106.map(([c]) => c),
      "a",
      "Z",
      "0",
      "2",
      "4",
      "5",
      "c",
      "f",
      "é",
      ".",
    ];
    for (let round = 0; round < 5_000; round++) {
      const length = Math.floor(random() * 16);
      let value = "";
      for (let i = 0; i < length; i++) value += alphabet[Math.floor(random() * alphabet.length)];
      const escaped = escapeLocal(value);
      assert.equal(unescapeLocal(escaped), value, JSON.stringify(value));
      assert.doesNotMatch(escaped, /[ "&'/:<>@]/, JSON.stringify(value));
      assert.equal(escapeLocal(value), escaped, "deterministic");
    }
  });

  it("round-trips random strings of arbitrary code points (seeded)", () => {
    const random = seededRandom(7);
    for (let round = 0; round < 2_000; round++) {
      const length = Math.floor(random() * 12);
      const points = Array.from({ length }, () =>
        random() < 0.5 ? 0x20 + Math.floor(random() * 0x60) : Math.floor(random() * 0xd7ff) + 1,
      );
      const value = String.fromCodePoint(...points);
      assert.equal(unescapeLocal(escapeLocal(value)), value, JSON.stringify(value));
    }
  });
});

describe("mirrorJid", () => {
  it("puts the escaped user at the component", () => {
    assert.equal(mirrorJid(ALICE, COMPONENT), "alice\\40example.org@concierge.example.org");
    assert.equal(
      mirrorJid("o'brien@example.org", COMPONENT),
      "o\\27brien\\40example.org@concierge.example.org",
    );
  });

  it("its local part unescapes to the user", () => {
    const mirror = mirrorJid("x y@example.org", COMPONENT);
    assert.equal(unescapeLocal(mirror.slice(0, mirror.indexOf("@"))), "x y@example.org");
    assert.equal(mirror.slice(mirror.indexOf("@") + 1), COMPONENT);
  });
});

describe("combinedPresence", () => {
  const TO = "bob@example.org/laptop";

  it("offline: type unavailable, no <show>, the marker says offline", () => {
    const stanza = combinedPresence(COMPONENT, ALICE, "offline", TO, false);
    assert.equal(stanza.name, "presence");
    assert.deepEqual(stanza.attrs, {
      from: mirrorJid(ALICE, COMPONENT),
      to: TO,
      type: "unavailable",
    });
    assert.equal(stanza.getChild("show"), undefined);
    assert.deepEqual(
      elements(stanza).map((child) => child.name),
      ["x"],
    );
    assert.deepEqual(stanza.getChild("x", NS_PRESENCE)?.attrs, {
      xmlns: NS_PRESENCE,
      jid: ALICE,
      show: "offline",
    });
  });

  it("online: available, no <show>", () => {
    const stanza = combinedPresence(COMPONENT, ALICE, "online", TO, false);
    assert.deepEqual(stanza.attrs, { from: mirrorJid(ALICE, COMPONENT), to: TO });
    assert.equal(stanza.getChild("show"), undefined);
    assert.deepEqual(stanza.getChild("x", NS_PRESENCE)?.attrs, {
      xmlns: NS_PRESENCE,
      jid: ALICE,
      show: "online",
    });
  });

  for (const show of ["chat", "away", "xa", "dnd"] as const) {
    it(`${show}: available with <show>${show}</show> before the marker`, () => {
      const stanza = combinedPresence(COMPONENT, ALICE, show, TO, false);
      assert.equal(stanza.attrs.type, undefined);
      assert.equal(stanza.getChildText("show"), show);
      assert.deepEqual(
        elements(stanza).map((child) => child.name),
        ["show", "x"],
      );
      assert.equal(stanza.getChild("x", NS_PRESENCE)?.attrs.show, show);
    });
  }

  it("marks the recipient's own presence with self=true, and only that", () => {
    for (const show of SHOWS) {
      const own = combinedPresence(COMPONENT, ALICE, show, PHONE, true);
      assert.equal(own.getChild("x", NS_PRESENCE)?.attrs.self, "true", show);
      const other = combinedPresence(COMPONENT, ALICE, show, TO, false);
      assert.equal(other.getChild("x", NS_PRESENCE)?.attrs.self, undefined, show);
    }
  });

  it("serialises as expected", () => {
    assert.equal(
      combinedPresence(COMPONENT, ALICE, "away", TO, true).toString(),
      `<presence from="alice\\40example.org@${COMPONENT}" to="${TO}">` +
        `<show>away</show><x xmlns="${NS_PRESENCE}" jid="${ALICE}" show="away" self="true"/>` +
        `</presence>`,
    );
  });
});

describe("GONE", () => {
  it("GONE holds the conditions meaning the resource is not there", () => {
    for (const condition of ["recipient-unavailable", "service-unavailable", "item-not-found"]) {
      assert.ok(GONE.has(condition), condition);
    }
    for (const condition of ["forbidden", "bad-request", "not-acceptable", "resource-constraint"]) {
      assert.equal(GONE.has(condition), false, condition);
    }
  });
});
