import assert from "node:assert/strict";
import { describe, test } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { FieldProblem, Submission, formElement } from "../../src/adhoc/forms.js";
import { commandReplyElement, parseCommandRequest } from "../../src/adhoc/protocol.js";
import { SessionTable } from "../../src/adhoc/sessions.js";
import { NS_COMMANDS, NS_DATA } from "../../src/xmpp/namespaces.js";
import { StanzaError } from "../../src/xmpp/stanza-error.js";

const submitted = (...fields: Element[]) =>
  Submission.from(xml("command", {}, xml("x", { xmlns: NS_DATA, type: "submit" }, ...fields)))!;
const field = (name: string, ...values: string[]) =>
  xml("field", { var: name }, ...values.map((v) => xml("value", {}, v)));

function problem(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof FieldProblem, String(error));
    return error.message;
  }
  assert.fail("no FieldProblem");
}

describe("formElement", () => {
  test("writes title, instructions and fields with their type, label, desc, required, values, options", () => {
    const x = formElement({
      type: "form",
      title: "T",
      instructions: ["one", "two"],
      fields: [
        { type: "fixed", values: ["note"] },
        {
          type: "list-multi",
          var: "l",
          label: "L",
          desc: "D",
          required: true,
          values: ["a"],
          options: [{ value: "a", label: "A" }, { value: "b" }],
        },
      ],
    });
    assert.equal(
      x.toString(),
      '<x xmlns="jabber:x:data" type="form"><title>T</title><instructions>one</instructions>' +
        '<instructions>two</instructions><field type="fixed"><value>note</value></field>' +
        '<field type="list-multi" var="l" label="L"><desc>D</desc><required/><value>a</value>' +
        '<option label="A"><value>a</value></option><option><value>b</value></option></field></x>',
    );
  });

  test("writes a table as reported fields and one item per row, empty cells included", () => {
    const x = formElement({
      type: "result",
      table: {
        columns: [
          { var: "a", label: "A" },
          { var: "b", label: "B" },
        ],
        rows: [{ a: "1", b: "<2>" }, { a: "3" }],
      },
    });
    assert.equal(
      x.toString(),
      '<x xmlns="jabber:x:data" type="result"><reported><field var="a" label="A"/>' +
        '<field var="b" label="B"/></reported><item><field var="a"><value>1</value></field>' +
        '<field var="b"><value>&lt;2&gt;</value></field></item><item><field var="a">' +
        '<value>3</value></field><field var="b"><value/></field></item></x>',
    );
  });
});

describe("Submission", () => {
  test("only a form of type submit is a submission", () => {
    assert.equal(Submission.from(xml("command")), undefined);
    const form = xml("x", { xmlns: NS_DATA, type: "form" });
    assert.equal(Submission.from(xml("command", {}, form)), undefined);
    const other = xml("x", { xmlns: "urn:other", type: "submit" });
    assert.equal(Submission.from(xml("command", {}, other)), undefined);
  });

  test("reads every value by field, skipping fields without a name and other children", () => {
    const form = submitted(
      field("a", " x "),
      field("m", "1", "2"),
      field("m", "3"),
      xml("field", {}, xml("value", {}, "nameless")),
      xml("title", { var: "t" }, "not a field"),
    );
    assert.deepEqual(
      [...form.values],
      [
        ["a", [" x "]],
        ["m", ["1", "2", "3"]],
      ],
    );
    assert.equal(form.text("a"), "x");
    assert.equal(form.text("missing"), "");
  });

  test("required names the field when it is missing or blank", () => {
    assert.equal(
      problem(() => submitted(field("r", " ")).required("r")),
      "field 'r': a value is required",
    );
    assert.equal(submitted(field("r", "v")).required("r"), "v");
  });

  test("optionalInteger takes digits within bounds, empty as undefined", () => {
    const form = submitted(field("n", "7"), field("e"), field("plus", "+3"), field("zero", "0"));
    assert.equal(form.optionalInteger("n", 0, 10), 7);
    assert.equal(form.optionalInteger("e", 0, 10), undefined);
    assert.equal(form.optionalInteger("absent", 0, 10), undefined);
    assert.equal(form.optionalInteger("plus", 0, 10), 3);
    assert.equal(form.optionalInteger("zero", 0, 10), 0);
    for (const [value, message] of [
      ["-1", "'-1' is not a whole number"],
      ["1.5", "'1.5' is not a whole number"],
      ["1e3", "'1e3' is not a whole number"],
      ["ten", "'ten' is not a whole number"],
      ["11", "11 is not between 0 and 10"],
    ] as const) {
      assert.equal(
        problem(() => submitted(field("n", value)).optionalInteger("n", 0, 10)),
        `field 'n': ${message}`,
      );
    }
  });

  test("boolean reads 1/true and 0/false, the fallback when missing, and names a bad value", () => {
    for (const [value, expected] of [
      ["1", true],
      ["true", true],
      ["0", false],
      ["false", false],
    ] as const) {
      assert.equal(submitted(field("b", value)).boolean("b", !expected), expected);
    }
    assert.equal(submitted().boolean("b", true), true);
    assert.equal(
      problem(() => submitted(field("b", "yes")).boolean("b", false)),
      "field 'b': 'yes' is not a boolean (1, true, 0 or false)",
    );
  });

  test("userJid normalises a user's address and drops the resource", () => {
    assert.equal(
      submitted(field("u", "Alice@Example.ORG/phone")).userJid("u"),
      "alice@example.org",
    );
    assert.equal(
      problem(() => submitted(field("u", "example.org")).userJid("u")),
      "field 'u': 'example.org' is not a user@domain address",
    );
    assert.equal(
      problem(() => submitted(field("u", "a@b@c")).userJid("u")),
      "field 'u': 'a@b@c' is not a user@domain address",
    );
    assert.equal(
      problem(() => submitted().userJid("u")),
      "field 'u': a value is required",
    );
  });

  test("choices takes distinct offered values, at least one", () => {
    const offered = new Set(["a", "b", "c"]);
    assert.deepEqual(submitted(field("c", "a", "c", "a")).choices("c", offered), ["a", "c"]);
    assert.equal(
      problem(() => submitted(field("c")).choices("c", offered)),
      "field 'c': choose at least one",
    );
    assert.equal(
      problem(() => submitted(field("c", "a", "z", "y")).choices("c", offered)),
      "field 'c': not offered: z, y",
    );
  });
});

describe("the command element", () => {
  const request = (attrs: Record<string, string>) =>
    xml("command", { xmlns: NS_COMMANDS, ...attrs });

  test("reads node, sessionid and action; no action is execute", () => {
    assert.deepEqual(parseCommandRequest(request({ node: "n" })), {
      node: "n",
      sessionid: undefined,
      action: "execute",
    });
    for (const action of ["execute", "next", "prev", "complete", "cancel"]) {
      assert.equal(
        parseCommandRequest(request({ node: "n", sessionid: "s", action })).action,
        action,
      );
    }
  });

  test("refuses a missing node, an unknown action and an empty sessionid", () => {
    const specific = (attrs: Record<string, string>) => {
      try {
        parseCommandRequest(request(attrs));
      } catch (error) {
        assert.ok(error instanceof StanzaError);
        return [error.condition, error.application?.name];
      }
      assert.fail("accepted");
    };
    assert.deepEqual(specific({}), ["bad-request", undefined]);
    assert.deepEqual(specific({ node: "" }), ["bad-request", undefined]);
    assert.deepEqual(specific({ node: "n", action: "Execute" }), [
      "bad-request",
      "malformed-action",
    ]);
    assert.deepEqual(specific({ node: "n", sessionid: "" }), ["bad-request", "bad-sessionid"]);
  });

  test("a reply carries its actions only while executing, the notes, then the form", () => {
    const executing = commandReplyElement({
      node: "n",
      sessionid: "s",
      status: "executing",
      actions: ["next", "complete"],
      notes: [{ type: "warn", text: "careful" }],
      form: { type: "form" },
    });
    assert.equal(
      executing.toString(),
      '<command xmlns="http://jabber.org/protocol/commands" node="n" sessionid="s" status="executing">' +
        '<actions execute="complete"><next/><complete/></actions><note type="warn">careful</note>' +
        '<x xmlns="jabber:x:data" type="form"/></command>',
    );
    const completed = commandReplyElement({
      node: "n",
      sessionid: "s",
      status: "completed",
      actions: ["complete"],
    });
    assert.equal(completed.getChild("actions"), undefined);
  });
});

describe("SessionTable", () => {
  const session = (id: string) => ({
    id,
    node: "n",
    owner: "a@b/c",
    actions: ["complete"] as const,
    state: null,
  });

  test("finds a session for its owner and node only", () => {
    const table = new SessionTable({ maxSessions: 5, timeoutMs: 1_000 }, () => 0);
    assert.ok(table.open(session("s")));
    assert.ok("found" in table.lookup("s", "n", "a@b/c"));
    assert.deepEqual(table.lookup("s", "n", "a@b/d"), { missing: "not-yours" });
    assert.deepEqual(table.lookup("s", "m", "a@b/c"), { missing: "not-yours" });
    assert.deepEqual(table.lookup("t", "n", "a@b/c"), { missing: "unknown" });
  });

  test("an expired session says so on every later lookup, until it is forgotten", () => {
    let now = 0;
    const table = new SessionTable({ maxSessions: 1, timeoutMs: 1_000 }, () => now);
    table.open(session("s"));
    now = 1_000;
    assert.deepEqual(table.lookup("s", "n", "a@b/c"), { missing: "expired" });
    assert.deepEqual(table.lookup("s", "n", "a@b/c"), { missing: "expired" });
    assert.equal(table.size, 0);
    now = 2_000;
    assert.ok(table.open(session("t")), "the sweep forgets it after another timeout");
    assert.deepEqual(table.lookup("s", "n", "a@b/c"), { missing: "unknown" });
  });

  test("a full table sweeps expired sessions before refusing", () => {
    let now = 0;
    const table = new SessionTable({ maxSessions: 2, timeoutMs: 1_000 }, () => now);
    assert.ok(table.open(session("a")));
    now = 500;
    assert.ok(table.open(session("b")));
    assert.equal(table.open(session("c")), false);
    now = 1_000;
    assert.ok(table.open(session("c")), "a expired");
    assert.equal(table.size, 2);
    assert.deepEqual(table.lookup("a", "n", "a@b/c"), { missing: "expired" });
  });

  test("expired ids are remembered for one more timeout", () => {
    let now = 0;
    const table = new SessionTable({ maxSessions: 2, timeoutMs: 1_000 }, () => now);
    table.open(session("a"));
    now = 1_000;
    assert.deepEqual(table.lookup("a", "n", "a@b/c"), { missing: "expired" });
    table.open(session("c"));
    now = 2_000;
    assert.deepEqual(table.lookup("c", "n", "a@b/c"), { missing: "expired" });
    assert.deepEqual(table.lookup("a", "n", "a@b/c"), { missing: "unknown" });
  });

  test("ids are fresh", () => {
    const table = new SessionTable({ maxSessions: 1, timeoutMs: 1 });
    assert.notEqual(table.id(), table.id());
  });
});
