import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  bareOf,
  parseJid,
  requireJid,
  requireUserJid,
  type BareJid,
  type FullJid,
} from "../../src/xmpp/jid.js";
import { StanzaError } from "../../src/xmpp/stanza-error.js";

const refused = (run: () => unknown, text: RegExp) =>
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof StanzaError);
    assert.equal(error.condition, "jid-malformed");
    assert.match(error.text ?? "", text);
    return true;
  });

describe("parseJid: the one rule for every address", () => {
  test("splits local, domain and resource", () => {
    assert.deepEqual(parseJid("juliet@capulet.example/balcony"), {
      local: "juliet",
      domain: "capulet.example",
      resource: "balcony",
      bare: "juliet@capulet.example",
      full: "juliet@capulet.example/balcony",
    });
    assert.deepEqual(parseJid("capulet.example"), {
      local: undefined,
      domain: "capulet.example",
      resource: undefined,
      bare: "capulet.example",
      full: "capulet.example",
    });
  });

  test("case-folds the local part and the domain, never the resource", () => {
    const jid = parseJid("Juliet@Capulet.EXAMPLE/Balcony");
    assert.equal(jid?.full, "juliet@capulet.example/Balcony");
    assert.equal(jid?.bare, "juliet@capulet.example");
  });

  test("every spelling of one address is one address", () => {
    const spellings = [
      "romeo@montague.example",
      "ROMEO@MONTAGUE.EXAMPLE",
      "Romeo@Montague.Example",
      "romeo@montague.example.",
      "ｒｏｍｅｏ@montague.example", // full-width letters (PRECIS width mapping)
    ];
    for (const spelling of spellings) {
      assert.equal(parseJid(spelling)?.bare, "romeo@montague.example", spelling);
    }
  });

  test("unicode is case-folded and composed (NFC)", () => {
    assert.equal(parseJid("ÜBER@Example.org")?.bare, "über@example.org");
    // u + combining diaeresis composes to the single code point ü
    assert.equal(parseJid("u\u0308ber@example.org")?.bare, "über@example.org");
    assert.equal(parseJid("ΣΟΦΙΑ@example.org")?.local, "σοφια");
    assert.equal(parseJid("用户@例子.中国/手机")?.full, "用户@例子.中国/手机");
  });

  test("the resource keeps its case and its slashes, composed", () => {
    assert.equal(parseJid("a@b/Phone/Work")?.resource, "Phone/Work");
    assert.equal(parseJid("a@b/Cafe\u0301")?.resource, "Café");
  });

  test("XEP-0106 escapes are kept as written, and nothing is escaped on the way in", () => {
    assert.equal(parseJid("o\\27brien@example.org")?.local, "o\\27brien");
    assert.equal(parseJid("O\\27Brien@Example.org")?.bare, "o\\27brien@example.org");
    assert.equal(parseJid("d\\40vid\\20x@example.org")?.local, "d\\40vid\\20x");
  });

  test("characters RFC 7622 forbids in a local part make the address invalid", () => {
    for (const c of ['"', "&", "'", ":", "<", ">", "@", " ", "\t", "\u0000", "\u007f"]) {
      assert.equal(parseJid(`a${c}b@example.org`), undefined, JSON.stringify(c));
    }
    // A slash ends the bare part: what follows is a resource, whatever it holds.
    assert.equal(parseJid("a/b@example.org")?.resource, "b@example.org");
  });

  test("empty or oversized parts, and non-strings, are invalid", () => {
    for (const bad of [
      "",
      "@example.org",
      "a@",
      "a@/r",
      "a@b/",
      "/r",
      "a@b c",
      "a@b\\c",
      `${"x".repeat(1024)}@example.org`,
      `a@${"d".repeat(1024)}`,
      `a@b/${"r".repeat(1024)}`,
      `${"é".repeat(600)}@example.org`, // 1,200 bytes in UTF-8
    ]) {
      assert.equal(parseJid(bad), undefined, bad.slice(0, 40));
    }
    for (const value of [undefined, null, 42, {}, ["a@b"]])
      assert.equal(parseJid(value), undefined);
  });

  test("the longest allowed parts are fine", () => {
    const jid = parseJid(`${"x".repeat(1023)}@${"d".repeat(1023)}/${"r".repeat(1023)}`);
    assert.equal(jid?.local?.length, 1023);
    assert.equal(jid?.resource?.length, 1023);
  });

  test("an '@' in the resource belongs to the resource", () => {
    const jid = parseJid("room@muc.example/nick@home");
    assert.equal(jid?.bare, "room@muc.example");
    assert.equal(jid?.resource, "nick@home");
  });

  test("parsing the normal form gives the normal form (idempotent)", () => {
    for (const text of ["Juliet@Capulet.Example/Balcony", "ÜBER@example.org/x", "a.b"]) {
      const once = parseJid(text)!;
      assert.deepEqual(parseJid(once.full), once);
    }
  });
});

describe("requireJid and requireUserJid", () => {
  test("name what is missing or invalid", () => {
    refused(() => requireJid(undefined, "'from' address"), /^missing 'from' address$/);
    refused(() => requireJid("", "the room"), /^missing the room$/);
    refused(() => requireJid("a@", "the room"), /^the room is not a valid JID$/);
  });

  test("a user's address needs a local part and drops the resource", () => {
    assert.equal(requireUserJid("Bob@Example.org/phone", "jid"), "bob@example.org");
    refused(() => requireUserJid("example.org", "jid"), /^jid is not a user@domain JID$/);
  });
});

describe("helpers on normalised addresses", () => {
  test("bareOf splits at the first slash", () => {
    assert.equal(bareOf("a@b/c/d" as FullJid), "a@b");
    assert.equal(bareOf("a@b" as BareJid), "a@b");
  });
});
