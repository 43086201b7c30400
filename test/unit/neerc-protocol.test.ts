import assert from "node:assert/strict";
import { describe, test } from "node:test";
import xml, { Element } from "@xmpp/xml";
import {
  NS_PING,
  NS_TASK,
  NS_TASKS,
  NS_TASKSTATUS,
  NS_USERS,
  Serialized,
  echo,
  parseStatusRequest,
  parseTaskRequest,
  removedTaskElement,
  taskElement,
  userElement,
} from "../../src/neerc/protocol.js";
import {
  MAX_STATUSES,
  MAX_TITLE_LENGTH,
  MAX_VALUE_LENGTH,
  STATUS_TYPES,
  TASK_TYPES,
  type Task,
} from "../../src/neerc/rules.js";
import { StanzaError, type StanzaErrorCondition } from "../../src/xmpp/stanza-error.js";

const MAX_ID_LENGTH = 200;

/** A `<task/>` as an admin sends it. */
function taskRequest(attrs: Record<string, unknown>, ...children: (Element | string)[]): Element {
  return xml("task", { xmlns: NS_TASK, ...attrs }, ...children);
}

function status(attrs: Record<string, unknown>): Element {
  return xml("status", attrs);
}

function statusRequest(attrs: Record<string, unknown>): Element {
  return xml("taskstatus", { xmlns: NS_TASKSTATUS, ...attrs });
}

/** Asserts `run` throws a StanzaError with `condition` whose text matches `text`. */
function assertRefused(run: () => unknown, condition: StanzaErrorCondition, text: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof StanzaError, `expected a StanzaError, got ${String(error)}`);
    assert.equal(error.condition, condition);
    assert.ok(error.text, "the error carries a text");
    assert.match(error.text, text);
    return true;
  });
}

/** Sets an attribute to a value that is not text, which xml() itself would stringify. */
function withAttr(element: Element, name: string, value: unknown): Element {
  element.attrs[name] = value;
  return element;
}

function sampleTask(overrides: Partial<Task> = {}): Task {
  return {
    id: "t1",
    title: "Check printers",
    type: "todo",
    timestamp: 1_700_000_000_123,
    statuses: [
      { for: "alice", type: "running" },
      { for: "bob", type: "fail", value: "out of paper" },
    ],
    ...overrides,
  };
}

describe("namespaces", () => {
  test("are the ones of NEERC's Openfire plugin", () => {
    const base = "http://neerc.ifmo.ru/protocol/neerc";
    assert.equal(NS_USERS, `${base}#users`);
    assert.equal(NS_TASKS, `${base}#tasks`);
    assert.equal(NS_TASK, `${base}#task`);
    assert.equal(NS_TASKSTATUS, `${base}#taskstatus`);
    assert.equal(NS_PING, `${base}#ping`);
  });
});

describe("parseTaskRequest: removal", () => {
  test("type remove with an id is a removal of that id", () => {
    assert.deepEqual(parseTaskRequest(taskRequest({ type: "remove", id: "t1" })), {
      kind: "remove",
      id: "t1",
    });
  });

  test("a removal ignores the title and any statuses", () => {
    const request = taskRequest(
      { type: "remove", id: "t1", title: "whatever" },
      status({ for: "alice", type: "bogus" }),
      xml("junk"),
    );
    assert.deepEqual(parseTaskRequest(request), { kind: "remove", id: "t1" });
  });

  test("type remove without an id is a bad request that asks for the id", () => {
    assertRefused(
      () => parseTaskRequest(taskRequest({ type: "remove" })),
      "bad-request",
      /removal needs the task's id/,
    );
  });

  test(`a removal's id may be ${MAX_ID_LENGTH} characters but not more`, () => {
    const id = "i".repeat(MAX_ID_LENGTH);
    assert.deepEqual(parseTaskRequest(taskRequest({ type: "remove", id })), {
      kind: "remove",
      id,
    });
    assertRefused(
      () => parseTaskRequest(taskRequest({ type: "remove", id: `${id}i` })),
      "bad-request",
      /'id' is longer than 200/,
    );
  });
});

describe("parseTaskRequest: saving", () => {
  test("a task without an id is a new task with id undefined", () => {
    const parsed = parseTaskRequest(
      taskRequest({ type: "todo", title: "Print" }, status({ for: "alice", type: "none" })),
    );
    assert.deepEqual(parsed, {
      kind: "save",
      id: undefined,
      title: "Print",
      type: "todo",
      statuses: [{ for: "alice", type: "none" }],
    });
  });

  test("an empty id is refused, for a save and for a removal", () => {
    for (const type of ["todo", "remove"]) {
      assert.throws(
        () => parseTaskRequest(taskRequest({ id: "", type, title: "T" })),
        (error: unknown) => error instanceof StanzaError && error.condition === "bad-request",
      );
    }
  });

  test("a task with an id keeps it", () => {
    const parsed = parseTaskRequest(taskRequest({ id: "t9", type: "confirm", title: "Here?" }));
    assert.deepEqual(parsed, {
      kind: "save",
      id: "t9",
      title: "Here?",
      type: "confirm",
      statuses: [],
    });
  });

  test("every task type is accepted", () => {
    for (const type of TASK_TYPES) {
      const parsed = parseTaskRequest(taskRequest({ type, title: "T" }));
      assert.equal(parsed.kind, "save");
      assert.equal(parsed.kind === "save" && parsed.type, type);
    }
  });

  test("the title is kept verbatim, surrounding spaces included", () => {
    const parsed = parseTaskRequest(taskRequest({ type: "todo", title: "  Print <all> & go  " }));
    assert.equal(parsed.kind === "save" && parsed.title, "  Print <all> & go  ");
  });

  test("statuses keep their order, type and value", () => {
    const parsed = parseTaskRequest(
      taskRequest(
        { type: "okfail", title: "Check" },
        status({ for: "carol", type: "fail", value: "broken" }),
        status({ for: "alice", type: "success" }),
        status({ for: "Halls", type: "none", value: "group note" }),
      ),
    );
    assert.deepEqual(parsed.kind === "save" && parsed.statuses, [
      { for: "carol", type: "fail", value: "broken" },
      { for: "alice", type: "success" },
      { for: "Halls", type: "none", value: "group note" },
    ]);
  });

  test("a status without a type defaults to type none", () => {
    const parsed = parseTaskRequest(
      taskRequest({ type: "todo", title: "T" }, status({ for: "alice" })),
    );
    assert.deepEqual(parsed.kind === "save" && parsed.statuses, [{ for: "alice", type: "none" }]);
  });

  test("every status type is accepted in a status", () => {
    const parsed = parseTaskRequest(
      taskRequest(
        { type: "todofail", title: "T" },
        ...STATUS_TYPES.map((type, i) => status({ for: `u${i}`, type })),
      ),
    );
    assert.deepEqual(parsed.kind === "save" && parsed.statuses.map((s) => s.type), [
      ...STATUS_TYPES,
    ]);
  });

  test("an empty value is dropped rather than kept as ''", () => {
    const parsed = parseTaskRequest(
      taskRequest({ type: "todo", title: "T" }, status({ for: "alice", type: "none", value: "" })),
    );
    assert.ok(parsed.kind === "save");
    assert.deepEqual(parsed.statuses, [{ for: "alice", type: "none" }]);
    assert.equal("value" in (parsed.statuses[0] ?? {}), false);
  });

  test("a blank value is kept as it is", () => {
    const parsed = parseTaskRequest(
      taskRequest({ type: "todo", title: "T" }, status({ for: "alice", value: "  " })),
    );
    assert.deepEqual(parsed.kind === "save" && parsed.statuses, [
      { for: "alice", type: "none", value: "  " },
    ]);
  });

  test("whitespace text between the statuses is ignored", () => {
    const parsed = parseTaskRequest(
      taskRequest(
        { type: "todo", title: "T" },
        "\n  ",
        status({ for: "alice" }),
        "\n  ",
        status({ for: "bob" }),
        "\n",
      ),
    );
    assert.deepEqual(parsed.kind === "save" && parsed.statuses.map((s) => s.for), ["alice", "bob"]);
  });

  test("the status types are not checked against the task type here", () => {
    // statusProblem does that after group expansion; parsing only checks the vocabulary.
    const parsed = parseTaskRequest(
      taskRequest({ type: "question", title: "T" }, status({ for: "alice", type: "running" })),
    );
    assert.deepEqual(parsed.kind === "save" && parsed.statuses, [
      { for: "alice", type: "running" },
    ]);
  });

  test(`${MAX_STATUSES} statuses are accepted`, () => {
    const children = Array.from({ length: MAX_STATUSES }, (_, i) => status({ for: `u${i}` }));
    const parsed = parseTaskRequest(taskRequest({ type: "todo", title: "T" }, ...children));
    assert.equal(parsed.kind === "save" && parsed.statuses.length, MAX_STATUSES);
  });
});

describe("parseTaskRequest: invalid requests", () => {
  test("a missing type is a bad request listing the types", () => {
    assertRefused(
      () => parseTaskRequest(taskRequest({ title: "T" })),
      "bad-request",
      /type must be todo, confirm, okfail, question, todofail or remove/,
    );
  });

  test("an unknown, empty or differently spelled type is a bad request listing the types", () => {
    for (const type of ["bogus", "", "TODO", "Remove", "none", " todo"]) {
      assertRefused(
        () => parseTaskRequest(taskRequest({ type, title: "T", id: "t1" })),
        "bad-request",
        /type must be todo, confirm, okfail, question, todofail or remove/,
      );
    }
  });

  test("a missing, empty or blank title is a bad request", () => {
    for (const title of [undefined, "", " ", "\n\t "]) {
      assertRefused(
        () => parseTaskRequest(taskRequest({ type: "todo", title })),
        "bad-request",
        /a task needs a title/,
      );
    }
  });

  test(`a title may be ${MAX_TITLE_LENGTH} characters but not more`, () => {
    const title = "t".repeat(MAX_TITLE_LENGTH);
    const parsed = parseTaskRequest(taskRequest({ type: "todo", title }));
    assert.equal(parsed.kind === "save" && parsed.title, title);
    assertRefused(
      () => parseTaskRequest(taskRequest({ type: "todo", title: `${title}t` })),
      "bad-request",
      new RegExp(`'title' is longer than ${MAX_TITLE_LENGTH}`),
    );
  });

  test(`an id may be ${MAX_ID_LENGTH} characters but not more`, () => {
    const id = "i".repeat(MAX_ID_LENGTH);
    const parsed = parseTaskRequest(taskRequest({ type: "todo", title: "T", id }));
    assert.equal(parsed.kind === "save" && parsed.id, id);
    assertRefused(
      () => parseTaskRequest(taskRequest({ type: "todo", title: "T", id: `${id}i` })),
      "bad-request",
      /'id' is longer than 200/,
    );
  });

  test("attributes that are not text are bad requests naming the attribute", () => {
    // xml() turns attribute values into strings, so set them afterwards as a parser might.
    assertRefused(
      () => parseTaskRequest(withAttr(taskRequest({ type: "todo", title: "T" }), "id", 7)),
      "bad-request",
      /'id' must be text/,
    );
    assertRefused(
      () => parseTaskRequest(withAttr(taskRequest({ type: "todo" }), "title", 7)),
      "bad-request",
      /'title' must be text/,
    );
    assertRefused(
      () =>
        parseTaskRequest(
          taskRequest({ type: "todo", title: "T" }, withAttr(status({}), "for", ["a"])),
        ),
      "bad-request",
      /'for' must be text/,
    );
    assertRefused(
      () =>
        parseTaskRequest(
          taskRequest({ type: "todo", title: "T" }, withAttr(status({ for: "a" }), "value", 7)),
        ),
      "bad-request",
      /'value' must be text/,
    );
  });

  test("a child other than <status/> is a bad request naming it", () => {
    assertRefused(
      () =>
        parseTaskRequest(
          taskRequest({ type: "todo", title: "T" }, status({ for: "alice" }), xml("assignee")),
        ),
      "bad-request",
      /unexpected <assignee\/>/,
    );
  });

  test("a status without 'for', or with an empty one, is a bad request", () => {
    for (const attrs of [{ type: "none" }, { for: "", type: "none" }]) {
      assertRefused(
        () => parseTaskRequest(taskRequest({ type: "todo", title: "T" }, status(attrs))),
        "bad-request",
        /a status needs 'for'/,
      );
    }
  });

  test(`a status's 'for' may be ${MAX_ID_LENGTH} characters but not more`, () => {
    const name = "n".repeat(MAX_ID_LENGTH);
    const parsed = parseTaskRequest(
      taskRequest({ type: "todo", title: "T" }, status({ for: name })),
    );
    assert.deepEqual(parsed.kind === "save" && parsed.statuses, [{ for: name, type: "none" }]);
    assertRefused(
      () =>
        parseTaskRequest(taskRequest({ type: "todo", title: "T" }, status({ for: `${name}n` }))),
      "bad-request",
      /'for' is longer than 200/,
    );
  });

  test("an unknown status type is a bad request about the status type", () => {
    for (const type of ["bogus", "", "SUCCESS", "todo"]) {
      assertRefused(
        () =>
          parseTaskRequest(taskRequest({ type: "todo", title: "T" }, status({ for: "a", type }))),
        "bad-request",
        /status type/,
      );
    }
  });

  test(`a status value may be ${MAX_VALUE_LENGTH} characters but not more`, () => {
    const value = "v".repeat(MAX_VALUE_LENGTH);
    const parsed = parseTaskRequest(
      taskRequest({ type: "todo", title: "T" }, status({ for: "a", value })),
    );
    assert.deepEqual(parsed.kind === "save" && parsed.statuses, [
      { for: "a", type: "none", value },
    ]);
    assertRefused(
      () =>
        parseTaskRequest(
          taskRequest({ type: "todo", title: "T" }, status({ for: "a", value: `${value}v` })),
        ),
      "bad-request",
      new RegExp(`'value' is longer than ${MAX_VALUE_LENGTH}`),
    );
  });

  test(`more than ${MAX_STATUSES} statuses is a policy violation naming the limit`, () => {
    const children = Array.from({ length: MAX_STATUSES + 1 }, (_, i) => status({ for: `u${i}` }));
    assertRefused(
      () => parseTaskRequest(taskRequest({ type: "todo", title: "T" }, ...children)),
      "policy-violation",
      new RegExp(`at most ${MAX_STATUSES} statuses`),
    );
  });

  test("one bad status among good ones refuses the whole task", () => {
    assertRefused(
      () =>
        parseTaskRequest(
          taskRequest(
            { type: "todo", title: "T" },
            status({ for: "alice" }),
            status({ type: "none" }),
            status({ for: "bob" }),
          ),
        ),
      "bad-request",
      /a status needs 'for'/,
    );
  });
});

describe("parseStatusRequest", () => {
  test("reads id, type and value", () => {
    assert.deepEqual(
      parseStatusRequest(statusRequest({ id: "t1", type: "fail", value: "no paper" })),
      { id: "t1", type: "fail", value: "no paper" },
    );
  });

  test("every status type is accepted", () => {
    for (const type of STATUS_TYPES) {
      assert.equal(parseStatusRequest(statusRequest({ id: "t1", type })).type, type);
    }
  });

  test("a missing value is undefined", () => {
    assert.deepEqual(parseStatusRequest(statusRequest({ id: "t1", type: "success" })), {
      id: "t1",
      type: "success",
      value: undefined,
    });
  });

  test("an empty value is undefined", () => {
    assert.equal(
      parseStatusRequest(statusRequest({ id: "t1", type: "success", value: "" })).value,
      undefined,
    );
  });

  test("a blank value is kept verbatim (statusProblem decides about it)", () => {
    assert.equal(
      parseStatusRequest(statusRequest({ id: "t1", type: "success", value: "  " })).value,
      "  ",
    );
  });

  test("a missing or empty id is a bad request asking for the id", () => {
    for (const id of [undefined, ""]) {
      assertRefused(
        () => parseStatusRequest(statusRequest({ id, type: "success" })),
        "bad-request",
        /taskstatus needs the task's id/,
      );
    }
  });

  test(`the id may be ${MAX_ID_LENGTH} characters but not more`, () => {
    const id = "i".repeat(MAX_ID_LENGTH);
    assert.equal(parseStatusRequest(statusRequest({ id, type: "none" })).id, id);
    assertRefused(
      () => parseStatusRequest(statusRequest({ id: `${id}i`, type: "none" })),
      "bad-request",
      /'id' is longer than 200/,
    );
  });

  test("a missing, unknown or task type is a bad request listing the status types", () => {
    for (const type of [undefined, "", "done", "todo", "remove", "Success"]) {
      assertRefused(
        () => parseStatusRequest(statusRequest({ id: "t1", type })),
        "bad-request",
        /type must be none, running, success, fail or acknowledged/,
      );
    }
  });

  test(`the value may be ${MAX_VALUE_LENGTH} characters but not more`, () => {
    const value = "v".repeat(MAX_VALUE_LENGTH);
    assert.equal(parseStatusRequest(statusRequest({ id: "t1", type: "fail", value })).value, value);
    assertRefused(
      () => parseStatusRequest(statusRequest({ id: "t1", type: "fail", value: `${value}v` })),
      "bad-request",
      new RegExp(`'value' is longer than ${MAX_VALUE_LENGTH}`),
    );
  });

  test("attributes that are not text are bad requests naming the attribute", () => {
    assertRefused(
      () => parseStatusRequest(withAttr(statusRequest({ type: "none" }), "id", 1)),
      "bad-request",
      /'id' must be text/,
    );
    assertRefused(
      () => parseStatusRequest(withAttr(statusRequest({ id: "t1", type: "none" }), "value", 1)),
      "bad-request",
      /'value' must be text/,
    );
  });
});

describe("taskElement", () => {
  test("serializes exactly id, title, type, timestamp and one <status/> per status", () => {
    assert.equal(
      taskElement(sampleTask()).toString(),
      '<task id="t1" title="Check printers" type="todo" timestamp="1700000000123">' +
        '<status for="alice" type="running"/>' +
        '<status for="bob" type="fail" value="out of paper"/>' +
        "</task>",
    );
  });

  test("a task without statuses is an empty element", () => {
    assert.equal(
      taskElement(sampleTask({ statuses: [], type: "question" })).toString(),
      '<task id="t1" title="Check printers" type="question" timestamp="1700000000123"/>',
    );
  });

  test("has no xmlns of its own, nor have its statuses", () => {
    const element = taskElement(sampleTask());
    assert.equal(element.attrs.xmlns, undefined);
    assert.deepEqual(Object.keys(element.attrs), ["id", "title", "type", "timestamp"]);
    for (const child of element.getChildren("status")) {
      assert.equal(child.attrs.xmlns, undefined);
    }
  });

  test("inside a #tasks query it and its statuses take the query's namespace", () => {
    const element = taskElement(sampleTask());
    xml("query", { xmlns: NS_TASKS }, element);
    assert.equal(element.getNS(), NS_TASKS);
    for (const child of element.getChildren("status")) assert.equal(child.getNS(), NS_TASKS);
  });

  test("an xmlns given as an attribute comes first and the statuses inherit it", () => {
    const element = taskElement(sampleTask(), { xmlns: NS_TASK });
    assert.equal(
      element.toString(),
      `<task xmlns="${NS_TASK}" id="t1" title="Check printers" type="todo" timestamp="1700000000123">` +
        '<status for="alice" type="running"/>' +
        '<status for="bob" type="fail" value="out of paper"/>' +
        "</task>",
    );
    for (const child of element.getChildren("status")) {
      assert.equal(child.attrs.xmlns, undefined);
      assert.equal(child.getNS(), NS_TASK);
    }
  });

  test("extra attributes cannot override the task's own", () => {
    const element = taskElement(sampleTask(), {
      id: "forged",
      title: "forged",
      type: "remove",
      timestamp: "0",
    });
    assert.deepEqual(element.attrs, {
      id: "t1",
      title: "Check printers",
      type: "todo",
      timestamp: "1700000000123",
    });
  });

  test("the timestamp is written in milliseconds as a plain integer", () => {
    assert.equal(taskElement(sampleTask({ timestamp: 0 })).attrs.timestamp, "0");
    assert.equal(
      taskElement(sampleTask({ timestamp: 4_102_444_800_000 })).attrs.timestamp,
      "4102444800000",
    );
  });

  test("an empty value is written, an absent one is not", () => {
    const element = taskElement(
      sampleTask({
        statuses: [
          { for: "alice", type: "none", value: "" },
          { for: "bob", type: "none" },
        ],
      }),
    );
    const [first, second] = element.getChildren("status");
    assert.deepEqual(first?.attrs, { for: "alice", type: "none", value: "" });
    assert.deepEqual(second?.attrs, { for: "bob", type: "none" });
  });

  test("escapes markup in attributes", () => {
    const element = taskElement(
      sampleTask({
        id: "a&b",
        title: `Say "hi" & <go> 'now'`,
        statuses: [{ for: "o'neil", type: "fail", value: "<b>&</b>" }],
      }),
    );
    assert.equal(
      element.toString(),
      '<task id="a&amp;b" title="Say &quot;hi&quot; &amp; &lt;go&gt; &apos;now&apos;" type="todo" timestamp="1700000000123">' +
        '<status for="o&apos;neil" type="fail" value="&lt;b&gt;&amp;&lt;/b&gt;"/>' +
        "</task>",
    );
  });

  test("does not keep references to the task's status objects", () => {
    const task = sampleTask();
    const element = taskElement(task);
    (task.statuses[0] as { type: string }).type = "success";
    assert.equal(element.getChildren("status")[0]?.attrs.type, "running");
  });
});

describe("removedTaskElement", () => {
  test("carries id, title, type remove and timestamp, without statuses", () => {
    assert.equal(
      removedTaskElement(sampleTask()).toString(),
      '<task id="t1" title="Check printers" type="remove" timestamp="1700000000123"/>',
    );
  });

  test("has no xmlns and inherits its parent's namespace", () => {
    const element = removedTaskElement({ id: "x", title: "X", timestamp: 1 });
    assert.deepEqual(Object.keys(element.attrs), ["id", "title", "type", "timestamp"]);
    xml("message", {}, xml("x", { xmlns: NS_TASK }, element));
    assert.equal(element.getNS(), NS_TASK);
  });
});

describe("userElement", () => {
  test("a user with power is power='yes'", () => {
    assert.equal(
      userElement({ name: "alice", group: "Halls", power: true }).toString(),
      '<user name="alice" group="Halls" power="yes"/>',
    );
  });

  test("a user without power is power='no'", () => {
    assert.equal(
      userElement({ name: "bob", group: "Jury", power: false }).toString(),
      '<user name="bob" group="Jury" power="no"/>',
    );
  });

  test("has no xmlns and takes the #users query's namespace", () => {
    const element = userElement({ name: "a&b", group: "<g>", power: false });
    assert.equal(element.attrs.xmlns, undefined);
    assert.equal(element.toString(), '<user name="a&amp;b" group="&lt;g&gt;" power="no"/>');
    xml("query", { xmlns: NS_USERS }, element);
    assert.equal(element.getNS(), NS_USERS);
  });
});

describe("echo", () => {
  test("returns an element of the same name and attributes", () => {
    const request = xml("query", { xmlns: NS_PING, node: "n", extra: "1" });
    const reply = echo(request);
    assert.equal(reply.name, "query");
    assert.deepEqual(reply.attrs, { xmlns: NS_PING, node: "n", extra: "1" });
    assert.equal(reply.toString(), `<query xmlns="${NS_PING}" node="n" extra="1"/>`);
  });

  test("is a new element with its own attributes object", () => {
    const request = xml("taskstatus", { xmlns: NS_TASKSTATUS, id: "t1", type: "success" });
    const reply = echo(request);
    assert.notEqual(reply, request);
    assert.notEqual(reply.attrs, request.attrs);
    reply.attrs.id = "changed";
    assert.equal(request.attrs.id, "t1");
  });

  test("drops the request's children and carries the given ones", () => {
    const request = xml("query", { xmlns: NS_USERS }, xml("user", { name: "spoofed" }), "text");
    const users = [
      userElement({ name: "alice", group: "Halls", power: true }),
      userElement({ name: "bob", group: "Jury", power: false }),
    ];
    const reply = echo(request, ...users);
    assert.equal(
      reply.toString(),
      `<query xmlns="${NS_USERS}">` +
        '<user name="alice" group="Halls" power="yes"/>' +
        '<user name="bob" group="Jury" power="no"/>' +
        "</query>",
    );
    assert.equal(request.getChildren("user").length, 1, "the request is left as it was");
    for (const user of users) assert.equal(user.getNS(), NS_USERS);
  });

  test("keeps the name of a <task/> or <taskstatus/> request", () => {
    assert.equal(echo(xml("task", { xmlns: NS_TASK, id: "t1", type: "remove" })).name, "task");
    assert.equal(echo(xml("taskstatus", { xmlns: NS_TASKSTATUS })).name, "taskstatus");
  });
});

describe("Serialized", () => {
  test("is an Element", () => {
    assert.ok(new Serialized("<task/>") instanceof Element);
  });

  test("toString() is the text it was given, unescaped", () => {
    const text = '<task id="a&amp;b" title="T" type="todo" timestamp="1"/>';
    assert.equal(new Serialized(text).toString(), text);
  });

  test("embedded in an xml() tree, its text is written verbatim in place", () => {
    const text =
      taskElement(sampleTask()).toString() + taskElement(sampleTask({ id: "t2" })).toString();
    const reply = xml(
      "iq",
      { type: "result", id: "1" },
      echo(xml("query", { xmlns: NS_TASKS }), new Serialized(text)),
    );
    assert.equal(
      reply.toString(),
      `<iq type="result" id="1"><query xmlns="${NS_TASKS}">${text}</query></iq>`,
    );
  });

  test("embedded text equals building the same tree from elements", () => {
    const tasks = [sampleTask(), sampleTask({ id: "t2", title: "x < y & z", statuses: [] })];
    const built = xml("query", { xmlns: NS_TASKS }, ...tasks.map((task) => taskElement(task)));
    const cached = xml(
      "query",
      { xmlns: NS_TASKS },
      new Serialized(tasks.map((task) => taskElement(task).toString()).join("")),
    );
    assert.equal(cached.toString(), built.toString());
  });

  test("text that looks like markup is not escaped", () => {
    const tree = xml("query", {}, new Serialized("<a>&amp;</a>"));
    assert.equal(tree.toString(), "<query><a>&amp;</a></query>");
  });

  test("write() hands the text to the writer in one chunk", () => {
    const chunks: string[] = [];
    new Serialized("<task/><task/>").write((chunk) => chunks.push(chunk));
    assert.deepEqual(chunks, ["<task/><task/>"]);
  });

  test("empty text leaves the parent with nothing inside", () => {
    const tree = xml("query", { xmlns: NS_TASKS }, new Serialized(""));
    assert.equal(tree.toString(), `<query xmlns="${NS_TASKS}"></query>`);
  });
});
