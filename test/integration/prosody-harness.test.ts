import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import type { Component } from "@xmpp/component-core";
import type { Element } from "@xmpp/xml";
import { PrivateProsody } from "../../src/dev/prosody.js";
import { PROSODY_SNIPPET } from "../../src/dev/snippets.js";
import { TestClient, xml } from "../harness/client.js";
import { connectComponent } from "../harness/component.js";
import { COMPONENT_JID, FLOOR_JID, testAccounts } from "../harness/stack.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";

const secret = randomBytes(12).toString("hex");
const floorSecret = randomBytes(12).toString("hex");
const accounts = testAccounts(2);
let server: PrivateProsody;
const clients: TestClient[] = [];
const components: Component[] = [];

before(async () => {
  server = await PrivateProsody.start({
    components: [
      { jid: COMPONENT_JID, secret },
      { jid: FLOOR_JID, secret: floorSecret },
    ],
    accounts,
  });
});

after(async () => {
  for (const client of clients) await client.stop();
  for (const component of components) await component.stop().catch(() => undefined);
  await server?.stop();
});

describe("a private Prosody", () => {
  test("includes the operators' snippet with the test's names", async () => {
    const config = await readFile(server.configPath, "utf8");
    assert.ok(config.includes(`Include "${server.snippetPath}"`));
    const snippet = await readFile(server.snippetPath, "utf8");
    const shipped = await readFile(PROSODY_SNIPPET, "utf8");
    const line = shipped.split("\n").find((l) => l.includes("muc_tombstones"));
    assert.ok(line && snippet.includes(line), "the MUC settings are the snippet's");
    assert.ok(!snippet.includes("example.org") && !snippet.includes("placeholder-shared-secret"));
    assert.match(snippet, new RegExp(`^component_ports = \\{ ${server.componentPort} \\}`, "m"));
    assert.equal(server.mucDomain, "conference.localhost");
  });

  test("each component authenticates with its own secret", async () => {
    components.push(await connectComponent(server, COMPONENT_JID, secret));
    components.push(await connectComponent(server, FLOOR_JID, floorSecret));
    await assert.rejects(connectComponent(server, "other.localhost", secret), /host-unknown/);
  });

  test("local accounts create rooms; a component may not (restrict_room_creation)", async () => {
    const client = await TestClient.connect(server, accounts[0]!);
    clients.push(client);
    const room = `made@${server.mucDomain}`;
    await client.xmpp.send(xml("presence", { to: `${room}/me` }, xml("x", { xmlns: NS_MUC })));
    const joined = await client.waitFor(
      (s) => s.name === "presence" && s.attrs.from === `${room}/me`,
    );
    const codes = joined
      .getChild("x", NS_MUC_USER)
      ?.getChildren("status")
      .map((s) => s.attrs.code as string);
    assert.ok(codes?.includes("201"), joined.toString());

    const refused = new Promise<string>((resolve) => {
      components[0]!.on("stanza", (stanza: Element) => {
        if (stanza.name === "presence" && stanza.attrs.type === "error") {
          resolve(String(stanza.getChild("error")?.getChildElements()[0]?.name));
        }
      });
    });
    await components[0]!.send(
      xml(
        "presence",
        { from: COMPONENT_JID, to: `by-component@${server.mucDomain}/c` },
        xml("x", { xmlns: NS_MUC }),
      ),
    );
    assert.equal(await refused, "not-allowed");
  });

  test("restart keeps accounts and ports", async () => {
    for (const client of clients.splice(0)) await client.stop();
    for (const entity of components.splice(0)) await entity.stop().catch(() => undefined);
    const ports = [server.c2sPort, server.componentPort];
    await server.restart();
    assert.deepEqual([server.c2sPort, server.componentPort], ports);
    clients.push(await TestClient.connect(server, accounts[1]!));
  });
});
