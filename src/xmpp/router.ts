import type { Element } from "@xmpp/xml";
import type { Logger } from "pino";
import { StanzaTooLargeError } from "./link.js";
import { StanzaError } from "./stanza-error.js";
import { Inbound, childElements, errorReply, replyTo } from "./stanza.js";

export type IqType = "get" | "set";
/** What an iq handler returns: a payload for the result, or nothing for an empty result. */
export type IqAnswer = Element | undefined | void;
export type IqHandler = (request: Inbound) => IqAnswer | Promise<IqAnswer>;
export type StanzaHandler = (stanza: Inbound) => void | Promise<void>;

export interface Identity {
  category: string;
  type: string;
  name?: string;
}

export interface DiscoItem {
  jid: string;
  name?: string;
  node?: string;
}

/** A disco node (XEP-0030) a service answers for, e.g. the ad-hoc commands' list. */
export interface DiscoNode {
  info?(request: Inbound): { identities: Identity[]; features: string[] };
  items?(request: Inbound): DiscoItem[];
}

/** What the router needs from the connection: a way to send, which may throw when offline. */
export type Send = (element: Element) => void;

/**
 * Turns a failure that is not a StanzaError but has a known meaning (the storage is down, the
 * server link is down) into the error to answer; undefined for a real internal error.
 */
export type Explain = (error: unknown) => StanzaError | undefined;

/** What the router tells the metrics: what came in, how long iqs took, which errors went out. */
export interface RouterObserver {
  /** A stanza routed by `ns` (its handler's namespace; "none" when nothing handled it). */
  received(kind: string, ns: string): void;
  answered(ns: string, seconds: number): void;
  refused(condition: string): void;
}

const iqKey = (type: string, xmlns: string, name: string) => `${type} ${xmlns} ${name}`;

/**
 * The one router: services register handlers by (iq type, namespace, element) and message or
 * presence handlers by a child's namespace. Every handler runs behind the same error path.
 */
export class Router {
  readonly #iq = new Map<string, IqHandler>();
  readonly #message = new Map<string, StanzaHandler>();
  readonly #presence = new Map<string, StanzaHandler>();
  readonly #observers = { message: [] as StanzaHandler[], presence: [] as StanzaHandler[] };
  readonly #features = new Set<string>();
  readonly #identities: Identity[] = [];
  readonly #items: DiscoItem[] = [];
  readonly #nodes = new Map<string, DiscoNode>();
  readonly #inflight = new Set<Promise<void>>();
  #sortedFeatures: readonly string[] | undefined;
  #discoRevision = 0;
  #closing = false;

  constructor(
    private readonly send: Send,
    private readonly log: Logger,
    private readonly explain: Explain = () => undefined,
    private readonly observer?: RouterObserver,
  ) {}

  iq(type: IqType, xmlns: string, name: string, handler: IqHandler): this {
    const key = iqKey(type, xmlns, name);
    if (this.#iq.has(key)) throw new Error(`an iq handler for ${key} is already registered`);
    this.#iq.set(key, handler);
    return this;
  }

  /** Registers the same handler for get and set (some clients send every query as get). */
  iqGetOrSet(xmlns: string, name: string, handler: IqHandler): this {
    return this.iq("get", xmlns, name, handler).iq("set", xmlns, name, handler);
  }

  message(xmlns: string, handler: StanzaHandler): this {
    return this.#register(this.#message, "message", xmlns, handler);
  }

  presence(xmlns: string, handler: StanzaHandler): this {
    return this.#register(this.#presence, "presence", xmlns, handler);
  }

  /**
   * Sees every message or presence stanza before the handlers chosen by payload do, whatever it
   * carries (plain presence has no namespaced child). Observers never cause an error reply.
   */
  observe(kind: "message" | "presence", handler: StanzaHandler): this {
    this.#observers[kind].push(handler);
    return this;
  }

  feature(...namespaces: string[]): this {
    for (const ns of namespaces) this.#features.add(ns);
    this.#sortedFeatures = undefined;
    this.#discoRevision++;
    return this;
  }

  identity(identity: Identity): this {
    this.#identities.push(identity);
    this.#discoRevision++;
    return this;
  }

  item(item: DiscoItem): this {
    this.#items.push(item);
    this.#discoRevision++;
    return this;
  }

  /** Answers disco#info and disco#items queries that name `node`. */
  node(node: string, answers: DiscoNode): this {
    if (this.#nodes.has(node)) throw new Error(`disco node ${node} is already registered`);
    this.#nodes.set(node, answers);
    return this;
  }

  discoNode(node: string): DiscoNode | undefined {
    return this.#nodes.get(node);
  }

  get features(): readonly string[] {
    return (this.#sortedFeatures ??= [...this.#features].sort());
  }

  /** Changes whenever a feature, identity or item is added: disco answers may be cached on it. */
  get discoRevision(): number {
    return this.#discoRevision;
  }

  get identities(): readonly Identity[] {
    return this.#identities;
  }

  get items(): readonly DiscoItem[] {
    return this.#items;
  }

  /** Entry point for every stanza the connection receives. Never throws, never rejects. */
  dispatch(stanza: Element): void {
    try {
      const pending = this.#route(stanza);
      if (pending) this.#track(stanza, pending);
    } catch (error) {
      this.#fail(stanza, error);
    }
  }

  /** Stops taking new requests and waits (up to `timeoutMs`) for the running handlers. */
  async close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    if (this.#inflight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.#inflight]), timeout]);
    clearTimeout(timer);
  }

  #register(table: Map<string, StanzaHandler>, kind: string, xmlns: string, h: StanzaHandler) {
    if (table.has(xmlns)) throw new Error(`a ${kind} handler for ${xmlns} is already registered`);
    table.set(xmlns, h);
    return this;
  }

  #route(stanza: Element): Promise<void> | undefined {
    switch (stanza.name) {
      case "iq":
        return this.#routeIq(stanza);
      case "message":
        this.#notifyObservers(stanza, this.#observers.message);
        return this.#routeByPayload(stanza, this.#message);
      case "presence":
        this.#notifyObservers(stanza, this.#observers.presence);
        return this.#routeByPayload(stanza, this.#presence);
      default:
        return undefined;
    }
  }

  #routeIq(stanza: Element): Promise<void> | undefined {
    const { type, id } = stanza.attrs as Record<string, string | undefined>;
    if (type === "result" || type === "error") {
      // Answers to our own requests were taken by the link's iq caller before they got here.
      this.log.debug({ id }, "dropping unexpected iq response");
      return undefined;
    }
    if (typeof id !== "string" || id === "") {
      throw new StanzaError("bad-request", "an iq needs an id");
    }
    if (type !== "get" && type !== "set") {
      throw new StanzaError("bad-request", "iq type must be get, set, result or error");
    }
    const payloads = childElements(stanza);
    const payload = payloads[0];
    if (payloads.length !== 1 || !payload) {
      throw new StanzaError("bad-request", "an iq request carries exactly one child element");
    }
    if (this.#closing) throw new StanzaError("service-unavailable", "shutting down");
    const ns = String(payload.attrs.xmlns);
    const handler = this.#iq.get(iqKey(type, ns, payload.name));
    this.observer?.received("iq", handler ? ns : "none");
    if (!handler) throw new StanzaError("service-unavailable");

    const started = this.observer ? performance.now() : 0;
    const answered = () => this.observer?.answered(ns, (performance.now() - started) / 1000);
    const answer = handler(new Inbound(stanza, payload));
    if (isPromise(answer)) {
      return answer.then((value) => {
        answered();
        this.#answer(stanza, value);
      });
    }
    answered();
    this.#answer(stanza, answer);
    return undefined;
  }

  #answer(request: Element, payload: IqAnswer): void {
    const reply = payload ? replyTo(request, "result", payload) : replyTo(request, "result");
    try {
      this.send(reply);
    } catch (error) {
      if (!(error instanceof StanzaTooLargeError)) return this.#sendFailed(error);
      // The server would drop our whole connection over it: say so, in a reply that fits.
      const text = `the answer would be ${error.bytes} bytes, more than the server takes from a component (${error.limit}); ask for less`;
      this.log.warn({ bytes: error.bytes, stanza: summarize(request) }, "answer too large");
      this.#emit(errorReply(request, new StanzaError("resource-constraint", text, "modify")));
    }
  }

  #routeByPayload(stanza: Element, table: Map<string, StanzaHandler>): Promise<void> | undefined {
    if (this.#closing) return undefined;
    const seen = new Set<string>();
    const running: Promise<void>[] = [];
    let routed = false;
    for (const payload of childElements(stanza)) {
      const xmlns = payload.attrs.xmlns as string | undefined;
      if (xmlns === undefined || seen.has(xmlns)) continue;
      seen.add(xmlns);
      const handler = table.get(xmlns);
      if (!handler) continue;
      routed = true;
      this.observer?.received(stanza.name, xmlns);
      try {
        const result = handler(new Inbound(stanza, payload));
        if (isPromise(result)) running.push(result);
      } catch (error) {
        running.push(Promise.reject(error instanceof Error ? error : new Error(String(error))));
      }
    }
    if (!routed) this.observer?.received(stanza.name, "none");
    if (running.length === 0) return undefined;
    // Every handler runs to its end even if another fails; the first failure is then reported.
    return Promise.allSettled(running).then((outcomes) => {
      const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
      if (failure) throw failure.reason;
    });
  }

  #notifyObservers(stanza: Element, observers: readonly StanzaHandler[]): void {
    if (this.#closing || observers.length === 0) return;
    const inbound = new Inbound(stanza, stanza);
    for (const observer of observers) {
      try {
        const result = observer(inbound);
        if (isPromise(result))
          this.#track(
            stanza,
            result.catch((e: unknown) => this.#observerFailed(stanza, e)),
          );
      } catch (error) {
        this.#observerFailed(stanza, error);
      }
    }
  }

  #observerFailed(stanza: Element, error: unknown): void {
    this.log.warn({ err: error, stanza: summarize(stanza) }, "stanza observer failed");
  }

  #track(stanza: Element, pending: Promise<void>): void {
    const tracked: Promise<void> = pending
      .catch((error: unknown) => this.#fail(stanza, error))
      .finally(() => this.#inflight.delete(tracked));
    this.#inflight.add(tracked);
  }

  /**
   * The one error path: a StanzaError becomes that error, a failure with a known meaning its
   * explanation, and anything else is logged and hidden behind internal-server-error.
   */
  #fail(stanza: Element, error: unknown): void {
    const explained = error instanceof StanzaError ? error : this.explain(error);
    const stanzaError = explained ?? new StanzaError("internal-server-error");
    if (!explained) {
      this.log.error({ err: error, stanza: summarize(stanza) }, "handler failed");
    } else if (this.log.isLevelEnabled("debug")) {
      this.log.debug(
        { condition: stanzaError.condition, stanza: summarize(stanza) },
        "request refused",
      );
    }
    if (stanza.attrs.type === "error" || stanza.attrs.type === "result") return;
    if (!stanza.attrs.from) return;
    this.observer?.refused(stanzaError.condition);
    this.#emit(errorReply(stanza, stanzaError));
  }

  #emit(element: Element): void {
    try {
      this.send(element);
    } catch (error) {
      this.#sendFailed(error);
    }
  }

  #sendFailed(error: unknown): void {
    this.log.warn({ err: (error as Error).message }, "could not send a reply");
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === "function";
}

function summarize(stanza: Element) {
  const payload = childElements(stanza)[0];
  return {
    name: stanza.name,
    type: stanza.attrs.type as unknown,
    id: stanza.attrs.id as unknown,
    from: stanza.attrs.from as unknown,
    payload: payload ? `${String(payload.attrs.xmlns)} ${payload.name}` : undefined,
  };
}
