/**
 * The Nereid "Browser based Chat 1.0" wire (section 3 of the seed), free of I/O: what a browser
 * may send (zod schemas, every field checked, errors naming it), what the stream carries, and
 * the translation to and from XMPP stanzas.
 */
import xml, { type Element } from "@xmpp/xml";
import { z } from "zod";
import { parseJid, type BareJid } from "../xmpp/jid.js";
import { NS_DELAY } from "../xmpp/namespaces.js";

/** Our extension on groupchat messages: the browser's topic and content type travel here. */
export const NS_WEBCHAT = "urn:concierge:webchat:0";

export const SHOW_VALUES = ["away", "chat", "dnd", "xa"] as const;
export type PresenceShow = (typeof SHOW_VALUES)[number];
export const TEXT_TYPES = ["plain", "html", "rst"] as const;
export type TextType = (typeof TEXT_TYPES)[number];

/** Form posts carry strings: "true"/"false" (and 1/0, on/off) are booleans there. */
const boolean = () =>
  z.preprocess((value) => {
    if (typeof value !== "string") return value;
    if (["true", "1", "on", "yes"].includes(value)) return true;
    if (["false", "0", "off", "no"].includes(value)) return false;
    return value;
  }, z.boolean());

const integer = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value),
    z.int().min(min).max(max),
  );

/** A form with one value for a list field gives a string: it is a list of one. */
const list = <T extends z.ZodType>(item: T, max: number) =>
  z.preprocess((value) => (typeof value === "string" ? [value] : value), z.array(item).max(max));

const bareJid = z
  .string()
  .max(3_071)
  .transform((text, context) => {
    const jid = parseJid(text);
    if (!jid || jid.local === undefined || jid.resource !== undefined) {
      context.addIssue({ code: "custom", message: "must be a bare JID, user@domain" });
      return z.NEVER;
    }
    return jid.bare;
  });

/** A nick is a JID resourcepart: no control characters, not blank. */
const displayName = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(64)
  .regex(/^[^\p{Cc}]+$/u, "must not contain control characters");

const thread = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

/** RFC 5646 tags, and the seed's own `en_US` form. */
const language = z
  .string()
  .max(35)
  .regex(/^[A-Za-z]{1,8}([-_][A-Za-z0-9]{1,8})*$/, "must be a language tag such as en-US");

/** POST /nereid-chat/token (the web application's backend, with its API key). */
export function tokenRequestSchema(maxLifetimeS: number) {
  return z
    .strictObject({
      person: z.string().min(1, "must not be empty").max(200),
      name: displayName,
      role: z.enum(["client", "staff"]),
      room: bareJid.optional(),
      claim: boolean().optional(),
      contacts: list(bareJid, 50).default([]),
      lifetime: integer(60, maxLifetimeS).optional(),
    })
    .superRefine((request, context) => {
      if ((request.room === undefined) === (request.claim !== true)) {
        context.addIssue({
          code: "custom",
          path: ["room"],
          message: "give either a claimed room's JID or claim: true",
        });
      }
    });
}
export type TokenRequest = z.output<ReturnType<typeof tokenRequestSchema>>;

/** POST /nereid-chat/message/<token>. */
export function messageSchema(maxTextChars: number) {
  return z.strictObject({
    id: z.uuid("must be a UUID (RFC 4122)"),
    text: z.string().min(1, "must not be empty").max(maxTextChars),
    type: z.enum(TEXT_TYPES).default("plain"),
    language: language.optional(),
    subject: z
      .string()
      .max(256)
      .regex(/^[^\p{Cc}]*$/u, "must be one line")
      .optional(),
    thread: thread.optional(),
    to: bareJid.optional(),
    attachments: z.array(z.never()).max(0, "attachments are not supported").optional(),
  });
}
export type OutgoingMessage = z.output<ReturnType<typeof messageSchema>>;

/** POST /nereid-chat/presence/<token>. */
export const presenceSchema = z.strictObject({
  available: boolean().default(true),
  show: z.enum(SHOW_VALUES).optional(),
  status: z.string().max(512).optional(),
});
export type OutgoingPresence = z.output<typeof presenceSchema>;

/** `?after=N&wait=S` of the stream and the poll. */
export function cursorSchema(maxWaitS: number) {
  return z.object({
    after: integer(0, Number.MAX_SAFE_INTEGER).optional(),
    wait: integer(0, maxWaitS).optional(),
  });
}

// ---- what the stream carries ----

export interface Sender {
  objectType: "person";
  /** The web application's id for the person, where the claim knows it; else `xmpp:` + JID. */
  id: string;
  displayName: string;
}

export interface MessageStanza {
  type: "message";
  timestamp: string;
  message: {
    subject?: string;
    text: string;
    type: TextType;
    language?: string;
    attachments: [];
    id: string;
    thread: string;
    sender: Sender;
  };
}

export interface PresenceItem {
  entity: string;
  show?: PresenceShow;
  status?: string;
  available: boolean;
}

export interface PresenceStanza {
  type: "presence";
  timestamp: string;
  presence: PresenceItem[];
}

/** The last stanza of a session: the room closed, the person left, the chat ended. */
export interface EndStanza {
  type: "end";
  timestamp: string;
  end: { reason: string };
}

export type StreamStanza = MessageStanza | PresenceStanza | EndStanza;

/** UTC with `Z` and whole seconds, as the seed's examples (`2011-02-10T15:04:55Z`). */
export function timestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

// ---- XMPP → stream ----

/** What a message from XMPP says, before the sender is known. */
export interface IncomingMessage {
  text: string;
  subject?: string;
  type: TextType;
  language?: string;
  id: string;
  thread?: string;
  /** When the server first saw it, for messages replayed from a room's history. */
  delayedAt?: Date;
}

/**
 * Reads a message with a body; undefined for anything else (chat states, receipts, a room's
 * subject change, errors). In a groupchat `<subject/>` is the room's subject, so the message's
 * own topic comes from our extension; in a chat message `<subject/>` is the topic (RFC 6121).
 */
export function readMessage(stanza: Element): IncomingMessage | undefined {
  const kind = (stanza.attrs.type as string | undefined) ?? "normal";
  if (kind === "error" || kind === "headline") return undefined;
  const text = stanza.getChildText("body");
  if (text === null || text === "") return undefined;
  const extension = stanza.getChild("webchat", NS_WEBCHAT);
  const subject =
    kind === "groupchat"
      ? extension?.getChildText("subject")
      : (stanza.getChildText("subject") ?? extension?.getChildText("subject"));
  const typeAttr = extension?.attrs.type as unknown;
  const lang = stanza.attrs["xml:lang"] as unknown;
  const stamp = stanza.getChild("delay", NS_DELAY)?.attrs.stamp as unknown;
  const delayedAt = typeof stamp === "string" ? new Date(stamp) : undefined;
  const threadText = stanza.getChildText("thread");
  return {
    text,
    ...(subject ? { subject } : {}),
    type: TEXT_TYPES.includes(typeAttr as TextType) ? (typeAttr as TextType) : "plain",
    ...(typeof lang === "string" && language.safeParse(lang).success ? { language: lang } : {}),
    id: typeof stanza.attrs.id === "string" ? stanza.attrs.id : "",
    ...(threadText ? { thread: threadText } : {}),
    ...(delayedAt && !Number.isNaN(delayedAt.getTime()) ? { delayedAt } : {}),
  };
}

export function messageStanza(
  message: IncomingMessage,
  thread: string,
  sender: Sender,
  at: Date,
): MessageStanza {
  return {
    type: "message",
    timestamp: timestamp(message.delayedAt ?? at),
    message: {
      ...(message.subject === undefined ? {} : { subject: message.subject }),
      text: message.text,
      type: message.type,
      ...(message.language === undefined ? {} : { language: message.language }),
      attachments: [],
      id: message.id,
      thread,
      sender,
    },
  };
}

/** An occupant's presence as the seed's list of one. */
export function presenceStanza(entity: string, stanza: Element, at: Date): PresenceStanza {
  const available = stanza.attrs.type !== "unavailable";
  const show = stanza.getChildText("show");
  const status = stanza.getChildText("status");
  const item: PresenceItem = { entity, available };
  if (available && SHOW_VALUES.includes(show as PresenceShow)) item.show = show as PresenceShow;
  if (status) item.status = status;
  return { type: "presence", timestamp: timestamp(at), presence: [item] };
}

export function endStanza(reason: string, at: Date): EndStanza {
  return { type: "end", timestamp: timestamp(at), end: { reason } };
}

// ---- browser → XMPP ----

/** A browser's room message: groupchat with the topic and type in our extension, never `<subject/>`. */
export function groupchatMessage(room: BareJid, message: OutgoingMessage, thread: string): Element {
  return xml(
    "message",
    { to: room, type: "groupchat", id: message.id, ...langAttr(message.language) },
    xml("body", {}, message.text),
    xml("thread", {}, thread),
    extension(message),
  );
}

/** A browser's one-to-one message to an XMPP user: a chat message with `<thread/>`. */
export function chatMessage(peer: BareJid, message: OutgoingMessage, thread: string): Element {
  const stanza = xml(
    "message",
    { to: peer, type: "chat", id: message.id, ...langAttr(message.language) },
    xml("body", {}, message.text),
    xml("thread", {}, thread),
  );
  if (message.subject) stanza.append(xml("subject", {}, message.subject));
  stanza.append(extension(message));
  return stanza;
}

function extension(message: OutgoingMessage): Element {
  const element = xml("webchat", { xmlns: NS_WEBCHAT, type: message.type });
  if (message.subject) element.append(xml("subject", {}, message.subject));
  return element;
}

function langAttr(tag: string | undefined): Record<string, string> {
  return tag === undefined ? {} : { "xml:lang": tag.replace(/_/g, "-") };
}

/** A browser's presence in its room. */
export function occupantPresence(to: string, presence: OutgoingPresence): Element {
  const stanza = xml("presence", { to });
  if (presence.show) stanza.append(xml("show", {}, presence.show));
  if (presence.status) stanza.append(xml("status", {}, presence.status));
  return stanza;
}

/** The message as its sender's own stream shows it (one-to-one messages have no room echo). */
export function ownMessage(message: OutgoingMessage, thread: string): IncomingMessage {
  return {
    text: message.text,
    ...(message.subject ? { subject: message.subject } : {}),
    type: message.type,
    ...(message.language ? { language: message.language } : {}),
    id: message.id,
    thread,
  };
}
