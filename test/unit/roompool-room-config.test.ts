import assert from "node:assert/strict";
import { describe, test } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { roomConfigSubmission, type RoomSettings } from "../../src/roompool/room-config.js";

const NS_DATA = "jabber:x:data";
const FORM_TYPE = "http://jabber.org/protocol/muc#roomconfig";
const ALLOW_MEMBER_INVITES = "{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites";

interface FieldSpec {
  var: string;
  type: string;
  value?: string;
  options?: string[];
}

function form(fields: FieldSpec[]): Element {
  return xml(
    "x",
    { xmlns: NS_DATA, type: "form" },
    xml("title", {}, "Room configuration"),
    ...fields.map((field) =>
      xml(
        "field",
        { var: field.var, type: field.type, label: field.var },
        ...(field.value === undefined ? [] : [xml("value", {}, field.value)]),
        ...(field.options ?? []).map((option) =>
          xml("option", { label: option }, xml("value", {}, option)),
        ),
      ),
    ),
  );
}

/** What Prosody 0.12 offers a new room's owner (no passwordprotectedroom, no maxusers). */
const PROSODY_FORM = form([
  { var: "FORM_TYPE", type: "hidden", value: FORM_TYPE },
  { var: "muc#roomconfig_roomname", type: "text-single", value: "" },
  { var: "muc#roomconfig_roomdesc", type: "text-single", value: "" },
  { var: "muc#roomconfig_persistentroom", type: "boolean", value: "0" },
  { var: "muc#roomconfig_publicroom", type: "boolean", value: "1" },
  { var: "muc#roomconfig_roomsecret", type: "text-private", value: "" },
  { var: "muc#roomconfig_membersonly", type: "boolean", value: "0" },
  { var: "muc#roomconfig_moderatedroom", type: "boolean", value: "0" },
  {
    var: "muc#roomconfig_whois",
    type: "list-single",
    value: "moderators",
    options: ["moderators", "anyone"],
  },
  { var: "muc#roomconfig_changesubject", type: "boolean", value: "0" },
  { var: "muc#roomconfig_historylength", type: "text-single", value: "20" },
  { var: ALLOW_MEMBER_INVITES, type: "boolean", value: "0" },
]);

/** What ejabberd offers: passwordprotectedroom, maxusers as a list, public_list, no history. */
const EJABBERD_FORM = form([
  { var: "FORM_TYPE", type: "hidden", value: FORM_TYPE },
  { var: "muc#roomconfig_roomname", type: "text-single", value: "" },
  { var: "muc#roomconfig_roomdesc", type: "text-single", value: "" },
  { var: "muc#roomconfig_persistentroom", type: "boolean", value: "0" },
  { var: "muc#roomconfig_publicroom", type: "boolean", value: "1" },
  { var: "public_list", type: "boolean", value: "1" },
  { var: "muc#roomconfig_passwordprotectedroom", type: "boolean", value: "0" },
  { var: "muc#roomconfig_roomsecret", type: "text-private", value: "" },
  {
    var: "muc#roomconfig_maxusers",
    type: "list-single",
    value: "200",
    options: ["5", "10", "20", "30", "50", "100", "200"],
  },
  {
    var: "muc#roomconfig_whois",
    type: "list-single",
    value: "moderators",
    options: ["moderators", "anyone"],
  },
  { var: "muc#roomconfig_membersonly", type: "boolean", value: "0" },
  { var: "muc#roomconfig_moderatedroom", type: "boolean", value: "1" },
  { var: "muc#roomconfig_allowinvites", type: "boolean", value: "0" },
  { var: "muc#roomconfig_changesubject", type: "boolean", value: "1" },
  { var: "allow_private_messages", type: "boolean", value: "1" },
]);

const SETTINGS: RoomSettings = {
  password: "s3cret-<&>'\"",
  maxOccupants: 3,
  historyLength: 7,
  persistent: false,
};

/** The submitted fields, name → values, checking the form's shape on the way. */
function submitted(submission: Element): Map<string, string[]> {
  assert.equal(submission.name, "x");
  assert.equal(submission.attrs.xmlns, NS_DATA);
  assert.equal(submission.attrs.type, "submit");
  const fields = new Map<string, string[]>();
  for (const child of submission.getChildElements()) {
    assert.equal(child.name, "field");
    const name = String(child.attrs.var);
    assert.ok(!fields.has(name), `${name} submitted once`);
    fields.set(
      name,
      child.getChildren("value").map((value) => value.getText()),
    );
  }
  return fields;
}

const asObject = (fields: Map<string, string[]>) => Object.fromEntries(fields);

describe("roomConfigSubmission", () => {
  test("a Prosody 0.12 form: only its own fields, with the values we want", () => {
    const fields = submitted(roomConfigSubmission(PROSODY_FORM, SETTINGS));
    assert.deepEqual(asObject(fields), {
      FORM_TYPE: [FORM_TYPE],
      "muc#roomconfig_roomsecret": [SETTINGS.password],
      "muc#roomconfig_persistentroom": ["0"],
      "muc#roomconfig_publicroom": ["0"],
      "muc#roomconfig_membersonly": ["0"],
      "muc#roomconfig_moderatedroom": ["0"],
      [ALLOW_MEMBER_INVITES]: ["0"],
      "muc#roomconfig_changesubject": ["0"],
      "muc#roomconfig_whois": ["moderators"],
      "muc#roomconfig_historylength": ["7"],
    });
  });

  test("an ejabberd form: password protection, the smallest maxusers that fits, no history", () => {
    const fields = submitted(roomConfigSubmission(EJABBERD_FORM, SETTINGS));
    assert.deepEqual(asObject(fields), {
      FORM_TYPE: [FORM_TYPE],
      "muc#roomconfig_roomsecret": [SETTINGS.password],
      "muc#roomconfig_passwordprotectedroom": ["1"],
      "muc#roomconfig_persistentroom": ["0"],
      "muc#roomconfig_publicroom": ["0"],
      public_list: ["0"],
      "muc#roomconfig_membersonly": ["0"],
      "muc#roomconfig_moderatedroom": ["0"],
      "muc#roomconfig_allowinvites": ["0"],
      "muc#roomconfig_changesubject": ["0"],
      "muc#roomconfig_whois": ["moderators"],
      "muc#roomconfig_maxusers": ["5"],
    });
  });

  test("every submitted field is in the form, FORM_TYPE aside", () => {
    for (const offered of [PROSODY_FORM, EJABBERD_FORM]) {
      const names = new Set(offered.getChildren("field").map((f) => String(f.attrs.var)));
      for (const name of submitted(roomConfigSubmission(offered, SETTINGS)).keys()) {
        assert.ok(names.has(name), name);
      }
    }
    const bare = submitted(roomConfigSubmission(form([]), SETTINGS));
    assert.deepEqual(asObject(bare), { FORM_TYPE: [FORM_TYPE] });
  });

  test("persistent rooms and other sizes", () => {
    const value = (settings: Partial<RoomSettings>, offered: Element, name: string) =>
      submitted(roomConfigSubmission(offered, { ...SETTINGS, ...settings })).get(name);
    assert.deepEqual(value({ persistent: true }, PROSODY_FORM, "muc#roomconfig_persistentroom"), [
      "1",
    ]);
    assert.deepEqual(value({ persistent: true }, EJABBERD_FORM, "muc#roomconfig_persistentroom"), [
      "1",
    ]);
    const maxusers = (n: number) =>
      value({ maxOccupants: n }, EJABBERD_FORM, "muc#roomconfig_maxusers");
    assert.deepEqual(maxusers(5), ["5"]);
    assert.deepEqual(maxusers(6), ["10"]);
    assert.deepEqual(maxusers(100), ["100"]);
    assert.equal(maxusers(201), undefined, "no offered limit fits: the server keeps its own");
    assert.deepEqual(value({ historyLength: 0 }, PROSODY_FORM, "muc#roomconfig_historylength"), [
      "0",
    ]);
  });

  test("a free-text maxusers takes the number; a whois without 'moderators' is left alone", () => {
    const offered = form([
      { var: "muc#roomconfig_maxusers", type: "text-single", value: "" },
      { var: "muc#roomconfig_whois", type: "list-single", options: ["anyone"] },
    ]);
    const fields = submitted(roomConfigSubmission(offered, SETTINGS));
    assert.deepEqual(fields.get("muc#roomconfig_maxusers"), ["3"]);
    assert.equal(fields.has("muc#roomconfig_whois"), false);
  });

  test("the password survives serialization", () => {
    const text = roomConfigSubmission(PROSODY_FORM, SETTINGS).toString();
    assert.ok(text.includes("s3cret-&lt;&amp;&gt;"), text);
  });
});
