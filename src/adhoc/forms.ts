import xml, { type Element } from "@xmpp/xml";
import { parseJid, type BareJid } from "../xmpp/jid.js";
import { NS_DATA } from "../xmpp/namespaces.js";
import { childElements } from "../xmpp/stanza.js";

/** XEP-0004 data forms: what a command shows, and reading what the client submitted. Pure. */

export type FieldType =
  | "boolean"
  | "fixed"
  | "hidden"
  | "jid-single"
  | "list-multi"
  | "list-single"
  | "text-multi"
  | "text-single";

export interface Option {
  value: string;
  label?: string;
}

export interface Field {
  type: FieldType;
  /** Every field but `fixed` has one. */
  var?: string;
  label?: string;
  desc?: string;
  required?: boolean;
  values?: readonly string[];
  options?: readonly Option[];
}

/** A multi-item result (XEP-0004 §3.4): a table, one column per reported field. */
export interface Table {
  columns: ReadonlyArray<{ var: string; label: string }>;
  rows: ReadonlyArray<Readonly<Record<string, string>>>;
}

export interface Form {
  type: "form" | "result";
  title?: string;
  instructions?: readonly string[];
  fields?: readonly Field[];
  table?: Table;
}

export function formElement(form: Form): Element {
  const x = xml("x", { xmlns: NS_DATA, type: form.type });
  if (form.title !== undefined) x.append(xml("title", {}, form.title));
  for (const line of form.instructions ?? []) x.append(xml("instructions", {}, line));
  for (const field of form.fields ?? []) x.append(fieldElement(field));
  if (form.table) {
    const { columns, rows } = form.table;
    x.append(
      xml("reported", {}, ...columns.map((c) => xml("field", { var: c.var, label: c.label }))),
    );
    for (const row of rows) {
      x.append(
        xml(
          "item",
          {},
          ...columns.map((c) => xml("field", { var: c.var }, xml("value", {}, row[c.var] ?? ""))),
        ),
      );
    }
  }
  return x;
}

function fieldElement(field: Field): Element {
  const attrs: Record<string, string> = { type: field.type };
  if (field.var !== undefined) attrs.var = field.var;
  if (field.label !== undefined) attrs.label = field.label;
  const element = xml("field", attrs);
  if (field.desc !== undefined) element.append(xml("desc", {}, field.desc));
  if (field.required) element.append(xml("required"));
  for (const value of field.values ?? []) element.append(xml("value", {}, value));
  for (const option of field.options ?? []) {
    const optionAttrs = option.label === undefined ? {} : { label: option.label };
    element.append(xml("option", optionAttrs, xml("value", {}, option.value)));
  }
  return element;
}

/** A form field the client got wrong: the request is answered with bad-request naming it. */
export class FieldProblem extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`field '${field}': ${problem}`);
    this.name = "FieldProblem";
  }
}

/** The values a client submitted, by field name (`<x type="submit">`), read defensively. */
export class Submission {
  constructor(readonly values: ReadonlyMap<string, readonly string[]>) {}

  /** The submitted form in `parent` (the `<command/>`), or undefined if there is none. */
  static from(parent: Element): Submission | undefined {
    const x = parent.getChild("x", NS_DATA);
    if (!x || x.attrs.type !== "submit") return undefined;
    const values = new Map<string, string[]>();
    for (const field of childElements(x)) {
      const name = field.attrs.var as unknown;
      if (field.name !== "field" || typeof name !== "string" || name === "") continue;
      const list = field.getChildren("value").map((v) => v.text());
      values.set(name, [...(values.get(name) ?? []), ...list]);
    }
    return new Submission(values);
  }

  /** The single value of a field, trimmed; "" when it is missing or empty. */
  text(name: string): string {
    return (this.values.get(name) ?? []).join("").trim();
  }

  required(name: string): string {
    const value = this.text(name);
    if (value === "") throw new FieldProblem(name, "a value is required");
    return value;
  }

  /** A whole number in [min, max]; undefined when the field is empty. */
  optionalInteger(name: string, min: number, max: number): number | undefined {
    const value = this.text(name);
    if (value === "") return undefined;
    if (!/^[+]?\d+$/.test(value)) throw new FieldProblem(name, `'${value}' is not a whole number`);
    const number = Number(value);
    if (number < min || number > max) {
      throw new FieldProblem(name, `${number} is not between ${min} and ${max}`);
    }
    return number;
  }

  /** XEP-0004 booleans: 1/true or 0/false; `fallback` when the field is missing. */
  boolean(name: string, fallback: boolean): boolean {
    const value = this.text(name);
    if (value === "") return fallback;
    if (value === "1" || value === "true") return true;
    if (value === "0" || value === "false") return false;
    throw new FieldProblem(name, `'${value}' is not a boolean (1, true, 0 or false)`);
  }

  /** A user's address (normalised, resource dropped). */
  userJid(name: string): BareJid {
    const value = this.required(name);
    const jid = parseJid(value);
    if (!jid?.local) throw new FieldProblem(name, `'${value}' is not a user@domain address`);
    return jid.bare;
  }

  /** Every value of a list-multi field, each one of `allowed`; at least one. */
  choices(name: string, allowed: ReadonlySet<string>): string[] {
    const values = [...new Set((this.values.get(name) ?? []).map((v) => v.trim()))].filter(
      (v) => v !== "",
    );
    if (values.length === 0) throw new FieldProblem(name, "choose at least one");
    const unknown = values.filter((v) => !allowed.has(v));
    if (unknown.length > 0) throw new FieldProblem(name, `not offered: ${unknown.join(", ")}`);
    return values;
  }
}
