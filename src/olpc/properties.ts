import xml, { type Element } from "@xmpp/xml";
import { StanzaError } from "../xmpp/stanza-error.js";
import { childrenWithNs, namespaceOf, optionalAttr, textOnly } from "./xml.js";

/**
 * Typed OLPC properties: `<property type="str|int|uint|bool|bytes" name="…">value</property>`.
 * The five types are Gabble's (`lm_message_node_extract_properties`, util.c); values are stored
 * in one canonical spelling so that equality is string equality.
 */

export const PROPERTY_TYPES = ["str", "int", "uint", "bool", "bytes"] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];

export interface Property {
  readonly name: string;
  readonly type: PropertyType;
  /** Canonical: int/uint in plain decimal, bool as "1"/"0", bytes as padded base64. */
  readonly value: string;
}

export interface PropertyLimits {
  /** Most `<property/>` children one container may carry. */
  maxProperties: number;
  /** Longest value, in UTF-8 bytes of the text as sent. */
  maxValueBytes: number;
  /** Longest name, in UTF-8 bytes; 256 when not given. */
  maxNameBytes?: number;
}

const DEFAULT_MAX_NAME_BYTES = 256;
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const UINT_MAX = 2 ** 32 - 1;
const SIGNED = /^[+-]?\d+$/u;
const UNSIGNED = /^\+?\d+$/u;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/u;
/** XML Schema's whitespace "collapse" for the non-string types: XML whitespace only. */
const XML_SPACE = /^[ \t\r\n]+|[ \t\r\n]+$/gu;

export function isPropertyType(value: unknown): value is PropertyType {
  return typeof value === "string" && (PROPERTY_TYPES as readonly string[]).includes(value);
}

/**
 * The canonical spelling of `raw` as a value of `type`; throws bad-request naming the property
 * when `raw` is not such a value. str is kept exactly (whitespace included).
 */
export function canonicalValue(type: PropertyType, raw: string, name: string): string {
  if (type === "str") return raw;
  const text = raw.replace(XML_SPACE, "");
  switch (type) {
    case "int": {
      const value = SIGNED.test(text) ? Number(text) : NaN;
      if (!(value >= INT_MIN && value <= INT_MAX)) {
        throw bad(name, `must be an int (signed 32-bit decimal), not '${raw}'`);
      }
      return String(value); // also turns "-0" into "0"
    }
    case "uint": {
      const value = UNSIGNED.test(text) ? Number(text) : NaN;
      if (!(value >= 0 && value <= UINT_MAX)) {
        throw bad(name, `must be a uint (unsigned 32-bit decimal), not '${raw}'`);
      }
      return String(value);
    }
    case "bool":
      if (text === "1" || text === "true") return "1";
      if (text === "0" || text === "false") return "0";
      throw bad(name, `must be a bool (true, false, 1 or 0), not '${raw}'`);
    case "bytes": {
      const compact = text.replace(/[ \t\r\n]+/gu, "");
      if (!BASE64.test(compact)) throw bad(name, "must be base64 (type bytes)");
      return Buffer.from(compact, "base64").toString("base64");
    }
  }
}

/**
 * Reads every `<property/>` child of `container` (a `<properties/>`, or the draft's `<activity/>`
 * holding properties directly). The result is sorted by name. Refuses, naming the property: a
 * child that is not a `<property/>`, a missing or unknown type, a missing or empty name, a value
 * that is not of its type, a duplicate name (bad-request); more than `maxProperties` properties,
 * a name or value over its byte limit (policy-violation: a local limit, not a malformed request).
 */
export function parseProperties(container: Element, limits: PropertyLimits): Property[] {
  const containerNs = namespaceOf(container, undefined);
  const children = childrenWithNs(container, containerNs);
  for (const { element, ns } of children) {
    if (element.name !== "property" || ns !== containerNs) {
      throw new StanzaError(
        "bad-request",
        `unexpected <${element.name}/> in <${container.name}/>: only <property/> is allowed`,
      );
    }
  }
  return parsePropertyList(
    children.map(({ element }) => element),
    limits,
  );
}

/** parseProperties over `<property/>` elements the caller has already picked out. */
export function parsePropertyList(
  elements: readonly Element[],
  limits: PropertyLimits,
): Property[] {
  if (elements.length > limits.maxProperties) {
    throw new StanzaError(
      "policy-violation",
      `at most ${limits.maxProperties} properties are accepted, got ${elements.length}`,
    );
  }
  const maxNameBytes = limits.maxNameBytes ?? DEFAULT_MAX_NAME_BYTES;
  const seen = new Set<string>();
  const properties: Property[] = [];
  for (const [position, element] of elements.entries()) {
    const name = optionalAttr(element, "name");
    if (!name) {
      throw new StanzaError("bad-request", `property #${position + 1} has no name`);
    }
    if (Buffer.byteLength(name, "utf8") > maxNameBytes) {
      throw new StanzaError(
        "policy-violation",
        `property #${position + 1}: the name is longer than ${maxNameBytes} bytes`,
      );
    }
    const label = JSON.stringify(name);
    if (seen.has(name)) throw bad(name, "appears more than once");
    seen.add(name);
    const type = optionalAttr(element, "type");
    if (type === undefined) throw bad(name, "has no type (str, int, uint, bool or bytes)");
    if (!isPropertyType(type)) {
      throw bad(name, `has unknown type '${type}' (str, int, uint, bool or bytes)`);
    }
    const raw = textOnly(element, `property ${label}`);
    if (Buffer.byteLength(raw, "utf8") > limits.maxValueBytes) {
      throw new StanzaError(
        "policy-violation",
        `property ${label}: the value is longer than ${limits.maxValueBytes} bytes`,
      );
    }
    properties.push({ name, type, value: canonicalValue(type, raw, name) });
  }
  return sortProperties(properties);
}

/** `<property type name>value</property>` elements, in the order given. */
export function propertyElements(properties: readonly Property[]): Element[] {
  return properties.map((property) =>
    xml("property", { type: property.type, name: property.name }, property.value),
  );
}

/** `<properties xmlns=…>` with one `<property/>` per property; no xmlns when none is given. */
export function serializeProperties(
  properties: readonly Property[],
  xmlns?: string,
  attrs: Record<string, string> = {},
): Element {
  return xml(
    "properties",
    xmlns === undefined ? attrs : { xmlns, ...attrs },
    ...propertyElements(properties),
  );
}

export function propertyEquals(a: Property, b: Property): boolean {
  return a.name === b.name && a.type === b.type && a.value === b.value;
}

/** The same properties, whatever their order. */
export function propertiesEqual(a: readonly Property[], b: readonly Property[]): boolean {
  if (a.length !== b.length) return false;
  const byName = new Map(a.map((property) => [property.name, property]));
  return b.every((property) => {
    const other = byName.get(property.name);
    return other !== undefined && propertyEquals(other, property);
  });
}

/** A copy sorted by name (UTF-16 code units, the same order everywhere). */
export function sortProperties(properties: readonly Property[]): Property[] {
  return [...properties].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The property called `name`, if any. */
export function findProperty(properties: readonly Property[], name: string): Property | undefined {
  return properties.find((property) => property.name === name);
}

function bad(name: string, problem: string): StanzaError {
  return new StanzaError("bad-request", `property ${JSON.stringify(name)} ${problem}`);
}
