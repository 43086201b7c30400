import xml, { type Element } from "@xmpp/xml";
import { NS_STANZAS } from "./namespaces.js";

/** The defined conditions of RFC 6120 §8.3.3, with the error type each one usually carries. */
const DEFAULT_TYPES = {
  "bad-request": "modify",
  conflict: "cancel",
  "feature-not-implemented": "cancel",
  forbidden: "auth",
  gone: "cancel",
  "internal-server-error": "cancel",
  "item-not-found": "cancel",
  "jid-malformed": "modify",
  "not-acceptable": "modify",
  "not-allowed": "cancel",
  "not-authorized": "auth",
  "policy-violation": "modify",
  "recipient-unavailable": "wait",
  redirect: "modify",
  "registration-required": "auth",
  "remote-server-not-found": "cancel",
  "remote-server-timeout": "wait",
  "resource-constraint": "wait",
  "service-unavailable": "cancel",
  "subscription-required": "auth",
  "undefined-condition": "cancel",
  "unexpected-request": "wait",
} as const;

export type StanzaErrorCondition = keyof typeof DEFAULT_TYPES;
export type StanzaErrorType = "auth" | "cancel" | "continue" | "modify" | "wait";

/** The one way a handler refuses a request: the router turns it into the error stanza. */
export class StanzaError extends Error {
  readonly condition: StanzaErrorCondition;
  readonly type: StanzaErrorType;
  readonly text: string | undefined;
  /** An application-specific condition (RFC 6120 §8.3.4), next to the defined one. */
  readonly application: Element | undefined;
  /** The error stanza this was read from, when it came from elsewhere. */
  stanza: Element | undefined;

  constructor(
    condition: StanzaErrorCondition,
    text?: string,
    type?: StanzaErrorType,
    application?: Element,
  ) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = "StanzaError";
    this.condition = condition;
    this.type = type ?? DEFAULT_TYPES[condition];
    this.text = text;
    this.application = application;
  }

  /** The `<error/>` child of an error stanza. */
  toElement(): Element {
    const error = xml("error", { type: this.type }, xml(this.condition, { xmlns: NS_STANZAS }));
    if (this.application) error.append(this.application);
    if (this.text) error.append(xml("text", { xmlns: NS_STANZAS, "xml:lang": "en" }, this.text));
    return error;
  }

  /** Reads the `<error/>` child of an error stanza received from elsewhere. */
  static fromStanza(stanza: Element): StanzaError {
    const error = stanza.getChild("error");
    const conditionElement = error?.children.find(
      (child): child is Element =>
        typeof child !== "string" && child.attrs.xmlns === NS_STANZAS && child.name !== "text",
    );
    const name = conditionElement?.name ?? "undefined-condition";
    const condition = isCondition(name) ? name : "undefined-condition";
    const text = error?.getChildText("text", NS_STANZAS) ?? undefined;
    const type = error?.attrs.type as StanzaErrorType | undefined;
    const read = new StanzaError(condition, text, type);
    read.stanza = stanza;
    return read;
  }
}

function isCondition(name: string): name is StanzaErrorCondition {
  return Object.hasOwn(DEFAULT_TYPES, name);
}
