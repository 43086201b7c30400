import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { TestClient, xml } from "../harness/client.js";
import type { Daemon } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { startStack, type Stack } from "../harness/stack.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import {
  SseClient,
  call,
  mintToken,
  roomsReady,
  staffEnters,
  startWebchatDaemon,
  texts,
} from "../harness/webchat.js";

const account = (name: string) => ({ username: name, password: `pw-${name}` });

let stack: Stack;
let daemon: Daemon;
let base: string;
let db: pg.Pool;
let dbProxy: TcpProxy;
let xmppProxy: TcpProxy;
let staff: TestClient;

before(async () => {
  stack = await startStack({ accounts: ["bot", "staff"].map(account) });
  db = new pg.Pool({ connectionString: stack.db.url });
  const dbUrl = new URL(stack.db.url);
  dbProxy = await TcpProxy.start({ host: "127.0.0.1", port: Number(dbUrl.port || 5432) });
  dbUrl.port = String(dbProxy.port);
  dbUrl.hostname = "127.0.0.1";
  xmppProxy = await TcpProxy.start({ host: "127.0.0.1", port: stack.prosody.componentPort });
  staff = await TestClient.connect(stack, account("staff"));
  ({ daemon, base } = await startWebchatDaemon(
    stack,
    "faults",
    { grace_period_ms: 30_000 },
    { databaseUrl: dbUrl.toString(), componentPort: xmppProxy.port },
  ));
  await daemon.waitForLog((line) => line.msg === "rooms resynchronised");
  await roomsReady(db, 1);
});

after(async () => {
  await staff?.stop();
  await daemon?.stop();
  await dbProxy?.stop();
  await xmppProxy?.stop();
  await db?.end();
  await stack?.stop();
});

let chat: { room: string; token: string } | undefined;

/** One chat for the whole file: the staff client in its room, a browser client with a stream. */
async function theChat() {
  if (chat) return chat;
  const room = await staffEnters(db, staff, "staff");
  const minted = await mintToken(base, {
    person: "c-1",
    name: "Guest",
    role: "client",
    claim: true,
  });
  chat = { room, token: minted.token };
  return chat;
}

const say = (room: string, text: string) =>
  staff.xmpp.send(
    xml("message", { to: room, type: "groupchat", id: randomUUID() }, xml("body", {}, text)),
  );
const send = (token: string, text: string) =>
  call(base, "POST", `/nereid-chat/message/${token}`, { body: { id: randomUUID(), text } });

describe("faults", () => {
  test("the database down while streaming and posting: 503 saying so, then it recovers by itself", async () => {
    const { room, token } = await theChat();
    const stream = await SseClient.open(`${base}/nereid-chat/stream/${token}`);
    await say(room, "before the outage");
    await stream.waitFor((e) => texts([e]).includes("before the outage"), "a message");

    dbProxy.cut();
    const refused = await send(token, "while the database is down");
    assert.equal(refused.status, 503, refused.text);
    assert.deepEqual(refused.body, {
      statusCode: 503,
      code: "STORAGE_UNAVAILABLE",
      error: "Service Unavailable",
      message: "the database is unavailable; try again in a few seconds",
    });
    assert.equal(refused.headers["retry-after"], "5");
    const newStream = await call(base, "GET", `/nereid-chat/poll/${token}`);
    assert.equal((newStream.body as { code: string }).code, "STORAGE_UNAVAILABLE");
    // The room goes on meanwhile; what it says waits for the database, the stream stays open.
    await say(room, "said during the outage");
    assert.equal(stream.ended, false);

    dbProxy.restore();
    await stream.waitFor(
      (e) => texts([e]).includes("said during the outage"),
      "the message said during the outage",
      30_000,
    );
    const accepted = await eventually(
      () => send(token, "after the outage"),
      (reply) => reply.status === 202,
      "a message accepted again",
      30_000,
    );
    assert.equal(accepted.status, 202);
    await staff.waitFor((s) => s.getChildText("body") === "after the outage");
    assert.deepEqual(
      texts(stream.events).filter((t) => t !== "after the outage"),
      ["before the outage", "said during the outage"],
    );
    stream.close();
  });

  test("the XMPP link down: sending answers 503, and after the reconnect nothing is lost", async () => {
    const { room, token } = await theChat();
    const stream = await SseClient.open(`${base}/nereid-chat/stream/${token}?after=0`);
    const seen = texts(
      await (async () => {
        await stream.waitFor((e) => texts([e]).includes("said during the outage"), "the backlog");
        return stream.events;
      })(),
    ).length;
    const online = daemon.logs.filter((l) => l.msg === "component online").length;

    xmppProxy.cut();
    await daemon.waitForLog((l) => l.msg.startsWith("connection to the XMPP server lost"));
    const refused = await send(token, "while XMPP is down");
    assert.equal(refused.status, 503, refused.text);
    assert.equal((refused.body as { code: string }).code, "XMPP_UNAVAILABLE");
    await say(room, "said while the component was away");

    xmppProxy.restore();
    await daemon.waitOnline(online + 1, 30_000);
    await stream.waitFor(
      (e) => texts([e]).includes("said while the component was away"),
      "the message said while the link was down",
      30_000,
    );
    const accepted = await eventually(
      () => send(token, "back online"),
      (reply) => reply.status === 202,
      "a message accepted again",
      30_000,
    );
    assert.equal(accepted.status, 202);
    await staff.waitFor((s) => s.getChildText("body") === "back online");
    const all = texts(stream.events);
    assert.equal(all.length, new Set(all).size, `nothing twice: ${JSON.stringify(all)}`);
    assert.ok(all.length > seen);
    stream.close();
  });

  test("SIGTERM with open streams: they end, the daemon exits 0 in bounded time", async () => {
    const { token } = await theChat();
    const streams = await Promise.all(
      [0, 1, 2].map(() => SseClient.open(`${base}/nereid-chat/stream/${token}`)),
    );
    const poll = call(base, "GET", `/nereid-chat/poll/${token}?after=100000&wait=60`);
    const { code } = await daemon.stop("SIGTERM", 15_000);
    assert.equal(code, 0, daemon.transcript());
    await Promise.all(streams.map((s) => s.closed()));
    await poll.catch(() => undefined);
    assert.ok(daemon.logs.some((l) => l.msg === "stopped"));
  });
});
