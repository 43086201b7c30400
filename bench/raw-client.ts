import { connect, type Socket } from "node:net";
import { StanzaScanner, attr, childText, escapeXml, startTag, tagName } from "./xml-scan.js";

export interface RawClientOptions {
  host: string;
  port: number;
  /** The server's virtual host, e.g. "localhost". */
  domain: string;
  username: string;
  password: string;
  resource: string;
  /** Bound on the whole login; default 10 s. */
  timeoutMs?: number;
}

/** Called once per incoming top-level element, with its raw text. */
export type StanzaListener = (xml: string) => void;

const NS_STREAM = "http://etherx.jabber.org/streams";
const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";

let pings = 0;

/**
 * A c2s client for load generation: raw TCP, SASL PLAIN without TLS (the private Prosody allows
 * it), resource binding, then raw stanza text in and out. No XML tree is built, so thousands of
 * stanzas a second cost the benchmark itself little CPU.
 *
 * Writes made while incoming stanzas are dispatched are corked and leave in one packet.
 */
export class RawClient {
  /** The full JID bound by the server. */
  jid = "";
  readonly closed: Promise<void>;
  #listener: StanzaListener | undefined;
  #queue: string[] = [];
  #waiter: (() => void) | undefined;
  #ended = false;
  #error: Error | undefined;
  readonly #scanner: StanzaScanner;

  private constructor(readonly socket: Socket) {
    this.#scanner = new StanzaScanner({
      header: (tag) => this.#deliver(tag),
      stanza: (xml) => this.#deliver(xml),
      end: () => this.socket.end(),
    });
    socket.setEncoding("utf8");
    socket.setNoDelay(true);
    socket.on("data", (chunk: string) => {
      socket.cork();
      try {
        this.#scanner.push(chunk);
      } finally {
        socket.uncork();
      }
    });
    socket.on("error", (error) => (this.#error ??= error));
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.#ended = true;
        this.#wake();
        resolve();
      }),
    );
  }

  static async connect(options: RawClientOptions): Promise<RawClient> {
    const socket = connect({ host: options.host, port: options.port });
    const client = new RawClient(socket);
    const timer = setTimeout(
      () => client.#fail(new Error(`login of ${options.username} timed out`)),
      options.timeoutMs ?? 10_000,
    );
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      });
      await client.#login(options);
      return client;
    } catch (error) {
      socket.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Routes every incoming stanza (including any queued since login) to `listener`. */
  listen(listener: StanzaListener | undefined): void {
    this.#listener = listener;
    if (!listener) return;
    const queued = this.#queue;
    this.#queue = [];
    for (const xml of queued) listener(xml);
  }

  send(xml: string): void {
    this.socket.write(xml);
  }

  /**
   * Sends available presence (servers hand messages to a bare JID, headlines in particular, only
   * to available resources) and resolves once the server has processed it: when the reply to a
   * ping sent right behind it arrives. The server's echo of our own presence is dropped; any other
   * stanza stays queued for the next listener. Call it while no listener is set.
   */
  async available(timeoutMs = 10_000): Promise<void> {
    if (this.#listener) throw new Error("available() while a listener is set");
    const id = `available${++pings}`;
    const domain = this.jid.slice(this.jid.indexOf("@") + 1, this.jid.indexOf("/"));
    this.send(
      `<presence/><iq type='get' id='${id}' to='${escapeXml(domain)}'>` +
        `<ping xmlns='urn:xmpp:ping'/></iq>`,
    );
    const reply = await this.#take(
      (xml) => tagName(xml) === "iq" && attr(startTag(xml), "id") === id,
      timeoutMs,
    );
    if (attr(startTag(reply), "type") !== "result") {
      throw new Error(`${this.jid}: the ping after the presence failed: ${reply}`);
    }
    this.#queue = this.#queue.filter(
      (xml) => tagName(xml) !== "presence" || attr(startTag(xml), "from") !== this.jid,
    );
  }

  get connected(): boolean {
    return !this.#ended && !this.socket.destroyed;
  }

  /** Closes the stream politely, then the socket (forcibly after `timeoutMs`). */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.connected) this.socket.end("</stream:stream>");
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  async #login({ domain, username, password, resource }: RawClientOptions): Promise<void> {
    const open = () =>
      this.send(
        `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}'` +
          ` to='${escapeXml(domain)}' version='1.0'>`,
      );
    open();
    await this.#expect("stream:stream");
    const features = await this.#expect("stream:features");
    if (!features.includes(">PLAIN<")) {
      throw new Error(`the server offers no SASL PLAIN: ${features}`);
    }
    const token = Buffer.from(`\0${username}\0${password}`, "utf8").toString("base64");
    this.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${token}</auth>`);
    const outcome = await this.#next();
    if (tagName(outcome) !== "success") {
      throw new Error(`SASL PLAIN failed for ${username}: ${outcome}`);
    }
    open();
    await this.#expect("stream:stream");
    await this.#expect("stream:features");
    this.send(
      `<iq type='set' id='bind'><bind xmlns='${NS_BIND}'>` +
        `<resource>${escapeXml(resource)}</resource></bind></iq>`,
    );
    const bound = await this.#expect("iq");
    const jid = childText(bound, "jid");
    if (attr(startTag(bound), "type") !== "result" || !jid) {
      throw new Error(`resource binding failed for ${username}: ${bound}`);
    }
    this.jid = jid;
  }

  async #expect(name: string): Promise<string> {
    const xml = await this.#next();
    if (tagName(xml) !== name) throw new Error(`expected <${name}>, got ${xml}`);
    return xml;
  }

  /** The next element during login; stream errors and disconnects become exceptions. */
  async #next(): Promise<string> {
    for (;;) {
      const xml = this.#queue.shift();
      if (xml !== undefined) {
        if (tagName(xml) === "stream:error") throw new Error(`stream error: ${xml}`);
        return xml;
      }
      if (this.#error) throw this.#error;
      if (this.#ended) throw new Error("the server closed the connection");
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  /** Takes the first queued stanza that matches, waiting up to `timeoutMs` for it. */
  async #take(match: (xml: string) => boolean, timeoutMs: number): Promise<string> {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      this.#wake();
    }, timeoutMs);
    try {
      for (;;) {
        const index = this.#queue.findIndex(match);
        if (index >= 0) return this.#queue.splice(index, 1)[0]!;
        if (this.#error) throw this.#error;
        if (this.#ended) throw new Error("the server closed the connection");
        if (expired) throw new Error(`${this.jid}: no awaited stanza within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => (this.#waiter = resolve));
      }
    } finally {
      clearTimeout(timer);
    }
  }

  #deliver(xml: string): void {
    if (this.#listener) {
      this.#listener(xml);
      return;
    }
    this.#queue.push(xml);
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  #fail(error: Error): void {
    this.#error ??= error;
    this.socket.destroy();
    this.#wake();
  }
}
