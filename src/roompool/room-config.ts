import xml, { type Element } from "@xmpp/xml";
import { NS_DATA } from "../xmpp/namespaces.js";

export interface RoomSettings {
  password: string;
  maxOccupants: number;
  historyLength: number;
  persistent: boolean;
}

/**
 * The room configuration to submit, built from the form the server offered: only fields the form
 * contains are sent (ejabberd refuses a form with unknown fields; Prosody 0.12 has no
 * passwordprotectedroom and no maxusers). Values for list fields are taken from their options.
 */
export function roomConfigSubmission(form: Element, settings: RoomSettings): Element {
  const fields = new Map(
    form
      .getChildren("field")
      .filter((field) => typeof field.attrs.var === "string")
      .map((field) => [field.attrs.var as string, field]),
  );
  const wanted: [string, string | undefined][] = [
    ["FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig"],
    ["muc#roomconfig_roomsecret", settings.password],
    ["muc#roomconfig_passwordprotectedroom", "1"],
    ["muc#roomconfig_persistentroom", settings.persistent ? "1" : "0"],
    ["muc#roomconfig_publicroom", "0"],
    ["public_list", "0"],
    ["muc#roomconfig_membersonly", "0"],
    ["muc#roomconfig_moderatedroom", "0"],
    ["muc#roomconfig_allowinvites", "0"],
    ["{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites", "0"],
    ["muc#roomconfig_changesubject", "0"],
    ["muc#roomconfig_whois", optionOrUndefined(fields.get("muc#roomconfig_whois"), "moderators")],
    [
      "muc#roomconfig_maxusers",
      maxUsers(fields.get("muc#roomconfig_maxusers"), settings.maxOccupants),
    ],
    ["muc#roomconfig_historylength", String(settings.historyLength)],
    ["muc#maxhistoryfetch", String(settings.historyLength)],
  ];
  const submitted = wanted.flatMap(([name, value]) =>
    value !== undefined && (fields.has(name) || name === "FORM_TYPE")
      ? [xml("field", { var: name }, xml("value", {}, value))]
      : [],
  );
  return xml("x", { xmlns: NS_DATA, type: "submit" }, ...submitted);
}

function options(field: Element): string[] {
  return field.getChildren("option").map((option) => option.getChildText("value") ?? "");
}

function optionOrUndefined(field: Element | undefined, value: string): string | undefined {
  if (!field) return undefined;
  const offered = options(field);
  return offered.length === 0 || offered.includes(value) ? value : undefined;
}

/** The smallest offered limit that still fits everyone (a free-text field takes the number). */
function maxUsers(field: Element | undefined, wanted: number): string | undefined {
  if (!field) return undefined;
  const offered = options(field)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= wanted)
    .sort((a, b) => a - b);
  if (field.attrs.type === "list-single" || offered.length > 0) {
    return offered[0] === undefined ? undefined : String(offered[0]);
  }
  return String(wanted);
}
