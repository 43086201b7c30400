/**
 * A seeded generator of hostile but well-formed stanzas for the daemon, sent through a real
 * server by c2s clients: iqs of every type (and invalid ones) with zero, one or two children
 * from every namespace Concierge serves, messages and presences with the payloads its services
 * read, addressed to the component, to `node@component` (NEERC rooms, mirror JIDs, random
 * nodes) and to a few invalid addresses. Payloads are plausible first (real element and
 * attribute names for each protocol) and then wrong in the ways clients get things wrong:
 * missing and extra fields, wrong types, out-of-range numbers, silly sizes, invalid JIDs,
 * over-long attributes (up to 100 KB), deep nesting, odd text.
 *
 * Pure: no I/O, no clock, no Math.random. The same seed and world give the same stanzas, in
 * the same order, on every machine. Every stanza stays within `maxBytes` (below Prosody's c2s
 * stanza size limit) unless `oversizeRate` asks for deliberately oversized ones, which are
 * marked: the server, not the daemon, is expected to refuse them.
 */
import xml, { type Element } from "@xmpp/xml";
import { Prng } from "../../src/dev/random.js";

export const NS = {
  discoInfo: "http://jabber.org/protocol/disco#info",
  discoItems: "http://jabber.org/protocol/disco#items",
  ping: "urn:xmpp:ping",
  version: "jabber:iq:version",
  neercUsers: "http://neerc.ifmo.ru/protocol/neerc#users",
  neercTasks: "http://neerc.ifmo.ru/protocol/neerc#tasks",
  neercTask: "http://neerc.ifmo.ru/protocol/neerc#task",
  neercTaskStatus: "http://neerc.ifmo.ru/protocol/neerc#taskstatus",
  neercPing: "http://neerc.ifmo.ru/protocol/neerc#ping",
  activity: "http://laptop.org/xmpp/activity",
  buddy: "http://laptop.org/xmpp/buddy",
  activityProps: "http://laptop.org/xmpp/activity-properties",
  buddyProps: "http://laptop.org/xmpp/buddy-properties",
  currentActivity: "http://laptop.org/xmpp/current-activity",
  activities: "http://laptop.org/xmpp/activities",
  inCall: "urn:concierge:in-call:0",
  presence: "urn:concierge:presence:0",
  muc: "http://jabber.org/protocol/muc",
  mucUser: "http://jabber.org/protocol/muc#user",
  mucAdmin: "http://jabber.org/protocol/muc#admin",
  mucOwner: "http://jabber.org/protocol/muc#owner",
  pubsub: "http://jabber.org/protocol/pubsub",
  pubsubEvent: "http://jabber.org/protocol/pubsub#event",
  rsm: "http://jabber.org/protocol/rsm",
  caps: "http://jabber.org/protocol/caps",
  idle: "urn:xmpp:idle:1",
  nick: "http://jabber.org/protocol/nick",
  amp: "http://jabber.org/protocol/amp",
  data: "jabber:x:data",
  roster: "jabber:iq:roster",
  vcard: "vcard-temp",
  time: "urn:xmpp:time",
  delay: "urn:xmpp:delay",
  chatStates: "http://jabber.org/protocol/chatstates",
  stanzas: "urn:ietf:params:xml:ns:xmpp-stanzas",
} as const;

/** The caps node the daemon answers disco#info at (src/xmpp/caps.ts), with some `#ver`. */
const CAPS_NODE = "urn:concierge:caps";

/** What the generator knows of the system under test. */
export interface FuzzWorld {
  /** The component's JID, e.g. concierge.localhost. */
  componentJid: string;
  /** The server's virtual host, e.g. localhost. */
  domain: string;
  /** The MUC service, e.g. conference.localhost. */
  mucDomain: string;
  /** Bare JIDs of accounts that exist (the fuzzing clients among them). */
  users: readonly string[];
  /** NEERC rooms that exist on the MUC service with the component as an owner (names). */
  neercRooms: readonly string[];
  /** Rooms that exist on the MUC service but are not NEERC rooms (names). */
  otherRooms?: readonly string[];
  /** More rooms (bare JIDs) worth naming in `room=` attributes, e.g. the pool's. */
  extraRooms?: readonly string[];
  /** neerc.groups values. */
  groups?: readonly string[];
}

export interface GeneratorOptions {
  /** Largest stanza, in UTF-8 bytes as serialized; default 200,000 (Prosody's c2s limit: 262,144). */
  maxBytes?: number;
  /** Share of deliberately oversized stanzas (300–400 KB messages); default 0. */
  oversizeRate?: number;
}

export interface FuzzStanza {
  /** Position in the stream (0-based). */
  index: number;
  element: Element;
  kind: "iq" | "message" | "presence";
  /** The type attribute as sent; "" when absent. */
  type: string;
  /**
   * Whether exactly one iq reply must come back: iq get, set, no type (read as get) and
   * unknown types (the server refuses those itself). Not for result and error.
   */
  expectsReply: boolean;
  /** The id (iqs always have one, unique in the stream). */
  id: string;
  /** What was generated, for coverage counts and reports ("ns:…", "iq-type:…", "case:…"). */
  labels: string[];
  /** UTF-8 bytes of element.toString(). */
  bytes: number;
  /** Over the server's stanza size limit on purpose. */
  oversize: boolean;
}

type Attrs = Record<string, string>;
type Weighted<T> = ReadonlyArray<readonly [number, T]>;

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const NAME_START = "abcdefghijklmnopqrstuvwxyz";
const NAME_REST = "abcdefghijklmnopqrstuvwxyz0123456789-_.";
/** XML-special and markup-looking text: all of it must survive escaping both ways. */
const SPECIAL = [
  "<",
  ">",
  "&",
  '"',
  "'",
  "]]>",
  "&amp;",
  "&#65;",
  "<!--",
  "-->",
  "<![CDATA[",
  "\\",
  "%s",
  ";",
  "=",
  "/>",
];
/** Unicode oddities that are valid XML characters (no controls, no U+FFFE/U+FFFF, no lone surrogates). */
const UNICODE = [
  "é",
  "ß",
  "Ж",
  "中文",
  "日本語",
  "😀",
  "👩‍💻",
  "\u202e",
  "\u200d",
  "\u200b",
  "\u00a0",
  "\ufeff",
  "e\u0301",
  "\u2028",
  "\u2029",
  "ｆｕｌｌ",
  "＠",
  "İ",
  "ǅ",
  "ﬀ",
  "Ⅻ",
  "𝔘",
  "\u{10fffd}",
  "ﷺ",
  "\u0627\u0644",
  "Ω",
  "Å",
  "ſ",
];
const WHITESPACE = [" ", "  ", "\t", "\n", "\r\n", " \t "];

const TASK_TYPES = ["todo", "confirm", "okfail", "question", "todofail"];
const STATUS_TYPES = ["none", "running", "success", "fail", "acknowledged"];
const PROPERTY_TYPES = ["str", "int", "uint", "bool", "bytes"];
/** Statuses each task type takes (src/neerc/rules.ts). */
const ALLOWED: Record<string, string[]> = {
  todo: ["none", "running", "success", "acknowledged"],
  todofail: ["none", "running", "success", "fail", "acknowledged"],
  confirm: ["none", "success", "acknowledged"],
  okfail: ["none", "success", "fail", "acknowledged"],
  question: ["none", "success"],
};
const PEP_NODES: readonly string[] = [
  NS.buddyProps,
  NS.currentActivity,
  NS.activities,
  NS.activityProps,
  NS.nick,
];
const GONE_CONDITIONS = [
  "recipient-unavailable",
  "service-unavailable",
  "item-not-found",
  "remote-server-not-found",
  "remote-server-timeout",
  "gone",
];
const OTHER_CONDITIONS = [
  "bad-request",
  "forbidden",
  "internal-server-error",
  "not-allowed",
  "undefined-condition",
  "made-up-condition",
];

/** Deterministic stanza stream; see the file comment. */
export class StanzaGenerator {
  readonly #r: Prng;
  readonly #world: FuzzWorld;
  readonly #maxBytes: number;
  readonly #oversizeRate: number;
  readonly #idPrefix: string;
  readonly #taskIds: string[];
  readonly #activityIds: string[];
  readonly #viewIds: string[];
  #index = 0;
  /** Bytes the stanza being built may still spend on big strings. */
  #budget = 0;
  #labels: string[] = [];
  /**
   * This stanza is a valid request (right type, known ids and rooms, values of their types), so
   * that the daemon's deeper paths run too: stores, notifications, result sets, views, calls.
   */
  #valid = false;

  constructor(seed: number, world: FuzzWorld, options: GeneratorOptions = {}) {
    this.#r = new Prng(seed);
    this.#world = world;
    this.#maxBytes = options.maxBytes ?? 200_000;
    this.#oversizeRate = options.oversizeRate ?? 0;
    this.#idPrefix = `fz${(seed >>> 0).toString(36)}-`;
    this.#taskIds = Array.from({ length: 12 }, (_, i) => `t${i}`);
    this.#activityIds = Array.from({ length: 8 }, (_, i) => `act${i}`);
    this.#viewIds = Array.from({ length: 10 }, (_, i) => String(i + 1));
  }

  get maxBytes(): number {
    return this.#maxBytes;
  }

  next(): FuzzStanza {
    const index = this.#index++;
    if (this.#oversizeRate > 0 && this.#r.chance(this.#oversizeRate)) return this.#oversize(index);
    for (let attempt = 0; ; attempt++) {
      this.#labels = [];
      // A first attempt may spend most of the limit; a retry (escaping made it too big) far less.
      this.#budget = attempt === 0 ? this.#maxBytes - 8_192 : 4_096 >> Math.min(attempt, 4);
      const built = this.#stanza(index);
      const bytes = Buffer.byteLength(built.element.toString(), "utf8");
      if (bytes <= this.#maxBytes) {
        return { ...built, index, labels: this.#labels, bytes, oversize: false };
      }
    }
  }

  // ---- stanzas ----

  #stanza(index: number): Omit<FuzzStanza, "index" | "labels" | "bytes" | "oversize"> {
    this.#valid = this.#r.chance(0.3);
    if (this.#valid) this.#label("case:valid");
    const kind = this.#r.weighted<"iq" | "message" | "presence">([
      [58, "iq"],
      [27, "message"],
      [15, "presence"],
    ]);
    if (kind === "iq") return this.#iq(index);
    if (kind === "message") return this.#message(index);
    return this.#presence(index);
  }

  #iq(index: number): Omit<FuzzStanza, "index" | "labels" | "bytes" | "oversize"> {
    const r = this.#r;
    const type = this.#valid
      ? r.pick(["get", "set"])
      : r.weighted<string>([
          [44, "get"],
          [34, "set"],
          [5, "result"],
          [5, "error"],
          [3, ""],
          [4, "invalid"],
        ]);
    const sent =
      type === "invalid"
        ? r.pick(["GET", "Set", "", "foo", "getset", "result ", " get", "\u00e9"])
        : type;
    this.#label(`iq-type:${type === "" ? "none" : type}`);
    const id = this.#id(index);
    const count = this.#valid
      ? 1
      : r.weighted<number>([
          [90, 1],
          [4, 0],
          [6, 2],
        ]);
    this.#label(`iq-children:${count}`);
    const children: Element[] = [];
    let target: Target = "component";
    for (let i = 0; i < count; i++) {
      const payload =
        type === "result" || type === "error" ? this.#resultPayload() : this.#iqPayload(type);
      if (i === 0) target = payload.target;
      children.push(payload.element);
    }
    if (type === "error") children.push(this.#errorElement());
    const attrs: Attrs = { id };
    if (type !== "") attrs.type = sent;
    const to = this.#address(target);
    if (to !== undefined) attrs.to = to;
    this.#stanzaJunk(attrs);
    const element = xml("iq", attrs, ...this.#interleaveText(children));
    const expectsReply = type !== "result" && type !== "error";
    return { element, kind: "iq", type: attrs.type ?? "", expectsReply, id };
  }

  #message(index: number): Omit<FuzzStanza, "index" | "labels" | "bytes" | "oversize"> {
    const r = this.#r;
    const type = this.#valid
      ? r.pick(["", "chat", "normal", "groupchat"])
      : r.weighted<string>([
          [30, ""],
          [20, "chat"],
          [5, "normal"],
          [8, "headline"],
          [8, "groupchat"],
          [10, "error"],
          [4, "invalid"],
        ]);
    this.#label(`msg-type:${type === "" ? "none" : type}`);
    const count = this.#valid
      ? 1
      : r.weighted<number>([
          [70, 1],
          [20, 2],
          [5, 0],
          [5, r.int(3, 6)],
        ]);
    const children: Element[] = [];
    let target: Target = "component";
    for (let i = 0; i < count; i++) {
      const payload = this.#messagePayload(type);
      if (i === 0) target = payload.target;
      children.push(payload.element);
    }
    if (type === "error" && r.chance(0.85)) children.push(this.#errorElement(true));
    const attrs: Attrs = { id: this.#id(index) };
    if (type === "invalid") attrs.type = r.pick(["foo", "", "CHAT", "notice", "chat headline"]);
    else if (type !== "") attrs.type = type;
    const to = this.#address(target);
    if (to !== undefined) attrs.to = to;
    this.#stanzaJunk(attrs);
    const element = xml("message", attrs, ...this.#interleaveText(children));
    return { element, kind: "message", type: attrs.type ?? "", expectsReply: false, id: attrs.id! };
  }

  #presence(index: number): Omit<FuzzStanza, "index" | "labels" | "bytes" | "oversize"> {
    const r = this.#r;
    const type = r.weighted<string>([
      [this.#valid ? 80 : 40, ""],
      [12, "unavailable"],
      [10, "probe"],
      [6, "subscribe"],
      [3, "subscribed"],
      [4, "unsubscribe"],
      [3, "unsubscribed"],
      [5, "error"],
      [4, "invalid"],
    ]);
    this.#label(`pres-type:${type === "" ? "available" : type}`);
    const children: Element[] = [];
    if (r.chance(0.4)) children.push(this.#show());
    if (r.chance(0.2)) children.push(xml("status", {}, this.#text(this.#length())));
    if (r.chance(0.15)) children.push(xml("priority", {}, this.#number(-128, 127)));
    if (r.chance(0.2)) children.push(this.#idle());
    if (r.chance(0.15)) children.push(this.#caps());
    if (r.chance(0.08)) children.push(this.#mucJoin());
    if (r.chance(0.08)) children.push(this.#mucUserPresence());
    if (r.chance(0.05)) children.push(this.#presenceMarker());
    if (r.chance(0.03)) children.push(this.#inCall());
    if (r.chance(0.05)) children.push(this.#randomElement(0));
    if (type === "error" && r.chance(0.85)) children.push(this.#errorElement(true));
    const attrs: Attrs = { id: this.#id(index) };
    if (type === "invalid") attrs.type = r.pick(["invisible", "", "AVAILABLE", "online", "probe "]);
    else if (type !== "") attrs.type = type;
    const target = r.weighted<Target>([
      [45, "component"],
      [type === "probe" ? 45 : 18, "mirror"],
      [6, "mirror-unknown"],
      [10, "node"],
      [8, "neerc-room"],
      [5, "resource"],
      [3, "invalid"],
      [2, "remote"],
    ]);
    const to = this.#address(target);
    if (to !== undefined) attrs.to = to;
    this.#stanzaJunk(attrs);
    const element = xml("presence", attrs, ...this.#interleaveText(this.#shuffle(children)));
    return {
      element,
      kind: "presence",
      type: attrs.type ?? "",
      expectsReply: false,
      id: attrs.id!,
    };
  }

  /** A message far over the server's c2s stanza size limit (the server closes the stream). */
  #oversize(index: number): FuzzStanza {
    this.#labels = ["case:oversize"];
    const length = this.#r.int(300_000, 400_000);
    this.#budget = length;
    const element = xml(
      "message",
      { id: this.#id(index), to: this.#world.componentJid },
      xml("body", {}, this.#exact(length)),
    );
    return {
      index,
      element,
      kind: "message",
      type: "",
      expectsReply: false,
      id: String(element.attrs.id),
      labels: this.#labels,
      bytes: Buffer.byteLength(element.toString(), "utf8"),
      oversize: true,
    };
  }

  // ---- iq payloads ----

  #iqPayload(type: string): Payload {
    const r = this.#r;
    const family = r.weighted<string>([
      [16, "builtin"],
      [24, "neerc"],
      [26, "olpc"],
      [5, "in-call"],
      [this.#valid ? 0 : 14, "other"],
      [this.#valid ? 0 : 8, "random"],
      [this.#valid ? 0 : 7, "misnamed"],
    ]);
    let payload: Payload;
    switch (family) {
      case "builtin":
        payload = this.#builtinPayload();
        break;
      case "neerc":
        payload = this.#neercPayload();
        break;
      case "olpc":
        payload = this.#olpcIqPayload(type);
        break;
      case "in-call":
        payload = { element: this.#inCall(), target: this.#inCallTarget() };
        break;
      case "other":
        payload = this.#otherIqPayload();
        break;
      case "misnamed":
        payload = this.#misnamedPayload();
        break;
      default:
        payload = { element: this.#randomElement(0), target: this.#anyTarget() };
    }
    if (r.chance(0.1)) this.#payloadJunk(payload.element);
    return payload;
  }

  #builtinPayload(): Payload {
    const r = this.#r;
    const which = r.weighted<string>([
      [35, "info"],
      [20, "items"],
      [25, "ping"],
      [20, "version"],
    ]);
    const target = r.weighted<Target>([
      [55, "component"],
      [10, "node"],
      [10, "neerc-room"],
      [10, "mirror"],
      [5, "resource"],
      [4, "mirror-unknown"],
      [3, "invalid"],
      [3, "remote"],
    ]);
    if (which === "ping") return { element: this.#el("ping", NS.ping), target };
    if (which === "version") {
      const query = this.#el("query", NS.version);
      if (r.chance(0.1)) query.append(xml("name", {}, this.#text(this.#length())));
      return { element: query, target };
    }
    const ns = which === "info" ? NS.discoInfo : NS.discoItems;
    const attrs: Attrs = {};
    const node = r.weighted<string>([
      [60, "none"],
      [which === "info" ? 12 : 0, "caps"],
      [20, "random"],
      [8, "empty"],
    ]);
    this.#label(`case:disco-node-${node}`);
    if (node === "caps")
      attrs.node = `${CAPS_NODE}#${r.chance(0.5) ? this.#text(r.int(1, 40)) : ""}`;
    if (node === "random")
      attrs.node = r.pick([NS.activity, "commands", this.#text(this.#length())]);
    if (node === "empty") attrs.node = "";
    const query = this.#el("query", ns, attrs);
    if (r.chance(0.08))
      query.append(xml(r.pick(["identity", "feature", "item"]), this.#randomAttrs()));
    return { element: query, target };
  }

  #neercPayload(): Payload {
    const r = this.#r;
    const target = this.#neercTarget();
    const which = r.weighted<string>([
      [12, "users"],
      [12, "tasks"],
      [40, "task"],
      [24, "taskstatus"],
      [12, "ping"],
    ]);
    switch (which) {
      case "users":
        return { element: this.#neercQuery(NS.neercUsers), target };
      case "tasks":
        return { element: this.#neercQuery(NS.neercTasks), target };
      case "ping":
        return { element: this.#neercQuery(NS.neercPing), target };
      case "task":
        return { element: this.#neercTask(), target };
      default:
        return { element: this.#neercTaskStatus(), target };
    }
  }

  #neercQuery(ns: string): Element {
    const query = this.#el("query", ns);
    if (this.#r.chance(0.1)) {
      this.#label("case:neerc-query-with-children");
      query.append(xml(this.#r.pick(["user", "task", "query"]), this.#randomAttrs()));
    }
    return query;
  }

  #neercTask(): Element {
    const r = this.#r;
    if (this.#valid) return this.#validTask();
    const attrs: Attrs = {};
    const idKind = r.weighted<string>([
      [45, "none"],
      [35, "pool"],
      [3, "empty"],
      [10, "random"],
      [4, "long"],
      [3, "uuid"],
    ]);
    this.#label(`case:neerc-task-id-${idKind}`);
    if (idKind === "pool") attrs.id = r.pick(this.#taskIds);
    else if (idKind === "empty") attrs.id = "";
    else if (idKind === "random") attrs.id = this.#text(r.int(1, 40));
    else if (idKind === "long") attrs.id = this.#exact(r.pick([200, 201, 1_000]));
    else if (idKind === "uuid") attrs.id = "5f0c8e1a-0000-4000-8000-000000000000";

    const typeKind = r.weighted<string>([
      [75, "valid"],
      [12, "remove"],
      [8, "invalid"],
      [5, "missing"],
    ]);
    this.#label(`case:neerc-task-type-${typeKind}`);
    if (typeKind === "valid") attrs.type = r.pick(TASK_TYPES);
    else if (typeKind === "remove") attrs.type = "remove";
    else if (typeKind === "invalid")
      attrs.type = r.pick(["TODO", "", "done", "remove ", "question?", "0"]);

    const title = r.weighted<string>([
      [55, "normal"],
      [4, "empty"],
      [4, "blank"],
      [5, "max"],
      [4, "over-max"],
      [4, "huge"],
      [15, "odd"],
      [6, "missing"],
    ]);
    this.#label(`case:neerc-task-title-${title}`);
    if (title === "normal") attrs.title = this.#plain(r.int(1, 60));
    else if (title === "empty") attrs.title = "";
    else if (title === "blank") attrs.title = r.pick(WHITESPACE);
    else if (title === "max") attrs.title = this.#exact(1_000, r.chance(0.3));
    else if (title === "over-max") attrs.title = this.#exact(1_001);
    else if (title === "huge") attrs.title = this.#big(5_000, 100_000);
    else if (title === "odd") attrs.title = this.#text(r.int(1, 200));

    if (r.chance(0.05)) {
      this.#label("case:neerc-task-extra-attributes");
      attrs.timestamp = r.pick(["abc", "-1", "99999999999999999999", "1795316119138"]);
      if (r.chance(0.5)) attrs[this.#name()] = this.#text(this.#length());
    }
    const task = this.#el("task", NS.neercTask, attrs);
    const statuses = r.weighted<string>([
      [20, "none"],
      [60, "few"],
      [15, "some"],
      [3, "over-limit"],
      [2, "many"],
    ]);
    this.#label(`case:neerc-task-statuses-${statuses}`);
    if (statuses === "few" || statuses === "some") {
      const count = statuses === "few" ? r.int(1, 4) : r.int(5, 30);
      for (let i = 0; i < count; i++) task.append(this.#neercStatus());
    } else if (statuses === "over-limit" && this.#spend(110_000)) {
      // One more than MAX_STATUSES (10,000), as small as a status can be.
      for (let i = 0; i < 10_001; i++) task.append(xml("status"));
    } else if (statuses === "many" && this.#spend(100_000)) {
      const names = this.#statusNames();
      for (let i = 0; i < 2_000; i++)
        task.append(xml("status", { for: r.pick(names), type: "none" }));
    }
    if (r.chance(0.03)) {
      this.#label("case:neerc-task-foreign-child");
      task.append(xml(r.pick(["note", "property", "task"]), this.#randomAttrs()));
    }
    return task;
  }

  /** A task an admin could send: create, edit or remove, statuses that fit the task's type. */
  #validTask(): Element {
    const r = this.#r;
    const id = r.chance(0.5) ? r.pick(this.#taskIds) : undefined;
    if (id !== undefined && r.chance(0.15)) {
      this.#label("case:neerc-valid-remove");
      return this.#el("task", NS.neercTask, { id, type: "remove" });
    }
    this.#label(`case:neerc-valid-${id === undefined ? "create" : "edit"}`);
    const type = r.pick(TASK_TYPES);
    const attrs: Attrs = { type, title: this.#plain(r.int(1, 40)) };
    if (id !== undefined) attrs.id = id;
    const task = this.#el("task", NS.neercTask, attrs);
    const names = this.#statusNames();
    for (let i = r.int(0, 4); i > 0; i--) {
      const status: Attrs = { for: r.pick(names), type: r.pick(ALLOWED[type]!) };
      if (type === "question" && status.type === "success") status.value = this.#plain(10);
      else if (status.type === "fail" && r.chance(0.5)) status.value = this.#text(20);
      task.append(xml("status", status));
    }
    return task;
  }

  #statusNames(): string[] {
    const locals = this.#world.users.map((user) => user.split("@")[0]!);
    return [...locals, "Admins", "Users", ...(this.#world.groups ?? [])];
  }

  #neercStatus(): Element {
    const r = this.#r;
    const attrs: Attrs = {};
    const forKind = r.weighted<string>([
      [60, "user"],
      [15, "group"],
      [10, "unknown"],
      [5, "missing"],
      [3, "empty"],
      [2, "long"],
      [5, "jid"],
    ]);
    this.#label(`case:neerc-status-for-${forKind}`);
    const locals = this.#world.users.map((user) => user.split("@")[0]!);
    if (forKind === "user") attrs.for = r.pick(locals);
    else if (forKind === "group")
      attrs.for = r.pick(["Admins", "Users", ...(this.#world.groups ?? [])]);
    else if (forKind === "unknown") attrs.for = this.#text(r.int(1, 20));
    else if (forKind === "empty") attrs.for = "";
    else if (forKind === "long") attrs.for = this.#exact(201);
    else if (forKind === "jid") attrs.for = this.#jidValue();
    const type = r.weighted<string>([
      [75, "valid"],
      [10, "missing"],
      [15, "invalid"],
    ]);
    if (type === "valid") attrs.type = r.pick(STATUS_TYPES);
    else if (type === "invalid") attrs.type = r.pick(["done", "", "SUCCESS", "remove", "running "]);
    const value = this.#statusValue();
    if (value !== undefined) attrs.value = value;
    return xml("status", attrs);
  }

  #statusValue(): string | undefined {
    const r = this.#r;
    const kind = r.weighted<string>([
      [60, "none"],
      [30, "short"],
      [3, "max"],
      [3, "over-max"],
      [2, "huge"],
      [2, "blank"],
    ]);
    this.#label(`case:neerc-value-${kind}`);
    if (kind === "short") return this.#text(r.int(1, 50));
    if (kind === "max") return this.#exact(4_000);
    if (kind === "over-max") return this.#exact(4_001);
    if (kind === "huge") return this.#big(10_000, 100_000);
    if (kind === "blank") return r.pick(WHITESPACE);
    return undefined;
  }

  #neercTaskStatus(): Element {
    const r = this.#r;
    if (this.#valid) {
      this.#label("case:neerc-valid-taskstatus");
      const type = r.pick(STATUS_TYPES);
      const valid: Attrs = { id: r.pick(this.#taskIds), type };
      if (type === "success" || type === "fail") valid.value = this.#plain(r.int(1, 12));
      return this.#el("taskstatus", NS.neercTaskStatus, valid);
    }
    const attrs: Attrs = {};
    const id = r.weighted<string>([
      [70, "pool"],
      [15, "random"],
      [8, "missing"],
      [3, "empty"],
      [4, "long"],
    ]);
    this.#label(`case:neerc-taskstatus-id-${id}`);
    if (id === "pool") attrs.id = r.pick(this.#taskIds);
    else if (id === "random") attrs.id = this.#text(r.int(1, 40));
    else if (id === "empty") attrs.id = "";
    else if (id === "long") attrs.id = this.#exact(r.pick([200, 201]));
    const type = r.weighted<string>([
      [70, "valid"],
      [15, "invalid"],
      [15, "missing"],
    ]);
    if (type === "valid") attrs.type = r.pick(STATUS_TYPES);
    else if (type === "invalid") attrs.type = r.pick(["done", "", "FAIL", "none "]);
    const value = this.#statusValue();
    if (value !== undefined) attrs.value = value;
    return this.#el("taskstatus", NS.neercTaskStatus, attrs);
  }

  #olpcIqPayload(type: string): Payload {
    const r = this.#r;
    const which = r.weighted<string>([
      [9, "activity-query"],
      [5, "activity-view"],
      [4, "buddy-query"],
      [2, "bare-buddy"],
      [3, "buddy-view"],
      [type === "set" ? 4 : 1, "buddy-properties"],
      [type === "set" ? 2 : 1, "current-activity"],
    ]);
    const target = r.weighted<Target>([
      [85, "component"],
      [5, "node"],
      [5, "resource"],
      [5, "mirror"],
    ]);
    let element: Element;
    switch (which) {
      case "activity-query":
        element = this.#activityQuery();
        break;
      case "activity-view":
        element = this.#view(NS.activity, "activity");
        break;
      case "buddy-query":
        element = this.#buddyQuery();
        break;
      case "bare-buddy":
        element = this.#buddyCriteria(NS.buddy);
        this.#label("case:olpc-bare-buddy");
        break;
      case "buddy-view":
        element = this.#view(NS.buddy, "buddy");
        break;
      case "buddy-properties":
        element = this.#properties(NS.buddyProps, {});
        break;
      default:
        element = this.#currentActivity();
    }
    return { element, target };
  }

  #activityQuery(): Element {
    const r = this.#r;
    const query = this.#el("query", NS.activity);
    const parts: Element[] = [];
    if (r.chance(0.75)) parts.push(this.#activityCriteria());
    if (r.chance(0.5)) parts.push(this.#rsmSet());
    if (!this.#valid && r.chance(0.06)) {
      this.#label("case:olpc-query-extra-child");
      parts.push(r.chance(0.5) ? this.#activityCriteria() : this.#rsmSet());
    }
    if (!this.#valid && r.chance(0.04)) parts.push(xml("foo", this.#randomAttrs()));
    for (const part of this.#shuffle(parts)) query.append(part);
    return query;
  }

  #activityCriteria(): Element {
    const r = this.#r;
    if (this.#valid) {
      const activity = xml("activity", r.chance(0.2) ? { id: this.#activityId() } : {});
      if (r.chance(0.5)) activity.append(this.#properties(NS.activityProps, {}));
      if (r.chance(0.2)) activity.append(xml("buddy", { jid: r.pick(this.#world.users) }));
      return activity;
    }
    const attrs: Attrs = {};
    if (r.chance(0.3)) attrs.id = this.#activityId();
    const activity = xml("activity", attrs);
    const style = r.weighted<string>([
      [35, "none"],
      [35, "direct"],
      [20, "wrapper"],
      [5, "both"],
      [5, "two-wrappers"],
    ]);
    this.#label(`case:olpc-criteria-${style}`);
    if (style === "direct" || style === "both") {
      for (const property of this.#propertyList()) activity.append(property);
    }
    if (style === "wrapper" || style === "both" || style === "two-wrappers") {
      activity.append(this.#properties(r.chance(0.9) ? NS.activityProps : NS.buddyProps, {}));
    }
    if (style === "two-wrappers") activity.append(this.#properties(NS.activityProps, {}));
    if (r.chance(0.3)) {
      const count = r.weighted<number>([
        [80, r.int(1, 3)],
        [15, r.int(4, 32)],
        [5, 33],
      ]);
      for (let i = 0; i < count; i++) activity.append(xml("buddy", this.#jidAttr("jid")));
    }
    if (r.chance(0.04)) activity.append(xml("unexpected", this.#randomAttrs()));
    return activity;
  }

  #buddyQuery(): Element {
    const r = this.#r;
    const query = this.#el("query", NS.buddy);
    if (r.chance(0.7)) query.append(this.#buddyCriteria());
    if (r.chance(0.5)) query.append(this.#rsmSet());
    if (r.chance(0.05)) query.append(this.#buddyCriteria());
    return query;
  }

  #buddyCriteria(xmlns?: string): Element {
    const r = this.#r;
    const attrs: Attrs = xmlns ? { xmlns } : {};
    if (this.#valid) {
      if (xmlns !== undefined || r.chance(0.5)) attrs.jid = r.pick(this.#world.users);
      const buddy = xml("buddy", attrs);
      if (r.chance(0.4)) buddy.append(this.#properties(NS.buddyProps, {}));
      return buddy;
    }
    if (r.chance(0.5)) Object.assign(attrs, this.#jidAttr("jid"));
    if (r.chance(0.3)) {
      attrs.alias = this.#choose<string>([
        [70, () => this.#text(r.int(1, 12))],
        [10, () => ""],
        [10, () => " "],
        [10, () => this.#exact(r.pick([256, 257]))],
      ]);
    }
    const buddy = xml("buddy", attrs);
    const style = r.weighted<string>([
      [50, "none"],
      [25, "wrapper"],
      [20, "direct"],
      [5, "foreign"],
    ]);
    if (style === "wrapper") buddy.append(this.#properties(NS.buddyProps, {}));
    if (style === "direct") for (const property of this.#propertyList()) buddy.append(property);
    if (style === "foreign") buddy.append(xml("activity", this.#randomAttrs()));
    return buddy;
  }

  #view(ns: string, criteriaName: "activity" | "buddy"): Element {
    const r = this.#r;
    if (this.#valid) {
      this.#label("case:olpc-view-valid");
      const view = this.#el("view", ns, { id: r.pick(this.#viewIds), size: String(r.int(1, 20)) });
      if (r.chance(0.8)) {
        view.append(criteriaName === "activity" ? this.#activityCriteria() : this.#buddyCriteria());
      }
      return view;
    }
    const attrs: Attrs = {};
    const id = r.weighted<string>([
      [75, "pool"],
      [8, "random"],
      [5, "missing"],
      [4, "empty"],
      [4, "max"],
      [4, "over-max"],
    ]);
    this.#label(`case:olpc-view-id-${id}`);
    if (id === "pool") attrs.id = r.pick(this.#viewIds);
    else if (id === "random") attrs.id = this.#text(r.int(1, 30));
    else if (id === "empty") attrs.id = "";
    else if (id === "max") attrs.id = this.#exact(256);
    else if (id === "over-max") attrs.id = this.#exact(257);
    const size = r.weighted<string>([
      [50, "plausible"],
      [15, "missing"],
      [35, "silly"],
    ]);
    this.#label(`case:olpc-view-size-${size}`);
    if (size === "plausible") attrs.size = String(r.int(1, 20));
    else if (size === "silly") attrs.size = this.#sillyNumber();
    const view = this.#el("view", ns, attrs);
    const child = r.weighted<string>([
      [60, "criteria"],
      [15, "none"],
      [12, "random"],
      [5, "two"],
      [8, "foreign"],
    ]);
    if (child === "criteria") {
      view.append(criteriaName === "activity" ? this.#activityCriteria() : this.#buddyCriteria());
    } else if (child === "random") {
      const random = xml("random", r.chance(0.7) ? { max: this.#sillyNumber() } : {});
      view.append(random);
    } else if (child === "two") {
      view.append(xml(criteriaName), xml(criteriaName));
    } else if (child === "foreign") {
      view.append(r.chance(0.5) ? this.#rsmSet() : xml("properties", { xmlns: NS.activityProps }));
    }
    return view;
  }

  #currentActivity(): Element {
    const r = this.#r;
    const attrs: Attrs = {};
    if (r.chance(0.8)) attrs.type = r.chance(0.8) ? this.#activityId() : "";
    if (r.chance(0.1)) attrs.id = this.#activityId();
    if (r.chance(0.8)) Object.assign(attrs, this.#roomAttr());
    this.#label("case:olpc-current-activity");
    return this.#el("activity", NS.currentActivity, attrs);
  }

  #inCall(): Element {
    const r = this.#r;
    if (this.#valid) {
      this.#label("case:in-call-valid");
      const valid: Attrs = { room: this.#realRoomJid() };
      if (r.chance(0.2)) valid.active = "false";
      return this.#el("in-call", NS.inCall, valid);
    }
    const attrs: Attrs = {};
    const room = r.weighted<string>([
      [45, "real"],
      [10, "activity-key"],
      [15, "random"],
      [8, "missing"],
      [5, "empty"],
      [12, "jid-ish"],
      [5, "huge"],
    ]);
    this.#label(`case:in-call-room-${room}`);
    if (room === "real") attrs.room = this.#realRoomJid();
    else if (room === "activity-key") attrs.room = `olpc activity ${this.#activityId()}`;
    else if (room === "random") attrs.room = this.#text(r.int(1, 40));
    else if (room === "empty") attrs.room = "";
    else if (room === "jid-ish") attrs.room = this.#jidValue();
    else if (room === "huge") attrs.room = this.#big(1_000, 100_000);
    if (r.chance(0.35)) attrs.active = r.pick(["false", "true", "FALSE", "0", ""]);
    return this.#el("in-call", NS.inCall, attrs);
  }

  #otherIqPayload(): Payload {
    const r = this.#r;
    const which = r.weighted<string>([
      [3, "muc-admin"],
      [3, "muc-owner"],
      [4, "pubsub"],
      [2, "rsm"],
      [1, "roster"],
      [1, "vcard"],
      [1, "time"],
      [1, "presence-ns"],
      [1, "data"],
    ]);
    const target = this.#anyTarget();
    switch (which) {
      case "muc-admin": {
        const query = this.#el("query", NS.mucAdmin);
        const item: Attrs = {
          affiliation: r.pick(["owner", "admin", "member", "none", "outcast", "king"]),
        };
        if (r.chance(0.5)) Object.assign(item, this.#jidAttr("jid"));
        if (r.chance(0.3)) item.role = r.pick(["moderator", "participant", "visitor", "none"]);
        query.append(xml("item", item));
        return { element: query, target };
      }
      case "muc-owner": {
        const query = this.#el("query", NS.mucOwner);
        if (r.chance(0.5)) {
          query.append(
            xml(
              "x",
              { xmlns: NS.data, type: r.pick(["submit", "cancel", "form"]) },
              xml("field", { var: "FORM_TYPE" }, xml("value", {}, `${NS.muc}#roomconfig`)),
            ),
          );
        } else if (r.chance(0.3)) {
          query.append(xml("destroy", this.#jidAttr("jid"), xml("reason", {}, this.#text(20))));
        }
        return { element: query, target };
      }
      case "pubsub": {
        const pubsub = this.#el("pubsub", NS.pubsub);
        const node = r.chance(0.8) ? r.pick(PEP_NODES) : this.#text(r.int(1, 30));
        if (r.chance(0.5)) pubsub.append(xml("items", { node }));
        else pubsub.append(xml("publish", { node }, xml("item", {}, this.#pepPayload(node))));
        return { element: pubsub, target };
      }
      case "rsm":
        this.#label("case:rsm-top-level");
        return { element: this.#rsmSet(), target };
      case "roster":
        return { element: this.#el("query", NS.roster), target };
      case "vcard":
        return { element: this.#el("vCard", NS.vcard), target };
      case "time":
        return { element: this.#el("time", NS.time), target };
      case "presence-ns":
        return { element: this.#presenceMarker(), target };
      default:
        return { element: this.#el("x", NS.data, { type: "submit" }), target };
    }
  }

  /** Right names in the wrong namespace, right namespaces with the wrong name, no namespace. */
  #misnamedPayload(): Payload {
    const r = this.#r;
    this.#label("case:misnamed");
    const name = r.pick([
      "query",
      "task",
      "taskstatus",
      "view",
      "buddy",
      "ping",
      "in-call",
      "properties",
      "activity",
      "tasks",
      "users",
    ]);
    const ns = r.pick<string | undefined>([
      undefined,
      NS.neercTasks,
      NS.neercTask,
      NS.activity,
      NS.buddy,
      NS.inCall,
      NS.ping,
      NS.discoInfo,
      "http://neerc.ifmo.ru/protocol/neerc",
      `${NS.activity}/`,
      NS.neercTask.toUpperCase(),
    ]);
    const element = xml(name, ns === undefined ? {} : { xmlns: ns });
    if (r.chance(0.3)) element.append(this.#randomElement(1));
    return { element, target: this.#anyTarget() };
  }

  /** The child of an iq result or error someone sends the component unasked. */
  #resultPayload(): Payload {
    const r = this.#r;
    const element = r.weighted<() => Element>([
      [3, () => this.#el("query", NS.discoInfo)],
      [2, () => this.#el("ping", NS.ping)],
      [
        2,
        () =>
          this.#el(
            "query",
            NS.mucAdmin,
            {},
            xml("item", { affiliation: "owner", jid: this.#world.users[0] ?? "a@b" }),
          ),
      ],
      [2, () => this.#neercQuery(NS.neercTasks)],
      [1, () => this.#randomElement(0)],
    ])();
    return { element, target: this.#anyTarget() };
  }

  // ---- message payloads ----

  #messagePayload(type: string): Payload {
    const r = this.#r;
    const odd = this.#valid ? 0 : 1;
    const which = r.weighted<string>([
      [12, "activity-properties"],
      [6, "buddy-properties"],
      [8, "membership"],
      [6, "close"],
      [10, "pep"],
      [2 * odd, "uninvite"],
      [5 * odd, "invite"],
      [12, "in-call"],
      [6, "body"],
      [2, "chat-state"],
      [6 * odd, "random"],
      [2 * odd, "neerc"],
      [1 * odd, "presence-ns"],
      [2 * odd, "deep"],
      [1 * odd, "amp"],
      [1 * odd, "delay"],
    ]);
    const target: Target = r.weighted<Target>([
      [62, "component"],
      [10 * odd, "node"],
      [8 * odd, "neerc-room"],
      [7 * odd, "mirror"],
      [5 * odd, "resource"],
      [3 * odd, "invalid"],
      [3 * odd, "remote"],
      [2 * odd, "none"],
    ]);
    let element: Element;
    switch (which) {
      case "activity-properties": {
        const attrs: Attrs = {};
        if (r.chance(0.9)) attrs.activity = this.#activityId();
        if (r.chance(type === "groupchat" ? 0.4 : 0.85)) Object.assign(attrs, this.#roomAttr());
        element = this.#properties(NS.activityProps, attrs);
        break;
      }
      case "buddy-properties":
        element = this.#properties(NS.buddyProps, {});
        break;
      case "membership":
        element = this.#membership();
        break;
      case "close": {
        const attrs: Attrs = {};
        if (r.chance(0.9))
          attrs.id = r.chance(0.8) ? r.pick(this.#viewIds) : this.#text(r.int(0, 300));
        element = this.#el("close", r.chance(0.6) ? NS.activity : NS.buddy, attrs);
        this.#label("case:olpc-close");
        break;
      }
      case "pep":
        element = this.#pepEvent();
        break;
      case "uninvite": {
        const attrs: Attrs = {};
        if (r.chance(0.8)) attrs.id = this.#activityId();
        if (r.chance(0.8)) Object.assign(attrs, this.#roomAttr());
        element = this.#el("uninvite", NS.activityProps, attrs);
        break;
      }
      case "invite":
        element = this.#mucInvite();
        break;
      case "in-call":
        element = this.#inCall();
        break;
      case "body":
        element = xml("body", {}, this.#text(this.#length()));
        this.#label("case:body");
        break;
      case "chat-state":
        element = this.#el(r.pick(["active", "composing", "gone"]), NS.chatStates);
        break;
      case "neerc": {
        this.#label("case:neerc-spoofed-notification");
        element = this.#el("x", NS.neercTasks, {}, this.#neercTask());
        break;
      }
      case "presence-ns":
        element = this.#presenceMarker();
        break;
      case "deep":
        element = this.#deep();
        break;
      case "amp":
        element = this.#el(
          "amp",
          NS.amp,
          {},
          xml("rule", {
            condition: "deliver-at",
            value: "stored",
            action: r.pick(["error", "drop", "alert"]),
          }),
        );
        break;
      case "delay":
        element = this.#el("delay", NS.delay, {
          stamp: r.pick(["2002-09-10T23:08:25Z", "yesterday", ""]),
        });
        break;
      default:
        element = this.#randomElement(0);
    }
    if (r.chance(0.08)) this.#payloadJunk(element);
    return { element, target };
  }

  #membership(): Element {
    const r = this.#r;
    if (this.#valid) {
      this.#label("case:olpc-membership-valid");
      const change = r.chance(0.6) ? "joined" : "left";
      return this.#el("activity", NS.activity, { activity: this.#activityId() }, xml(change));
    }
    const attrs: Attrs = {};
    const ref = r.weighted<string>([
      [45, "activity"],
      [15, "id"],
      [20, "room"],
      [10, "both"],
      [10, "none"],
    ]);
    this.#label(`case:olpc-membership-${ref}`);
    if (ref === "activity" || ref === "both") attrs.activity = this.#activityId();
    if (ref === "id") attrs.id = this.#activityId();
    if (ref === "room" || ref === "both") Object.assign(attrs, this.#roomAttr());
    const activity = this.#el("activity", NS.activity, attrs);
    const children = r.weighted<string>([
      [45, "joined"],
      [35, "left"],
      [8, "both"],
      [6, "none"],
      [6, "foreign"],
    ]);
    if (children === "joined" || children === "both") {
      activity.append(xml("joined", r.chance(0.3) ? this.#jidAttr("jid") : {}));
    }
    if (children === "left" || children === "both") activity.append(xml("left"));
    if (children === "foreign") activity.append(xml("closed"));
    return activity;
  }

  #pepEvent(): Element {
    const r = this.#r;
    const event = this.#el("event", NS.pubsubEvent);
    const count = r.weighted<number>([
      [85, 1],
      [10, 2],
      [5, 0],
    ]);
    for (let i = 0; i < count; i++) {
      const node = this.#choose<string>([
        [90, () => r.pick(PEP_NODES)],
        [5, () => this.#text(r.int(1, 30))],
        [5, () => ""],
      ]);
      this.#label(`case:pep-${PEP_NODES.includes(node) ? node : "unknown-node"}`);
      const shape = r.weighted<string>([
        [70, "items"],
        [8, "retract"],
        [6, "purge"],
        [6, "delete"],
        [5, "no-node"],
        [5, "empty-item"],
      ]);
      if (
        shape === "items" ||
        shape === "retract" ||
        shape === "empty-item" ||
        shape === "no-node"
      ) {
        const items = xml("items", shape === "no-node" ? {} : { node });
        if (shape === "items") items.append(xml("item", { id: "current" }, this.#pepPayload(node)));
        if (shape === "retract") items.append(xml("retract", { id: "current" }));
        if (shape === "empty-item") items.append(xml("item", { id: "current" }));
        if (r.chance(0.05)) items.append(xml("item", {}, this.#pepPayload(node)));
        event.append(items);
      } else {
        event.append(xml(shape, { node }));
      }
    }
    return event;
  }

  #pepPayload(node: string): Element {
    const r = this.#r;
    // Now and then the wrong payload for the node.
    const as = r.chance(0.9) ? node : r.pick(PEP_NODES);
    switch (as) {
      case NS.buddyProps:
        return this.#properties(NS.buddyProps, {});
      case NS.currentActivity:
        return this.#currentActivity();
      case NS.activities: {
        const list = this.#el("activities", NS.activities);
        const count = r.weighted<number>([
          [80, r.int(0, 4)],
          [15, r.int(5, 64)],
          [5, 65],
        ]);
        for (let i = 0; i < count; i++) {
          const attrs: Attrs = {};
          if (r.chance(0.9)) attrs.type = this.#activityId();
          if (r.chance(0.9)) Object.assign(attrs, this.#roomAttr());
          list.append(xml(r.chance(0.97) ? "activity" : "properties", attrs));
        }
        return list;
      }
      case NS.activityProps: {
        const list = this.#el("activities", NS.activityProps);
        const count = r.weighted<number>([
          [85, r.int(0, 3)],
          [15, r.int(4, 10)],
        ]);
        for (let i = 0; i < count; i++) {
          const attrs: Attrs = {};
          if (r.chance(0.9)) attrs.activity = this.#activityId();
          if (r.chance(0.9)) Object.assign(attrs, this.#roomAttr());
          list.append(this.#properties(undefined, attrs));
        }
        return list;
      }
      case NS.nick:
        return this.#el(
          "nick",
          NS.nick,
          {},
          r.chance(0.95)
            ? this.#text(r.chance(0.8) ? r.int(0, 20) : r.pick([256, 257, 5_000]))
            : xml("b"),
        );
      default:
        return this.#randomElement(1);
    }
  }

  #mucInvite(): Element {
    const r = this.#r;
    this.#label("case:muc-invite");
    const x = this.#el("x", NS.mucUser);
    if (r.chance(0.9)) {
      const attrs: Attrs = {};
      if (r.chance(0.6)) Object.assign(attrs, this.#jidAttr("from"));
      if (r.chance(0.2)) Object.assign(attrs, this.#jidAttr("to"));
      const invite = xml("invite", attrs);
      if (r.chance(0.5)) {
        invite.append(
          xml("reason", {}, ...(r.chance(0.9) ? [this.#text(this.#length())] : [xml("b")])),
        );
      }
      x.append(invite);
    }
    if (r.chance(0.3)) x.append(xml("password", {}, this.#text(r.int(0, 40))));
    if (r.chance(0.1)) x.append(xml("decline", {}, xml("reason", {}, "no")));
    return x;
  }

  // ---- presence payloads ----

  #show(): Element {
    const r = this.#r;
    const valid = r.chance(0.8);
    this.#label(`case:show-${valid ? "valid" : "invalid"}`);
    return xml(
      "show",
      {},
      valid
        ? r.pick(["chat", "away", "xa", "dnd"])
        : r.pick(["online", "", " away ", "DND", "busy", this.#text(30)]),
    );
  }

  #idle(): Element {
    const r = this.#r;
    const since = r.weighted<string | undefined>([
      [60, "2024-01-01T12:00:00Z"],
      [15, undefined],
      [10, "99999-12-31T23:59:59Z"],
      [10, "not a date"],
      [5, ""],
    ]);
    this.#label("case:idle");
    return this.#el("idle", NS.idle, since === undefined ? {} : { since });
  }

  #caps(): Element {
    const r = this.#r;
    return this.#el("c", NS.caps, {
      hash: r.pick(["sha-1", "sha-256", "md5", ""]),
      node: r.pick(["http://gajim.org", "urn:concierge:caps", this.#text(20)]),
      ver: r.chance(0.8) ? "QgayPKawpkPSDYmwT/WM94uAlu0=" : this.#text(this.#length()),
    });
  }

  #mucJoin(): Element {
    const x = this.#el("x", NS.muc);
    if (this.#r.chance(0.4)) x.append(xml("password", {}, this.#text(16)));
    if (this.#r.chance(0.2)) x.append(xml("history", { maxstanzas: this.#sillyNumber() }));
    return x;
  }

  #mucUserPresence(): Element {
    const r = this.#r;
    this.#label("case:muc-user-presence");
    const x = this.#el("x", NS.mucUser);
    const item: Attrs = {
      affiliation: r.pick(["owner", "admin", "member", "none", "outcast"]),
      role: r.pick(["moderator", "participant", "visitor", "none"]),
    };
    if (r.chance(0.7)) Object.assign(item, this.#jidAttr("jid", true));
    x.append(xml("item", item));
    if (r.chance(0.3)) x.append(xml("status", { code: r.pick(["110", "100", "201", "307", "x"]) }));
    return x;
  }

  #presenceMarker(): Element {
    const r = this.#r;
    const attrs: Attrs = {};
    if (r.chance(0.7)) Object.assign(attrs, this.#jidAttr("jid"));
    if (r.chance(0.6))
      attrs.show = r.pick(["online", "offline", "away", "dnd", "xa", "chat", "bogus"]);
    if (r.chance(0.3)) attrs.self = r.pick(["true", "false", "yes"]);
    return this.#el("x", NS.presence, attrs);
  }

  // ---- shared pieces ----

  /** `<properties xmlns>` with typed properties, often wrong (see #property). */
  #properties(xmlns: string | undefined, attrs: Attrs): Element {
    if (xmlns !== undefined) this.#label(`ns:${xmlns}`);
    const element = xml("properties", xmlns === undefined ? attrs : { xmlns, ...attrs });
    for (const property of this.#propertyList()) element.append(property);
    if (!this.#valid && this.#r.chance(0.03)) {
      this.#label("case:olpc-properties-foreign-child");
      element.append(xml("value", {}, "x"));
    }
    return element;
  }

  #propertyList(): Element[] {
    const r = this.#r;
    if (this.#valid) {
      const names = ["type", "name", "color", "tags", "private", "title"];
      return this.#shuffle(names)
        .slice(0, r.int(0, 3))
        .map((name) => this.#property(name));
    }
    const shape = r.weighted<string>([
      [20, "empty"],
      [60, "few"],
      [8, "duplicates"],
      [5, "over-count"],
      [1, "maxed"],
      [3, "many-small"],
    ]);
    this.#label(`case:olpc-properties-${shape}`);
    const list: Element[] = [];
    if (shape === "few") {
      for (let i = r.int(1, 5); i > 0; i--) list.push(this.#property());
    } else if (shape === "duplicates") {
      const name = this.#propertyName();
      list.push(this.#property(name), this.#property(name));
    } else if (shape === "over-count") {
      for (let i = 0; i < 33; i++) list.push(xml("property", { type: "str", name: `p${i}` }, "x"));
    } else if (shape === "maxed") {
      // As large as the default limits let one property set be: 32 values of 4,096 bytes.
      const size = this.#spend(32 * 4_200) ? 4_096 : 64;
      for (let i = 0; i < 32; i++) {
        list.push(xml("property", { type: "str", name: `big${i}` }, this.#exact(size)));
      }
    } else if (shape === "many-small") {
      for (let i = 0; i < 32; i++) list.push(this.#property(`n${i}`));
    }
    return list;
  }

  #propertyName(): string {
    const r = this.#r;
    return this.#choose<string>([
      [
        60,
        () =>
          r.pick([
            "type",
            "name",
            "color",
            "tags",
            "private",
            "nick",
            "key",
            "ip4-address",
            "title",
            "x",
          ]),
      ],
      [25, () => this.#text(r.int(1, 20))],
      [5, () => this.#exact(256)],
      [5, () => this.#exact(257)],
      [5, () => this.#big(300, 3_000)],
    ]);
  }

  /** One `<property type name>value</property>`, of a valid or a wrong type. */
  #property(name = this.#propertyName()): Element {
    const r = this.#r;
    const kind = r.weighted<string>([
      [this.#valid ? 10_000 : 50, "valid"],
      [20, "wrong-value"],
      [8, "unknown-type"],
      [5, "missing-type"],
      [5, "missing-name"],
      [3, "empty-name"],
      [4, "element-content"],
      [5, "over-long"],
    ]);
    this.#label(`case:olpc-property-${kind}`);
    const type = r.pick(PROPERTY_TYPES);
    const attrs: Attrs = {};
    if (kind === "unknown-type")
      attrs.type = r.pick(["float", "", "STR", "string", "int32", "bytes "]);
    else if (kind !== "missing-type") attrs.type = type;
    if (kind === "empty-name") attrs.name = "";
    else if (kind !== "missing-name") attrs.name = name;
    let value: string | Element;
    if (kind === "valid") value = this.#validValue(type);
    else if (kind === "wrong-value") value = this.#wrongValue(type);
    else if (kind === "element-content") value = xml("b", {}, "x");
    else if (kind === "over-long") value = this.#exact(r.pick([4_096, 4_097, 10_000]));
    else value = this.#text(r.int(0, 20));
    return xml("property", attrs, value);
  }

  #validValue(type: string): string {
    const r = this.#r;
    switch (type) {
      case "int":
        return r.pick(["0", "-1", "42", "2147483647", "-2147483648", " 7 ", "+5", "-0", "007"]);
      case "uint":
        return r.pick(["0", "1", "4294967295", "+3", "\n12\n"]);
      case "bool":
        return r.pick(["1", "0", "true", "false", " true "]);
      case "bytes":
        return r.pick(["", "YWJj", "YQ==", "YWI=", "AAEC AwQF", "/+8="]);
      default:
        return r.chance(0.9)
          ? this.#text(this.#length())
          : r.pick(["org.laptop.Connect", "org.laptop.Paint", "#005FE4,#00A0FF"]);
    }
  }

  #wrongValue(type: string): string {
    const r = this.#r;
    switch (type) {
      case "int":
        return r.pick([
          "abc",
          "2147483648",
          "-2147483649",
          "1e3",
          "0x10",
          "1.5",
          "",
          "- 1",
          "99999999999999999999",
          "١٢",
        ]);
      case "uint":
        return r.pick(["-1", "4294967296", "abc", "1.0", "", "+-1"]);
      case "bool":
        return r.pick(["yes", "TRUE", "2", "", "no", "on"]);
      case "bytes":
        return r.pick(["!!!", "abc", "YQ", "YQ===", "====", "Y=Q=", "é"]);
      default:
        return this.#text(this.#length());
    }
  }

  /** A `<set xmlns=rsm>`, plausible or junk. */
  #rsmSet(): Element {
    const r = this.#r;
    const set = this.#el("set", NS.rsm);
    const junk = !this.#valid && r.chance(0.45);
    this.#label(`case:rsm-${junk ? "junk" : "plausible"}`);
    if (!junk) {
      if (r.chance(0.8)) set.append(xml("max", {}, String(r.int(0, 60))));
      const position = r.weighted<string>([
        [40, "none"],
        [20, "after"],
        [15, "before"],
        [10, "before-empty"],
        [15, "index"],
      ]);
      if (position === "after") set.append(xml("after", {}, this.#uid()));
      if (position === "before") set.append(xml("before", {}, this.#uid()));
      if (position === "before-empty") set.append(xml("before"));
      if (position === "index") set.append(xml("index", {}, String(r.int(0, 300))));
      return set;
    }
    const parts: Element[] = [];
    for (let i = r.int(1, 4); i > 0; i--) {
      const part = r.weighted<() => Element>([
        [5, () => xml("max", {}, this.#sillyNumber())],
        [3, () => xml("index", {}, this.#sillyNumber())],
        [3, () => xml("after", {}, r.chance(0.3) ? "" : this.#uid())],
        [3, () => xml("before", {}, this.#uid())],
        [1, () => xml("count", {}, "5")],
        [1, () => xml("first", { index: "0" }, "act0")],
        [1, () => xml("max", {}, xml("b", {}, "3"))],
        [1, () => xml("max", { xmlns: "urn:fuzz:other" }, "3")],
        [1, () => xml(this.#name(), {}, this.#text(5))],
      ])();
      parts.push(part);
    }
    for (const part of parts) set.append(part);
    return set;
  }

  #uid(): string {
    const r = this.#r;
    return this.#choose<string>([
      [40, () => this.#activityId()],
      [25, () => r.pick(this.#world.users)],
      [20, () => this.#text(r.int(1, 20))],
      [15, () => "unknown-uid"],
    ]);
  }

  /** Numbers as clients get them wrong: negative, huge, fractional, not numbers at all. */
  #sillyNumber(): string {
    return this.#r.pick([
      "-1",
      "0",
      "1",
      "101",
      "10000",
      "2147483648",
      "99999999999999999999",
      "1e9",
      "abc",
      "",
      " 5 ",
      "5.5",
      "+3",
      "0x10",
      "٣",
      "9".repeat(400),
      "-0",
      "Infinity",
      "NaN",
    ]);
  }

  #number(min: number, max: number): string {
    const r = this.#r;
    return r.chance(0.7) ? String(r.int(min, max)) : this.#sillyNumber();
  }

  #activityId(): string {
    const r = this.#r;
    if (this.#valid) return r.pick(this.#activityIds);
    return this.#choose<string>([
      [80, () => r.pick(this.#activityIds)],
      [10, () => this.#text(r.int(1, 20))],
      [4, () => this.#exact(256)],
      [3, () => this.#exact(257)],
      [3, () => ""],
    ]);
  }

  /** `room=` for an activity: its room at the MUC service, or some other (maybe invalid) JID. */
  #roomAttr(): Attrs {
    const r = this.#r;
    if (this.#valid || r.chance(0.65))
      return { room: `${r.pick(this.#activityIds)}@${this.#world.mucDomain}` };
    this.#label("case:bad-jid-attribute");
    return { room: this.#jidValue() };
  }

  /** A room JID that exists or means something to the daemon. */
  #realRoomJid(): string {
    const r = this.#r;
    const { neercRooms, otherRooms = [], extraRooms = [], mucDomain } = this.#world;
    return this.#choose<string>([
      [40, () => `${r.pick(neercRooms)}@${mucDomain}`],
      [25, () => `${r.pick(this.#activityIds)}@${mucDomain}`],
      [extraRooms.length > 0 ? 25 : 0, () => r.pick(extraRooms)],
      [otherRooms.length > 0 ? 10 : 0, () => `${r.pick(otherRooms)}@${mucDomain}`],
    ]);
  }

  /** A JID-valued attribute; `full` favours full JIDs (muc#user items carry real full JIDs). */
  #jidAttr(name: string, full = false): Attrs {
    const r = this.#r;
    if (full && r.chance(0.5))
      return {
        [name]: `${r.pick(this.#world.users)}/${r.pick(["fuzz", "xo", "phone", this.#plain(8)])}`,
      };
    const value = this.#jidValue();
    return { [name]: value };
  }

  /** Values for attributes the daemon parses as JIDs (room=, jid=, from=): valid and not. */
  #jidValue(): string {
    const r = this.#r;
    const { users, mucDomain, componentJid, domain } = this.#world;
    if (this.#valid) return r.pick(users);
    const kind = r.weighted<string>([
      [30, "user"],
      [8, "full"],
      [8, "unknown-user"],
      [15, "room"],
      [4, "component"],
      [4, "domain"],
      [20, "invalid"],
      [4, "uppercase"],
      [3, "escaped"],
      [2, "too-long"],
      [2, "long-unicode"],
      [2, "padded"],
    ]);
    this.#label(`case:jid-${kind}`);
    switch (kind) {
      case "user":
        return r.pick(users);
      case "full":
        return `${r.pick(users)}/${this.#plain(6)}`;
      case "unknown-user":
        return `${this.#plain(r.int(1, 12)).toLowerCase()}@${domain}`;
      case "room":
        return `${r.pick(this.#activityIds)}@${mucDomain}`;
      case "component":
        return r.pick([componentJid, `${this.#plain(5)}@${componentJid}`]);
      case "domain":
        return r.pick([domain, mucDomain, "example.net"]);
      case "uppercase":
        return r.pick(users).toUpperCase();
      case "escaped":
        return `${r.pick(["a\\40b", "o\\27brien", "a\\20b", "\\5c"])}@${domain}`;
      case "too-long":
        return r.chance(0.5) ? `${"a".repeat(1_024)}@${domain}` : `a@${"d".repeat(1_024)}`;
      case "long-unicode":
        // As long as JID parts may be (1,023 characters each), in random three-byte characters.
        return `${this.#cjk(r.int(200, 1_023))}@${this.#cjk(r.int(200, 1_023))}`;
      case "padded":
        return ` ${r.pick(users)} `;
      default:
        return r.pick([
          "",
          "@",
          "a@",
          "@b",
          "a@b@c",
          "a b@c",
          "a/b",
          "/res",
          `a@${domain}/`,
          "<a>@b",
          "a@b c",
          `"q"@${domain}`,
          "a:b@c",
          `${this.#text(8)}@${this.#text(8)}`,
          "a@-.x",
          "a@[::1]",
          "é@ü",
          "a@b/c/d",
        ]);
    }
  }

  #errorElement(gone = false): Element {
    const r = this.#r;
    const condition = gone && r.chance(0.6) ? r.pick(GONE_CONDITIONS) : r.pick(OTHER_CONDITIONS);
    this.#label(`case:error-${GONE_CONDITIONS.includes(condition) ? "gone" : "other"}`);
    const error = xml("error", { type: r.pick(["cancel", "wait", "modify", "auth", "bogus"]) });
    if (r.chance(0.95)) error.append(xml(condition, { xmlns: NS.stanzas }));
    if (r.chance(0.3)) error.append(xml("text", { xmlns: NS.stanzas }, this.#text(this.#length())));
    return error;
  }

  /** A chain of nested elements, 10–300 deep, with text at the bottom. */
  #deep(): Element {
    const r = this.#r;
    this.#label("case:deep-nesting");
    const depth = r.weighted<number>([
      [70, r.int(10, 50)],
      [25, r.int(51, 150)],
      [5, r.int(151, 300)],
    ]);
    let element = xml(this.#name(), {}, this.#text(r.int(0, 20)));
    for (let i = 0; i < depth; i++) {
      const attrs: Attrs = r.chance(0.1) ? { xmlns: this.#randomNamespace() } : {};
      element = xml(r.chance(0.5) ? "x" : this.#name(), attrs, element);
    }
    element.attrs.xmlns = this.#randomNamespace();
    return element;
  }

  /** An element with a random (or served) namespace, random attributes and a few children. */
  #randomElement(depth: number): Element {
    const r = this.#r;
    if (depth === 0 && r.chance(0.08)) return this.#deep();
    this.#label("case:random-element");
    const attrs: Attrs = { ...this.#randomAttrs() };
    if (depth === 0 || r.chance(0.3)) attrs.xmlns = this.#randomNamespace();
    const element = xml(this.#name(), attrs);
    const children =
      depth < 3
        ? r.weighted<number>([
            [60, 0],
            [30, r.int(1, 3)],
            [10, r.int(4, 12)],
          ])
        : 0;
    for (let i = 0; i < children; i++) element.append(this.#randomElement(depth + 1));
    if (r.chance(0.4)) element.append(this.#text(this.#length()));
    return element;
  }

  #randomNamespace(): string {
    const r = this.#r;
    if (r.chance(0.5)) {
      this.#label("ns:random");
      return `urn:fuzz:${this.#plain(r.int(1, 8)).toLowerCase()}`;
    }
    const ns = r.pick(Object.values(NS));
    this.#label(`ns:${ns}`);
    return ns;
  }

  #randomAttrs(): Attrs {
    const r = this.#r;
    const attrs: Attrs = {};
    for (
      let i = r.weighted<number>([
        [50, 0],
        [35, 1],
        [12, r.int(2, 5)],
        [3, r.int(6, 40)],
      ]);
      i > 0;
      i--
    ) {
      attrs[this.#name()] = this.#attributeValue();
    }
    return attrs;
  }

  #attributeValue(): string {
    const r = this.#r;
    if (r.chance(0.01)) {
      this.#label("case:huge-attribute");
      return this.#big(10_000, 100_000);
    }
    return this.#choose<string>([
      [50, () => this.#text(this.#length())],
      [10, () => ""],
      [10, () => this.#sillyNumber()],
      [10, () => this.#jidValue()],
      [5, () => r.pick(SPECIAL)],
    ]);
  }

  /** Junk added to a plausible payload: attributes (maybe huge), foreign children, text. */
  #payloadJunk(element: Element): void {
    const r = this.#r;
    if (this.#valid) return;
    this.#label("case:payload-junk");
    const what = r.weighted<string>([
      [40, "attribute"],
      [25, "child"],
      [20, "text"],
      [10, "deep"],
      [5, "prefixed"],
    ]);
    if (what === "attribute") {
      if (r.chance(0.15)) {
        this.#label("case:huge-attribute");
        element.attrs[this.#name()] = this.#big(1_000, 100_000);
      } else {
        element.attrs[this.#name()] = this.#attributeValue();
      }
    } else if (what === "child") {
      element.append(this.#randomElement(1));
    } else if (what === "text") {
      element.children.unshift(this.#text(this.#length()));
    } else if (what === "deep") {
      element.append(this.#deep());
    } else {
      // A namespaced attribute with its prefix declared: valid XML that servers re-serialize.
      this.#label("case:prefixed-attribute");
      element.attrs["xmlns:fz"] = "urn:fuzz:prefixed";
      element.attrs["fz:attr"] = this.#text(r.int(0, 20));
    }
  }

  /** Now and then a stanza-level oddity: an unknown attribute, xml:lang, a huge attribute. */
  #stanzaJunk(attrs: Attrs): void {
    const r = this.#r;
    if (this.#valid) return;
    if (!r.chance(0.04)) return;
    this.#label("case:stanza-junk");
    const what = r.weighted<string>([
      [45, "lang"],
      [45, "attribute"],
      [10, "huge"],
    ]);
    if (what === "lang")
      attrs["xml:lang"] = r.pick(["en", "", "x-klingon", "ru-RU", this.#text(12)]);
    else if (what === "attribute") attrs[this.#name()] = this.#attributeValue();
    else {
      this.#label("case:huge-attribute");
      attrs[`x-${this.#name()}`] = this.#big(10_000, 100_000);
    }
  }

  /** Whitespace or text between the children of a stanza (servers ignore it, parsers must too). */
  #interleaveText(children: Element[]): Array<Element | string> {
    if (this.#valid) return children;
    if (!this.#r.chance(0.05)) return children;
    this.#label("case:stanza-text");
    const out: Array<Element | string> = [];
    for (const child of children)
      out.push(this.#r.chance(0.5) ? this.#r.pick(WHITESPACE) : this.#text(5), child);
    return out;
  }

  // ---- addresses ----

  #neercTarget(): Target {
    const odd = this.#valid ? 0 : 1;
    return this.#r.weighted<Target>([
      [30, "component"],
      [15, "neerc-default"],
      [25, "neerc-room"],
      [8 * odd, "other-room"],
      [12 * odd, "node"],
      [5 * odd, "mirror"],
      [5 * odd, "resource"],
    ]);
  }

  #inCallTarget(): Target {
    return this.#r.weighted<Target>([
      [80, "component"],
      [10, "neerc-room"],
      [10, "node"],
    ]);
  }

  #anyTarget(): Target {
    return this.#r.weighted<Target>([
      [50, "component"],
      [12, "node"],
      [10, "neerc-room"],
      [8, "mirror"],
      [5, "mirror-unknown"],
      [5, "resource"],
      [4, "invalid"],
      [3, "remote"],
      [3, "none"],
    ]);
  }

  /** The `to` for a target kind; undefined for no `to` at all (the sender's own account). */
  #address(target: Target): string | undefined {
    const r = this.#r;
    const { componentJid, users, neercRooms, otherRooms = [], domain } = this.#world;
    this.#label(`to:${target}`);
    switch (target) {
      case "component":
        return r.chance(0.97) ? componentJid : componentJid.toUpperCase();
      case "neerc-default":
        return `${neercRooms[0] ?? "neerc"}@${componentJid}`;
      case "neerc-room":
        return `${r.pick(neercRooms)}@${componentJid}`;
      case "other-room":
        return `${otherRooms.length > 0 ? r.pick(otherRooms) : "lobby"}@${componentJid}`;
      case "node": {
        const local = this.#choose<string>([
          [60, () => this.#plain(r.int(1, 16)).toLowerCase()],
          [15, () => this.#text(r.int(1, 12)).replace(/[\s"&'/:<>@]/gu, "")],
          [10, () => r.pick(["a\\20b", "\\5c", "x\\40y", "o\\27brien", "\u00e9t\u00e9"])],
          [5, () => "n".repeat(1_023)],
          [10, () => r.pick(this.#activityIds)],
        ]);
        return `${local || "x"}@${componentJid}`;
      }
      case "mirror":
        return `${r.pick(users).replace("@", "\\40")}@${componentJid}`;
      case "mirror-unknown":
        return `${r.pick(["ghost\\40" + domain, "nobody\\40example.net", "\\40", "a\\40b\\40c"])}@${componentJid}`;
      case "resource":
        return `${componentJid}/${r.pick(["fuzz", "", this.#plain(8), "a/b"])}`;
      case "invalid":
        return r.pick([
          `@${componentJid}`,
          `a@@${componentJid}`,
          `a b@${componentJid}`,
          `<x>@${componentJid}`,
          `${"l".repeat(1_024)}@${componentJid}`,
          "",
          "@",
          `${componentJid}@`,
          `"q"@${componentJid}`,
        ]);
      case "remote":
        return r.pick(["example.net", `someone@example.net`, `x@${domain}.invalid`]);
      case "none":
        return undefined;
    }
  }

  // ---- strings ----

  #id(index: number): string {
    const r = this.#r;
    const base = `${this.#idPrefix}${index}`;
    if (!r.chance(0.05)) return base;
    this.#label("case:odd-id");
    // No tab, CR or LF: XML turns them into spaces in attribute values, so the reply's id would differ.
    const suffix = r.chance(0.9) ? this.#text(r.int(1, 30)) : this.#exact(1_000, true);
    return `${base}-${suffix.replace(/[\t\r\n]/gu, " ")}`;
  }

  #name(): string {
    const r = this.#r;
    let name = NAME_START[r.int(0, NAME_START.length - 1)]!;
    for (let i = r.int(0, 12); i > 0; i--) name += NAME_REST[r.int(0, NAME_REST.length - 1)]!;
    return name;
  }

  #el(
    name: string,
    xmlns: string,
    attrs: Attrs = {},
    ...children: Array<Element | string>
  ): Element {
    this.#label(`ns:${xmlns}`);
    return xml(name, { xmlns, ...attrs }, ...children);
  }

  /** weighted() over thunks: only the chosen value is built (and spends randomness and budget). */
  #choose<T>(table: Weighted<() => T>): T {
    return this.#r.weighted(table)();
  }

  #label(label: string): void {
    this.#labels.push(label);
  }

  /** Mostly short, sometimes medium, rarely long. */
  #length(): number {
    const r = this.#r;
    const roll = r.float();
    if (roll < 0.75) return r.int(0, 20);
    if (roll < 0.95) return r.int(21, 200);
    if (roll < 0.995) return r.int(201, 2_000);
    return r.int(2_001, 20_000);
  }

  /** Random CJK ideographs (three UTF-8 bytes each, and incompressible). */
  #cjk(length: number): string {
    if (!this.#spend(length * 3)) length = 8;
    let out = "";
    for (let i = 0; i < length; i++) out += String.fromCharCode(this.#r.int(0x4e00, 0x9fff));
    return out;
  }

  /** Letters and digits only. */
  #plain(length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += ALNUM[this.#r.int(0, ALNUM.length - 1)]!;
    return out;
  }

  /** Exactly `length` UTF-16 units (what the daemon's length limits count); `odd` mixes in specials. */
  #exact(length: number, odd = false): string {
    if (!this.#spend(length * (odd ? 6 : 1))) length = Math.min(length, 64);
    // Odd text without astral characters, so that cutting it never splits a surrogate pair.
    const base = odd ? bmpOnly(this.#text(64)) || "x" : this.#plain(64);
    let out = "";
    while (out.length < length) out += base;
    return out.slice(0, length);
  }

  /** A big string of `min`–`max` characters if the stanza's budget allows, else a short one. */
  #big(min: number, max: number): string {
    const length = this.#r.int(min, max);
    // Half plain (one byte a character), half odd text (up to 6 bytes a character, escaped).
    const odd = this.#r.chance(0.5);
    if (!this.#spend(odd ? length * 3 : length)) return this.#text(this.#r.int(1, 40));
    const chunk = odd ? bmpOnly(this.#text(256)) || "x" : this.#plain(256);
    let out = "";
    while (out.length < length) out += chunk;
    return out.slice(0, length);
  }

  /** Takes `bytes` from the stanza's budget; false (nothing taken) if there is not enough left. */
  #spend(bytes: number): boolean {
    if (bytes > this.#budget) return false;
    this.#budget -= bytes;
    return true;
  }

  /** Random text: letters, whitespace, XML specials and Unicode oddities (no control characters). */
  #text(length: number): string {
    const r = this.#r;
    if (length > 2_000 && !this.#spend(length)) length = 40;
    const parts: string[] = [];
    let size = 0;
    while (size < length) {
      const roll = r.float();
      const part =
        roll < 0.6
          ? ALNUM[Math.floor(r.float() * ALNUM.length)]!
          : roll < 0.68
            ? r.pick(WHITESPACE)
            : roll < 0.8
              ? r.pick(SPECIAL)
              : r.pick(UNICODE);
      parts.push(part);
      size += part.length;
    }
    return parts.join("");
  }

  #shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.#r.int(0, i);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

/** The text without characters outside the Basic Multilingual Plane (no surrogate pairs). */
function bmpOnly(text: string): string {
  let out = "";
  for (const char of text) if (char.length === 1) out += char;
  return out;
}

type Target =
  | "component"
  | "neerc-default"
  | "neerc-room"
  | "other-room"
  | "node"
  | "mirror"
  | "mirror-unknown"
  | "resource"
  | "invalid"
  | "remote"
  | "none";

interface Payload {
  element: Element;
  target: Target;
}
