import assert from "node:assert/strict";
import { describe, it } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { pino } from "pino";
import { Liveness } from "../../src/presence/liveness.js";
import { IqTimeoutError } from "../../src/xmpp/iq-caller.js";
import type { FullJid } from "../../src/xmpp/jid.js";
import { NotConnectedError } from "../../src/xmpp/link.js";
import { StanzaError } from "../../src/xmpp/stanza-error.js";

const COMPONENT = "concierge.example.org";
const device = (name: string) => `${name}@example.org/phone` as FullJid;

/** An error reply as a server relays it: `lang` is set when it came through a client session. */
function errorReply(
  to: string,
  condition: "service-unavailable" | "item-not-found" | "feature-not-implemented",
  options: { lang?: string; text?: string; echo?: boolean } = {},
): StanzaError {
  const attrs: Record<string, string> = { type: "error", from: to, to: COMPONENT, id: "x" };
  if (options.lang) attrs["xml:lang"] = options.lang;
  const stanza = xml(
    "iq",
    attrs,
    ...(options.echo ? [xml("ping", { xmlns: "urn:xmpp:ping" })] : []),
    new StanzaError(condition, options.text).toElement(),
  );
  return StanzaError.fromStanza(stanza);
}

async function check(answers: Record<string, () => Promise<Element>>) {
  const gone: string[] = [];
  const liveness = new Liveness({
    link: { request: (iq) => answers[String(iq.attrs.to)]!() },
    devices: () => Object.keys(answers) as FullJid[],
    gone: (d) => gone.push(d),
    from: COMPONENT,
    timeoutMs: 1_000,
    log: pino({ level: "silent" }),
  });
  await liveness.check();
  return gone.sort();
}

describe("Liveness: who is still there", () => {
  it("tells a device that does not do ping from a resource the server says is gone", async () => {
    const pong = device("pong");
    const noPing = device("noping");
    const prosodyGone = device("gone-prosody");
    const ejabberdGone = device("gone-ejabberd");
    const silent = device("silent");
    const gone = await check({
      [pong]: () => Promise.resolve(xml("iq", { type: "result" })),
      // A client without ping answers through its session: the server stamps its language.
      [noPing]: () =>
        Promise.reject(errorReply(noPing, "service-unavailable", { lang: "en", echo: true })),
      // Prosody 0.12 answering for a resource that is not there: no language, no payload.
      [prosodyGone]: () => Promise.reject(errorReply(prosodyGone, "service-unavailable")),
      // ejabberd 23.01: the payload echoed, no language, and it says so.
      [ejabberdGone]: () =>
        Promise.reject(
          errorReply(ejabberdGone, "service-unavailable", {
            echo: true,
            text: "User session not found",
          }),
        ),
      [silent]: () => Promise.reject(new IqTimeoutError("p", 1_000)),
    });
    assert.deepEqual(gone, [ejabberdGone, prosodyGone, silent].sort());
  });

  it("any other error means the device answered", async () => {
    const odd = device("odd");
    assert.deepEqual(
      await check({ [odd]: () => Promise.reject(errorReply(odd, "feature-not-implemented")) }),
      [],
    );
  });

  it("the other 'not there' conditions count as gone unless the device itself sent them", async () => {
    const away = device("away");
    const picky = device("picky");
    assert.deepEqual(
      await check({
        [away]: () => Promise.reject(errorReply(away, "item-not-found")),
        [picky]: () => Promise.reject(errorReply(picky, "item-not-found", { lang: "de" })),
      }),
      [away],
    );
  });

  it("our own link being down drops nobody", async () => {
    const someone = device("someone");
    assert.deepEqual(await check({ [someone]: () => Promise.reject(new NotConnectedError()) }), []);
  });
});
