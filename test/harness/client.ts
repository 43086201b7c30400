import { client, xml, type Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import type { Account, PrivateServer } from "../../src/dev/server.js";
import type { Stack } from "./stack.js";

export { xml };

let counter = 0;

/** A real c2s client logged in through the private server, with a raw request helper. */
export class TestClient {
  readonly #pending = new Map<string, (reply: Element) => void>();
  readonly received: Element[] = [];

  private constructor(readonly xmpp: Client) {
    xmpp.on("stanza", (stanza: Element) => {
      const id = stanza.attrs.id as string | undefined;
      const waiter = id !== undefined && stanza.name === "iq" ? this.#pending.get(id) : undefined;
      if (waiter && (stanza.attrs.type === "result" || stanza.attrs.type === "error")) {
        this.#pending.delete(id!);
        waiter(stanza);
      } else {
        this.received.push(stanza);
      }
    });
    xmpp.on("error", () => {});
  }

  /** Logs in through the stack's server, or through `server` itself. */
  static async connect(
    target: Stack | Pick<PrivateServer, "service" | "domain">,
    account: Account,
    resource = "test",
  ): Promise<TestClient> {
    const server = "prosody" in target ? target.prosody : target;
    const xmpp = client({
      service: server.service,
      domain: server.domain,
      username: account.username,
      password: account.password,
      resource,
    });
    // Tests reconnect people themselves: a client that came back on its own after a server
    // restart would replace the session the test made for that person meanwhile.
    xmpp.reconnect.stop();
    const wrapper = new TestClient(xmpp);
    await xmpp.start();
    // Available presence, as every real client sends: servers deliver headlines only then.
    await xmpp.send(xml("presence"));
    return wrapper;
  }

  get jid(): string {
    return String(this.xmpp.jid);
  }

  /** Sends an iq and resolves with whatever comes back (result or error), never throwing on errors. */
  request(iq: Element, timeoutMs = 5_000): Promise<Element> {
    const id = (iq.attrs.id as string | undefined) ?? `t${++counter}`;
    iq.attrs.id = id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no reply to ${iq.toString()} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.xmpp.send(iq).catch(reject);
    });
  }

  /** Waits for a received stanza matching `predicate` (seen before or after the call). */
  async waitFor(predicate: (stanza: Element) => boolean, timeoutMs = 5_000): Promise<Element> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(predicate);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`${this.jid}: no matching stanza in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async stop(): Promise<void> {
    await this.xmpp.stop().catch(() => undefined);
  }
}

export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** The defined condition of an error reply, e.g. "service-unavailable"; undefined for a result. */
export function errorCondition(reply: Element): string | undefined {
  if (reply.attrs.type !== "error") return undefined;
  const error = reply.getChild("error");
  return error
    ?.getChildElements()
    .find((child) => child.attrs.xmlns === NS_STANZAS && child.name !== "text")?.name;
}
