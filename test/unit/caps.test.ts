import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CAPS_NODE, capsElement, capsVer } from "../../src/xmpp/caps.js";
import { NS_CAPS } from "../../src/xmpp/namespaces.js";

describe("entity capabilities (XEP-0115)", () => {
  test("the verification string of XEP-0115's simple example", () => {
    const ver = capsVer(
      [{ category: "client", type: "pc", name: "Exodus 0.9.1" }],
      [
        "http://jabber.org/protocol/disco#info",
        "http://jabber.org/protocol/disco#items",
        "http://jabber.org/protocol/muc",
        "http://jabber.org/protocol/caps",
      ],
    );
    assert.equal(ver, "QgayPKawpkPSDYmwT/WM94uAlu0=");
  });

  test("order of features and identities does not matter", () => {
    const a = capsVer(
      [
        { category: "a", type: "b" },
        { category: "c", type: "d" },
      ],
      ["x", "y"],
    );
    const b = capsVer(
      [
        { category: "c", type: "d" },
        { category: "a", type: "b" },
      ],
      ["y", "x"],
    );
    assert.equal(a, b);
    assert.notEqual(a, capsVer([{ category: "a", type: "b" }], ["x", "y"]));
  });

  test("the <c/> element", () => {
    const c = capsElement("abc=");
    assert.deepEqual(c.attrs, { xmlns: NS_CAPS, hash: "sha-1", node: CAPS_NODE, ver: "abc=" });
  });
});
