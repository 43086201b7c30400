import assert from "node:assert/strict";
import { describe, test } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { NS_ACTIVITY_PROPS, NS_BUDDY_PROPS } from "../../src/olpc/namespaces.js";
import {
  PROPERTY_TYPES,
  canonicalValue,
  findProperty,
  isPropertyType,
  parseProperties,
  parsePropertyList,
  propertiesEqual,
  propertyElements,
  propertyEquals,
  serializeProperties,
  sortProperties,
  type Property,
  type PropertyLimits,
} from "../../src/olpc/properties.js";
import { StanzaError, type StanzaErrorCondition } from "../../src/xmpp/stanza-error.js";

const LIMITS: PropertyLimits = { maxProperties: 8, maxValueBytes: 64 };

function property(type: string | undefined, name: string | undefined, value = ""): Element {
  const attrs: Record<string, string> = {};
  if (type !== undefined) attrs.type = type;
  if (name !== undefined) attrs.name = name;
  return xml("property", attrs, ...(value === "" ? [] : [value]));
}

function container(...children: Element[]): Element {
  return xml("properties", { xmlns: NS_BUDDY_PROPS }, ...children);
}

function parseOne(type: string, value: string): Property | undefined {
  return parseProperties(container(property(type, "p", value)), LIMITS)[0];
}

function assertRefused(run: () => unknown, condition: StanzaErrorCondition, text: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof StanzaError, `expected a StanzaError, got ${String(error)}`);
    assert.equal(error.condition, condition);
    assert.match(error.text ?? "", text);
    return true;
  });
}

describe("property types", () => {
  test("are Gabble's five", () => {
    assert.deepEqual([...PROPERTY_TYPES], ["str", "int", "uint", "bool", "bytes"]);
    for (const type of PROPERTY_TYPES) assert.ok(isPropertyType(type));
    for (const other of ["string", "STR", "", "float", 1, undefined]) {
      assert.equal(isPropertyType(other), false);
    }
  });

  test("str is kept exactly, whitespace and markup characters included", () => {
    assert.equal(canonicalValue("str", "  a <b> & c\n", "s"), "  a <b> & c\n");
    assert.equal(parseOne("str", "#005FE4,#00A0FF")?.value, "#005FE4,#00A0FF");
    assert.equal(parseOne("str", "")?.value, "");
  });

  test("int: signed 32-bit decimal, stored without sign noise or leading zeros", () => {
    const cases: [string, string][] = [
      ["0", "0"],
      ["-0", "0"],
      ["+7", "7"],
      ["007", "7"],
      [" 42\n", "42"],
      ["-2147483648", "-2147483648"],
      ["2147483647", "2147483647"],
    ];
    for (const [raw, canonical] of cases) assert.equal(canonicalValue("int", raw, "n"), canonical);
    for (const bad of ["2147483648", "-2147483649", "1.5", "1e3", "0x10", "", " ", "- 1", "٣"]) {
      assertRefused(
        () => canonicalValue("int", bad, "n"),
        "bad-request",
        /property "n" must be an int/,
      );
    }
  });

  test("uint: unsigned 32-bit decimal", () => {
    assert.equal(canonicalValue("uint", "4294967295", "u"), "4294967295");
    assert.equal(canonicalValue("uint", "+0010", "u"), "10");
    for (const bad of ["-1", "-0", "4294967296", "", "one", "1.0"]) {
      assertRefused(() => canonicalValue("uint", bad, "u"), "bad-request", /"u".*uint/);
    }
  });

  test("bool: true/false/1/0, stored as Gabble sends it, 1 or 0", () => {
    assert.equal(canonicalValue("bool", "true", "b"), "1");
    assert.equal(canonicalValue("bool", "1", "b"), "1");
    assert.equal(canonicalValue("bool", "false", "b"), "0");
    assert.equal(canonicalValue("bool", " 0 ", "b"), "0");
    for (const bad of ["TRUE", "yes", "2", "", "True"]) {
      assertRefused(() => canonicalValue("bool", bad, "b"), "bad-request", /"b".*bool/);
    }
  });

  test("bytes: base64, re-encoded canonically, line breaks allowed", () => {
    assert.equal(canonicalValue("bytes", "", "k"), "");
    assert.equal(canonicalValue("bytes", "aGVsbG8=", "k"), "aGVsbG8=");
    assert.equal(canonicalValue("bytes", "aGVs\nbG8=", "k"), "aGVsbG8=");
    assert.equal(canonicalValue("bytes", "aGVsbG9=", "k"), "aGVsbG8=", "stray padding bits");
    for (const bad of ["aGVsbG8", "a", "!!!!", "aGVsbG8==", "aG=sbG8="]) {
      assertRefused(() => canonicalValue("bytes", bad, "k"), "bad-request", /"k".*base64/);
    }
  });
});

describe("parseProperties", () => {
  test("reads every property, sorted by name", () => {
    const parsed = parseProperties(
      container(
        property("str", "color", "#005FE4,#00A0FF"),
        property("bool", "private", "true"),
        property("bytes", "key", "AAEC"),
        property("uint", "age", "7"),
      ),
      LIMITS,
    );
    assert.deepEqual(parsed, [
      { name: "age", type: "uint", value: "7" },
      { name: "color", type: "str", value: "#005FE4,#00A0FF" },
      { name: "key", type: "bytes", value: "AAEC" },
      { name: "private", type: "bool", value: "1" },
    ]);
  });

  test("an empty container is no properties; whitespace between children is ignored", () => {
    assert.deepEqual(parseProperties(container(), LIMITS), []);
    const spaced = container(property("str", "a", "x"));
    spaced.children.unshift("\n  ");
    spaced.children.push("\n");
    assert.deepEqual(parseProperties(spaced, LIMITS), [{ name: "a", type: "str", value: "x" }]);
  });

  test("the container's namespace does not matter, the children's must be the same", () => {
    const draft = xml("activity", {}, property("str", "type", "org.laptop.Connect"));
    assert.equal(parseProperties(draft, LIMITS).length, 1);
    const foreign = container(xml("property", { xmlns: "urn:other", type: "str", name: "a" }));
    assertRefused(() => parseProperties(foreign, LIMITS), "bad-request", /unexpected <property/);
  });

  test("refuses an element that is not a property", () => {
    assertRefused(
      () => parseProperties(container(xml("buddy", { jid: "a@b" })), LIMITS),
      "bad-request",
      /unexpected <buddy\/> in <properties\/>/,
    );
  });

  test("refuses a missing or empty name, naming the position", () => {
    assertRefused(
      () => parseProperties(container(property("str", "a"), property("str", undefined)), LIMITS),
      "bad-request",
      /property #2 has no name/,
    );
    assertRefused(
      () => parseProperties(container(property("str", "")), LIMITS),
      "bad-request",
      /#1 has no name/,
    );
  });

  test("refuses a missing or unknown type, naming the property", () => {
    assertRefused(
      () => parseProperties(container(property(undefined, "color", "x")), LIMITS),
      "bad-request",
      /property "color" has no type/,
    );
    assertRefused(
      () => parseProperties(container(property("float", "ratio", "0.5")), LIMITS),
      "bad-request",
      /property "ratio" has unknown type 'float'/,
    );
  });

  test("refuses a value that is not of its type", () => {
    assertRefused(
      () => parseProperties(container(property("int", "level", "high")), LIMITS),
      "bad-request",
      /property "level" must be an int/,
    );
  });

  test("refuses a value holding elements", () => {
    const nested = xml("property", { type: "str", name: "x" }, xml("b", {}, "bold"));
    assertRefused(
      () => parseProperties(container(nested), LIMITS),
      "bad-request",
      /property "x" must contain only text/,
    );
  });

  test("refuses a duplicate name", () => {
    assertRefused(
      () =>
        parseProperties(container(property("str", "a", "1"), property("int", "a", "1")), LIMITS),
      "bad-request",
      /property "a" appears more than once/,
    );
  });

  test("too many properties is a policy violation", () => {
    const many = Array.from({ length: 9 }, (_, i) => property("str", `p${i}`, "x"));
    assertRefused(
      () => parseProperties(container(...many), LIMITS),
      "policy-violation",
      /at most 8 properties.*got 9/,
    );
    assert.equal(parseProperties(container(...many.slice(1)), LIMITS).length, 8);
  });

  test("a value longer than the limit (UTF-8 bytes) is a policy violation", () => {
    assert.equal(parseOne("str", "x".repeat(64))?.value.length, 64);
    assertRefused(
      () => parseProperties(container(property("str", "title", "x".repeat(65))), LIMITS),
      "policy-violation",
      /property "title": the value is longer than 64 bytes/,
    );
    assertRefused(
      () => parseProperties(container(property("str", "title", "é".repeat(33))), LIMITS),
      "policy-violation",
      /longer than 64 bytes/,
    );
  });

  test("a name longer than the limit is a policy violation", () => {
    const limits = { ...LIMITS, maxNameBytes: 4 };
    assert.equal(parseProperties(container(property("str", "four")), limits).length, 1);
    assertRefused(
      () => parseProperties(container(property("str", "fives")), limits),
      "policy-violation",
      /#1: the name is longer than 4 bytes/,
    );
    assertRefused(
      () => parseProperties(container(property("str", "n".repeat(257))), LIMITS),
      "policy-violation",
      /longer than 256 bytes/,
    );
  });

  test("parsePropertyList reads elements picked out by the caller", () => {
    assert.deepEqual(parsePropertyList([property("bool", "b", "false")], LIMITS), [
      { name: "b", type: "bool", value: "0" },
    ]);
  });
});

describe("serializeProperties", () => {
  const props: Property[] = [
    { name: "color", type: "str", value: "#AABBCC,#001122" },
    { name: "private", type: "bool", value: "0" },
  ];

  test("writes <properties xmlns><property type name>value</property>…", () => {
    assert.equal(
      serializeProperties(props, NS_ACTIVITY_PROPS).toString(),
      `<properties xmlns="${NS_ACTIVITY_PROPS}">` +
        '<property type="str" name="color">#AABBCC,#001122</property>' +
        '<property type="bool" name="private">0</property></properties>',
    );
  });

  test("without a namespace, and with extra attributes", () => {
    assert.equal(serializeProperties([]).toString(), "<properties/>");
    assert.equal(
      serializeProperties([], NS_ACTIVITY_PROPS, { activity: "a1" }).toString(),
      `<properties xmlns="${NS_ACTIVITY_PROPS}" activity="a1"/>`,
    );
  });

  test("escapes values and round-trips through the parser", () => {
    const tricky: Property[] = [{ name: "t<&>", type: "str", value: `<&>"' x` }];
    const element = serializeProperties(tricky, NS_BUDDY_PROPS);
    assert.deepEqual(parseProperties(element, LIMITS), tricky);
    assert.equal(propertyElements(tricky).length, 1);
  });
});

describe("property helpers", () => {
  const a: Property = { name: "a", type: "str", value: "1" };

  test("propertyEquals compares name, type and value", () => {
    assert.ok(propertyEquals(a, { ...a }));
    assert.ok(!propertyEquals(a, { ...a, type: "int" }));
    assert.ok(!propertyEquals(a, { ...a, value: "2" }));
    assert.ok(!propertyEquals(a, { ...a, name: "b" }));
  });

  test("propertiesEqual ignores order", () => {
    const b: Property = { name: "b", type: "bool", value: "1" };
    assert.ok(propertiesEqual([a, b], [b, a]));
    assert.ok(propertiesEqual([], []));
    assert.ok(!propertiesEqual([a], [a, b]));
    assert.ok(!propertiesEqual([a, b], [a, { ...b, value: "0" }]));
  });

  test("sortProperties and findProperty", () => {
    const b: Property = { name: "B", type: "str", value: "" };
    assert.deepEqual(
      sortProperties([a, b]).map((p) => p.name),
      ["B", "a"],
    );
    assert.equal(findProperty([a, b], "B"), b);
    assert.equal(findProperty([a, b], "c"), undefined);
  });
});
