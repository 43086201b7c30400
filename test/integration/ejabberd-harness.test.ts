import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Component } from "@xmpp/component-core";
import type { Element } from "@xmpp/xml";
import { PrivateEjabberd } from "../../src/dev/ejabberd.js";
import type { Account } from "../../src/dev/server.js";
import { EJABBERD_SNIPPET } from "../../src/dev/snippets.js";
import { TestClient, errorCondition, xml } from "../harness/client.js";
import { connectComponent } from "../harness/component.js";
import { COMPONENT_JID, FLOOR_JID, testAccounts } from "../harness/stack.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";
const NS_DATA = "jabber:x:data";

const secret = randomBytes(12).toString("hex");
const floorSecret = randomBytes(12).toString("hex");
const bot = { username: "bot", password: "pw-bot" };
const accounts = [...testAccounts(3), bot];
let server: PrivateEjabberd;
const clients: TestClient[] = [];
const components: Component[] = [];

before(async () => {
  server = await PrivateEjabberd.start({
    components: [
      { jid: COMPONENT_JID, secret },
      { jid: FLOOR_JID, secret: floorSecret },
    ],
    accounts,
    bot: bot.username,
  });
});

after(async () => {
  for (const client of clients) await client.stop();
  for (const component of components) await component.stop().catch(() => undefined);
  await server?.stop();
});

async function connect(account: Account, resource = "test"): Promise<TestClient> {
  const client = await TestClient.connect(server, account, resource);
  clients.push(client);
  return client;
}

async function component(
  jid: string,
  password: string,
  onStanza?: (stanza: Element, entity: Component) => void,
): Promise<Component> {
  const entity = await connectComponent(server, jid, password, onStanza);
  components.push(entity);
  return entity;
}

/** The running VMs of the server's Erlang node (ejabberd's own and ejabberdctl's). */
async function nodeProcesses(node: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const args = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    const state = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    if (args.split("\0").some((arg) => arg.includes(node)) && !/\) [ZX] /.test(state)) {
      pids.push(Number(entry));
    }
  }
  return pids;
}

describe("a private ejabberd", () => {
  test("runs the operators' snippet, included from its own config", async () => {
    const config = await readFile(server.configPath, "utf8");
    assert.match(config, new RegExp(`include_config_file: ${server.snippetPath}`));
    const snippet = await readFile(server.snippetPath, "utf8");
    const shipped = await readFile(EJABBERD_SNIPPET, "utf8");
    // The shipped comments come through, with this server's names in place of the examples.
    const line = shipped.split("\n").find((l) => l.startsWith("    max_user_conferences:"));
    assert.ok(line && snippet.includes(line), "mod_muc's options are the snippet's");
    assert.ok(!snippet.includes("example.org") && !snippet.includes("placeholder-shared-secret"));
    assert.match(snippet, new RegExp(`user: ${bot.username}@localhost`));
    assert.equal(server.mucDomain, "conference.localhost");
  });

  test("a client logs in over c2s without TLS", async () => {
    const client = await connect(accounts[0]!);
    assert.match(client.jid, /^user1@localhost\/test$/);
  });

  test("a component authenticates with its secret; a client's iq reaches it and back", async () => {
    await component(COMPONENT_JID, secret, (stanza, entity) => {
      if (stanza.name !== "iq" || stanza.attrs.type !== "get") return;
      const { id, from, to } = stanza.attrs as Record<string, string>;
      void entity.send(
        xml("iq", { type: "result", id, from: to, to: from }, xml("pong", { xmlns: "urn:test" })),
      );
    });
    const client = clients[0] ?? (await connect(accounts[0]!));
    const reply = await client.request(
      xml("iq", { type: "get", to: COMPONENT_JID }, xml("ping", { xmlns: "urn:test" })),
    );
    assert.equal(reply.attrs.type, "result", reply.toString());
    assert.equal(reply.attrs.from, COMPONENT_JID);
    assert.ok(reply.getChild("pong", "urn:test"));
  });

  test("each component has its own secret", async () => {
    await component(FLOOR_JID, floorSecret);
    await assert.rejects(component(FLOOR_JID, "wrong"), /not-authorized/);
  });

  test("the bot creates a room: 201, the owner form, a configuration of offered fields", async () => {
    const owner = await connect(bot);
    const room = `pool1@${server.mucDomain}`;
    await owner.xmpp.send(xml("presence", { to: `${room}/bot` }, xml("x", { xmlns: NS_MUC })));
    const joined = await owner.waitFor(
      (s) => s.name === "presence" && s.attrs.from === `${room}/bot`,
    );
    const codes = joined
      .getChild("x", NS_MUC_USER)!
      .getChildren("status")
      .map((s) => s.attrs.code as string);
    assert.deepEqual(codes.sort(), ["110", "201"]);

    const form = await owner.request(
      xml("iq", { type: "get", to: room }, xml("query", { xmlns: NS_MUC_OWNER })),
    );
    assert.equal(form.attrs.type, "result", form.toString());
    const offered = new Set(
      form
        .getChild("query", NS_MUC_OWNER)!
        .getChild("x", NS_DATA)!
        .getChildren("field")
        .map((f) => f.attrs.var as string),
    );
    const wanted: Record<string, string> = {
      FORM_TYPE: "http://jabber.org/protocol/muc#roomconfig",
      "muc#roomconfig_roomname": "Pool room",
      "muc#roomconfig_persistentroom": "1",
      "muc#roomconfig_membersonly": "1",
      "muc#roomconfig_passwordprotectedroom": "1",
      "muc#roomconfig_roomsecret": "s3cret",
      "muc#roomconfig_historylength": "0", // Prosody's; not offered here
    };
    assert.ok(!offered.has("muc#roomconfig_historylength"));
    const fields = Object.entries(wanted)
      .filter(([name]) => offered.has(name))
      .map(([name, value]) => xml("field", { var: name }, xml("value", {}, value)));
    const submitted = await owner.request(
      xml(
        "iq",
        { type: "set", to: room },
        xml(
          "query",
          { xmlns: NS_MUC_OWNER },
          xml("x", { xmlns: NS_DATA, type: "submit" }, ...fields),
        ),
      ),
    );
    assert.equal(submitted.attrs.type, "result", submitted.toString());

    // Unlocked, members-only: another user is turned away for not being a member.
    const other = clients[0]!;
    await other.xmpp.send(
      xml(
        "presence",
        { to: `${room}/other` },
        xml("x", { xmlns: NS_MUC }, xml("password", {}, "s3cret")),
      ),
    );
    const refused = await other.waitFor(
      (s) => s.name === "presence" && s.attrs.from === `${room}/other`,
    );
    assert.equal(errorCondition(refused), "registration-required", refused.toString());
  });

  test("accounts added later log in, and an existing account gets the new password", async () => {
    const many = testAccounts(200, "many");
    await server.addAccounts(many);
    await connect(many[199]!);
    await server.addAccounts([{ username: "many1", password: "changed" }]);
    await connect({ username: "many1", password: "changed" });
  });

  test("restart keeps accounts and ports", async () => {
    for (const client of clients.splice(0)) await client.stop();
    for (const entity of components.splice(0)) await entity.stop().catch(() => undefined);
    const ports = [server.c2sPort, server.componentPort];
    await server.restart();
    assert.deepEqual([server.c2sPort, server.componentPort], ports);
    await connect({ username: "many200", password: "pw-many200" });
    await component(COMPONENT_JID, secret);
  });

  test("stop leaves no process of its node and removes its folder", async () => {
    for (const client of clients.splice(0)) await client.stop();
    for (const entity of components.splice(0)) await entity.stop().catch(() => undefined);
    assert.ok((await nodeProcesses(server.node)).length > 0);
    await server.stop();
    assert.deepEqual(await nodeProcesses(server.node), []);
    assert.ok(!existsSync(server.dir), `${server.dir} is gone`);
  });
});

describe("a private ejabberd on a folder of its own (the demo's)", () => {
  test("keeps its node name and accounts across instances; passwords follow the options", async () => {
    const dir = await mkdtemp(join(tmpdir(), "concierge-ejabberd-kept-"));
    await chmod(dir, 0o755); // the ejabberd user must get through to the folder inside
    try {
      const options = { dir: join(dir, "ejabberd"), components: [{ jid: COMPONENT_JID, secret }] };
      const first = await PrivateEjabberd.start({
        ...options,
        accounts: [{ username: "kept", password: "one" }],
      });
      await first.stop();
      assert.ok(existsSync(first.dir), "stop keeps a folder it was given");
      const second = await PrivateEjabberd.start({
        ...options,
        accounts: [{ username: "kept", password: "two" }],
      });
      try {
        assert.equal(second.node, first.node);
        const client = await TestClient.connect(second, { username: "kept", password: "two" });
        await client.stop();
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
