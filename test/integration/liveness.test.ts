import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RawClient } from "../../bench/raw-client.js";
import { attr, startTag, tagName } from "../../bench/xml-scan.js";
import { TestClient, xml } from "../harness/client.js";
import { Daemon } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { createRoom, setAffiliation, letComponentReadLists } from "../harness/muc.js";
import { account } from "../harness/pool.js";
import { startStack, type Stack } from "../harness/stack.js";
import { TcpProxy } from "../harness/tcp-proxy.js";

/**
 * The liveness pings on a real server: a client without ping support answers service-unavailable
 * itself and stays online; a resource the server says is not there (it left while the
 * component was away, so its goodbye never reached us) is dropped after the reconnect.
 */

const NS_PRESENCE = "urn:concierge:presence:0";
let stack: Stack;
let proxy: TcpProxy;
let daemon: Daemon;
const people = ["admin", "watcher", "noping", "leaver"];
const clients: TestClient[] = [];

before(async () => {
  stack = await startStack({ accounts: people.map(account) });
  const admin = await connect("admin");
  const room = `neerc@${stack.prosody.mucDomain}`;
  await createRoom(admin, room);
  await letComponentReadLists(admin, room, stack);
  for (const name of ["watcher", "noping", "leaver"]) {
    await setAffiliation(admin, room, `${name}@localhost`, "member");
  }
  proxy = await TcpProxy.start({ host: "127.0.0.1", port: stack.prosody.componentPort });
  daemon = await Daemon.start(stack, {
    name: "liveness",
    logLevel: "info",
    componentPort: proxy.port,
    extra: {
      presence: { liveness_interval_ms: 300, liveness_timeout_ms: 1_000 },
      neerc: { muc_service: stack.prosody.mucDomain },
    },
  });
  await daemon.waitOnline();
});

after(async () => {
  for (const c of clients) await c.stop();
  await daemon?.stop();
  await proxy?.stop();
  await stack?.stop();
});

async function connect(name: string): Promise<TestClient> {
  const c = await TestClient.connect(stack, account(name));
  clients.push(c);
  return c;
}

const mirror = (user: string) => `${user.replace("@", "\\40")}@${stack.componentJid}`;
const seen = (device: TestClient, user: string) =>
  device.received
    .filter((s) => s.name === "presence" && s.attrs.from === mirror(user))
    .map((s) => String(s.getChild("x", NS_PRESENCE)?.attrs.show));

/** A real client that does not implement ping: it answers every iq with service-unavailable. */
async function clientWithoutPing(name: string): Promise<RawClient> {
  const raw = await RawClient.connect({
    host: "127.0.0.1",
    port: stack.prosody.c2sPort,
    domain: stack.prosody.domain,
    username: name,
    password: `pw-${name}`,
    resource: "old-client",
  });
  await raw.available();
  raw.listen((stanza) => {
    const tag = startTag(stanza);
    if (tagName(stanza) !== "iq" || !["get", "set"].includes(attr(tag, "type") ?? "")) return;
    raw.send(
      `<iq type='error' id='${attr(tag, "id")}' to='${attr(tag, "from")}'>` +
        `<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
    );
  });
  raw.send(`<presence to='${stack.componentJid}'/>`);
  return raw;
}

describe("liveness pings on a real server", () => {
  let watcher: TestClient;

  before(async () => {
    watcher = await connect("watcher");
    await watcher.xmpp.send(xml("presence", { to: stack.componentJid }));
  });

  test("a client that answers ping with service-unavailable is there, and stays online", async () => {
    const old = await clientWithoutPing("noping");
    try {
      await eventually(
        () => seen(watcher, "noping@localhost"),
        (s) => s.length > 0,
        "noping online",
      );
      // Several liveness rounds (every 300 ms) go by.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.deepEqual(seen(watcher, "noping@localhost"), ["online"]);
    } finally {
      await old.close();
    }
    await eventually(
      () => seen(watcher, "noping@localhost"),
      (s) => s.at(-1) === "offline",
      "its goodbye is seen",
    );
  });

  test("a resource that left while the component was away is dropped after the reconnect", async () => {
    const leaver = await connect("leaver");
    await leaver.xmpp.send(xml("presence", { to: stack.componentJid }));
    await eventually(
      () => seen(watcher, "leaver@localhost"),
      (s) => s.length > 0,
      "leaver online",
    );
    proxy.cut();
    await daemon.waitForLog((line) => line.msg.startsWith("connection to the XMPP server lost"));
    await leaver.stop(); // its unavailable presence finds no component to go to
    proxy.restore();
    await daemon.waitOnline(2, 20_000);
    await eventually(
      () => seen(watcher, "leaver@localhost"),
      (s) => s.at(-1) === "offline",
      "the server's answer for the gone resource drops it",
    );
    assert.notEqual(
      seen(watcher, "watcher@localhost").at(-1),
      "offline",
      "the watcher, who answers, stays",
    );
  });
});
