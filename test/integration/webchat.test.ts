import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Element } from "@xmpp/xml";
import pg from "pg";
import { TestClient, xml } from "../harness/client.js";
import type { Daemon } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { PrivateNginx } from "../harness/nginx.js";
import { startStack, type Stack } from "../harness/stack.js";
import {
  API_KEY,
  ORIGIN,
  SseClient,
  call,
  rawRequest,
  mintToken,
  startWebchatDaemon,
  texts,
  roomsReady,
} from "../harness/webchat.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";

const API_KEY_2 = "second-test-api-key-for-rate-limits";
/** Small limits, so that each can be reached; X-Forwarded-For names made-up addresses. */
const SETTINGS = {
  api_keys: [API_KEY, API_KEY_2],
  grace_period_ms: 5_000,
  trust_proxy: true,
  requests_per_minute: 400,
  token_requests_per_minute: 30,
  messages_per_minute: 25,
  max_streams_per_token: 4,
  max_streams_per_address: 8,
  max_backlog_bytes: 65_536,
  max_text_chars: 2_000,
  max_body_bytes: 8_192,
};

const people = ["staff1", "staff2", "friend", "stranger", "bot"];
const account = (name: string) => ({ username: name, password: `pw-${name}` });
let stack: Stack;
let daemon: Daemon;
let base: string;
let db: pg.Pool;
const clients = new Map<string, TestClient>();
const person = (name: string) => clients.get(name)!;

before(async () => {
  stack = await startStack({ accounts: people.map(account) });
  db = new pg.Pool({ connectionString: stack.db.url });
  for (const name of people.filter((n) => n !== "bot")) {
    clients.set(name, await TestClient.connect(stack, account(name)));
  }
  ({ daemon, base } = await startWebchatDaemon(stack, "webchat", SETTINGS));
  await daemon.waitForLog((line) => line.msg === "rooms resynchronised");
  await roomsReady(db, 3);
});

after(async () => {
  for (const c of clients.values()) await c.stop();
  await daemon?.stop();
  await db?.end();
  await stack?.stop();
});

const statusOf = async (jid: string) =>
  (await db.query<{ status: string }>("SELECT status FROM roompool_rooms WHERE jid = $1", [jid]))
    .rows[0]?.status;
const waitStatus = (jid: string, status: string) =>
  eventually(
    () => statusOf(jid),
    (s) => s === status || s === "closed",
    `${jid} → ${status}`,
  ).then(async (s) => {
    if (s === status) return;
    const events = await db.query("SELECT * FROM roompool_events WHERE room_jid = $1 ORDER BY id", [
      jid,
    ]);
    throw new Error(
      `${jid} closed: ${JSON.stringify(events.rows)}\n${daemon
        .transcript()
        .split("\n")
        .filter((l) => l.includes(jid))
        .join("\n")}`,
    );
  });

async function claimStaff(id: string) {
  const { rows } = await db.query<{ room_jid: string; room_password: string }>(
    "SELECT * FROM roompool_claim_staff($1, $2)",
    [id, id],
  );
  return { jid: rows[0]!.room_jid, password: rows[0]!.room_password };
}

async function join(name: string, room: string, password: string): Promise<void> {
  const c = person(name);
  const to = `${room}/${name}`;
  await c.xmpp.send(
    xml("presence", { to }, xml("x", { xmlns: NS_MUC }, xml("password", {}, password))),
  );
  await c.waitFor(
    (s) =>
      s.name === "presence" &&
      s.attrs.from === to &&
      (s.getChild("x", NS_MUC_USER)?.getChildren("status") ?? []).some(
        (st) => st.attrs.code === "110",
      ),
  );
}

async function leave(name: string, room: string) {
  await person(name).xmpp.send(xml("presence", { to: `${room}/${name}`, type: "unavailable" }));
}

async function say(name: string, room: string, text: string, id = randomUUID()) {
  await person(name).xmpp.send(
    xml("message", { to: room, type: "groupchat", id }, xml("body", {}, text)),
  );
}

const roomMessage = (room: string, text: string) => (s: Element) =>
  s.name === "message" &&
  String(s.attrs.from).startsWith(`${room}/`) &&
  s.getChildText("body") === text;

const post = (path: string, body: unknown) => call(base, "POST", path, { body });

/** A staff member in a room, waiting, and a browser client claimed into it by token. */
async function chatRoom(staff: string, clientId: string) {
  const room = await claimStaff(staff);
  await join(staff, room.jid, room.password);
  await waitStatus(room.jid, "staff_waiting");
  const minted = await mintToken(base, {
    person: clientId,
    name: `Guest ${clientId}`,
    role: "client",
    claim: true,
  });
  assert.equal(minted.room, room.jid);
  return { room, minted };
}

describe("a browser and a staff XMPP client in a pool room", () => {
  test("chat both ways, the pool walks its lifecycle, the room closes when both leave", async () => {
    const { room, minted } = await chatRoom("staff1", "c-1");
    await waitStatus(room.jid, "chatting");
    const stream = await SseClient.open(`${base}/nereid-chat/stream/${minted.token}`);
    assert.equal(stream.response!.statusCode, 200);
    assert.equal(stream.response!.headers["content-type"], "text/event-stream; charset=utf-8");
    assert.equal(stream.response!.headers["cache-control"], "no-store, no-transform");
    assert.equal(stream.response!.headers["x-accel-buffering"], "no");
    const staffPresence = await stream.waitFor(
      (e) => e.data.type === "presence",
      "the staff member's presence",
    );
    assert.deepEqual(staffPresence.data.presence, [{ entity: "staff1", available: true }]);

    await say("staff1", room.jid, "Hello, how can I help?");
    const hello = await stream.waitFor(
      (e) => e.data.type === "message",
      "the staff member's message",
    );
    const message = hello.data.message as Record<string, unknown>;
    assert.equal(message.text, "Hello, how can I help?");
    assert.equal(message.type, "plain");
    assert.equal(message.thread, minted.thread);
    assert.deepEqual(message.attachments, []);
    assert.deepEqual(message.sender, {
      objectType: "person",
      id: "staff1",
      displayName: "staff1",
    });
    assert.match(String(hello.data.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const id = randomUUID();
    const sent = await post(`/nereid-chat/message/${minted.token}`, {
      id,
      text: "My printer is on fire",
      subject: "Printer",
      language: "en-US",
    });
    assert.equal(sent.status, 202, sent.text);
    const got = await person("staff1").waitFor(roomMessage(room.jid, "My printer is on fire"));
    assert.equal(got.attrs.from, `${room.jid}/Guest c-1`);
    assert.equal(got.attrs.id, id);
    assert.equal(got.getChild("subject"), undefined, "the topic is not a room subject");
    assert.equal(got.getChildText("thread"), minted.thread);
    const echo = await stream.waitFor(
      (e) => e.data.type === "message" && (e.data.message as { id: string }).id === id,
      "the browser's own message",
    );
    assert.equal((echo.data.message as { subject: string }).subject, "Printer");
    assert.deepEqual((echo.data.message as { sender: unknown }).sender, {
      objectType: "person",
      id: "c-1",
      displayName: "Guest c-1",
    });
    // The same message id again is not sent again.
    const again = await post(`/nereid-chat/message/${minted.token}`, {
      id,
      text: "My printer is on fire",
    });
    assert.equal(again.status, 200);
    assert.equal((again.body as { duplicate: boolean }).duplicate, true);

    const presence = await post(`/nereid-chat/presence/${minted.token}`, {
      show: "away",
      status: "looking for the extinguisher",
    });
    assert.equal(presence.status, 200, presence.text);
    await person("staff1").waitFor(
      (s) =>
        s.name === "presence" &&
        s.attrs.from === `${room.jid}/Guest c-1` &&
        s.getChildText("show") === "away",
    );

    await leave("staff1", room.jid);
    await waitStatus(room.jid, "closing");
    await stream.waitFor(
      (e) =>
        e.data.type === "presence" &&
        JSON.stringify(e.data.presence) ===
          JSON.stringify([{ entity: "staff1", available: false }]),
      "the staff member leaving",
    );
    const left = await post(`/nereid-chat/presence/${minted.token}`, { available: false });
    assert.deepEqual(left.body, { ended: true });
    await waitStatus(room.jid, "closed");
    const end = await stream.waitFor((e) => e.data.type === "end", "the final event");
    assert.deepEqual(end.data.end, { reason: "left the chat" });
    await stream.closed();
    assert.equal(texts(stream.events).filter((t) => t === "My printer is on fire").length, 1);
    const ids = stream.events.map((e) => e.id!);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    assert.equal(new Set(ids).size, ids.length);

    const events = await db.query<{ to_status: string }>(
      "SELECT to_status FROM roompool_events WHERE room_jid = $1 ORDER BY id",
      [room.jid],
    );
    assert.deepEqual(
      events.rows.slice(-6).map((e) => e.to_status),
      ["staff_claimed", "staff_waiting", "client_claimed", "chatting", "closing", "closed"],
    );
    const gone = await call(base, "GET", `/nereid-chat/poll/${minted.token}`);
    assert.equal(gone.status, 404, "the session's tokens are revoked");
  });
});

const streamUrl = (token: string, query = "") => `${base}/nereid-chat/stream/${token}${query}`;
const portOf = (url: string) => Number(new URL(url).port);
const messageTexts = async (stream: SseClient, count: number, what: string) => {
  await eventually(
    () => texts(stream.events).length,
    (n) => n >= count,
    what,
  );
  return texts(stream.events);
};

describe("resuming", () => {
  test("a stream cut mid-chat resumes from Last-Event-ID or ?after, nothing lost or twice", async () => {
    const { room, minted } = await chatRoom("staff2", "c-2");
    await waitStatus(room.jid, "chatting");
    const first = await SseClient.open(streamUrl(minted.token));
    await say("staff2", room.jid, "one");
    await messageTexts(first, 1, "the first message");
    first.close();
    // While no stream is open, the chat goes on: the occupant stays (grace period).
    for (const text of ["two", "three", "four"]) await say("staff2", room.jid, text);
    await eventually(
      async () =>
        (
          await db.query(
            "SELECT 1 FROM webchat_events WHERE session_id = $1 AND stanza->>'type' = 'message'",
            [minted.session],
          )
        ).rowCount,
      (n) => n === 4,
      "messages logged while no stream was open",
    );
    const resumed = await SseClient.open(streamUrl(minted.token), {
      "Last-Event-ID": String(first.lastId),
    });
    assert.deepEqual(await messageTexts(resumed, 3, "the missed messages"), [
      "two",
      "three",
      "four",
    ]);
    assert.ok(resumed.events.every((e) => e.id! > first.lastId));
    const fromStart = await SseClient.open(streamUrl(minted.token, "?after=0"));
    assert.deepEqual(await messageTexts(fromStart, 4, "the whole chat"), [
      "one",
      "two",
      "three",
      "four",
    ]);
    assert.equal(await statusOf(room.jid), "chatting", "the cut did not end the chat");
    const poll = await call(base, "GET", `/nereid-chat/poll/${minted.token}?after=${first.lastId}`);
    const envelope = poll.body as {
      timestamp: string;
      stanzas: { type: string; seq: number }[];
      next: number;
    };
    assert.match(envelope.timestamp, /Z$/);
    assert.deepEqual(
      envelope.stanzas
        .filter((s) => s.type === "message")
        .map((s) => (s as unknown as { message: { text: string } }).message.text),
      ["two", "three", "four"],
    );
    assert.equal(envelope.next, envelope.stanzas.at(-1)!.seq);
    // A long poll waits for the next event.
    const waiting = call(
      base,
      "GET",
      `/nereid-chat/poll/${minted.token}?after=${envelope.next}&wait=20`,
    );
    await say("staff2", room.jid, "five");
    const next = (await waiting).body as { stanzas: { message?: { text: string } }[] };
    assert.deepEqual(
      next.stanzas.map((s) => s.message?.text),
      ["five"],
    );
    resumed.close();
    fromStart.close();
  });

  test("a daemon restart mid-chat: the stream resumes with what was said meanwhile, once", async () => {
    const { room, minted } = await chatRoom("staff1", "c-3");
    await waitStatus(room.jid, "chatting");
    const before = await SseClient.open(streamUrl(minted.token));
    await say("staff1", room.jid, "before the restart");
    await messageTexts(before, 1, "a message before the restart");
    const stopped = await daemon.stop("SIGTERM");
    assert.equal(stopped.code, 0, daemon.transcript());
    await before.closed();
    await say("staff1", room.jid, "while it was down");
    ({ daemon, base } = await startWebchatDaemon(stack, "webchat-restarted", SETTINGS));
    await daemon.waitForLog((line) => line.msg === "web chat sessions rejoined", 20_000);
    // Claims made before the bot has rejoined its rooms may name rooms not back on the server.
    await daemon.waitForLog((line) => line.msg === "rooms resynchronised", 20_000);
    const after = await SseClient.open(streamUrl(minted.token), {
      "Last-Event-ID": String(before.lastId),
    });
    await messageTexts(after, 1, "the message sent while the daemon was down");
    await waitStatus(room.jid, "chatting");
    await say("staff1", room.jid, "after the restart");
    assert.deepEqual(await messageTexts(after, 2, "the message after the restart"), [
      "while it was down",
      "after the restart",
    ]);
    const all = await SseClient.open(streamUrl(minted.token, "?after=0"));
    assert.deepEqual(await messageTexts(all, 3, "the whole chat"), [
      "before the restart",
      "while it was down",
      "after the restart",
    ]);
    after.close();
    all.close();
  });
});

describe("the stream through HTTP/1.0 and nginx", () => {
  test("a raw HTTP/1.0 request gets the stream without chunking, ended by closing", async () => {
    const { room, minted } = await chatRoom("staff2", "c-4");
    await say("staff2", room.jid, "over HTTP/1.0");
    const response = rawRequest(portOf(base), [
      `GET /nereid-chat/stream/${minted.token}?after=0 HTTP/1.0`,
      "Host: localhost",
    ]);
    const sse = await SseClient.open(streamUrl(minted.token));
    await messageTexts(sse, 1, "the message");
    await post(`/nereid-chat/presence/${minted.token}`, { available: false });
    const text = await response;
    const [head, body] = text.split("\r\n\r\n", 2) as [string, string];
    assert.match(head, /^HTTP\/1\.1 200 OK/);
    assert.doesNotMatch(head, /transfer-encoding/i);
    assert.match(head, /connection: close/i);
    assert.match(body, /^retry: \d+\n\n/);
    assert.match(body, /id: \d+\ndata: \{"type":"message".*"text":"over HTTP\/1\.0"/);
    assert.match(body, /"type":"end"/);
  });

  test("through Debian's nginx with its default proxy settings, events arrive as they happen", async () => {
    const nginx = await PrivateNginx.start(portOf(base));
    try {
      const { room, minted } = await chatRoom("staff2", "c-nginx");
      const proxied = `http://127.0.0.1:${nginx.port}`;
      const stream = await SseClient.open(`${proxied}/nereid-chat/stream/${minted.token}`);
      assert.equal(stream.response!.statusCode, 200);
      assert.equal(stream.response!.headers["content-type"], "text/event-stream; charset=utf-8");
      for (const text of ["through", "the", "proxy"]) {
        await say("staff2", room.jid, text);
        // Each one arrives while the stream is open: nginx did not hold it in a buffer.
        await stream.waitFor((e) => texts([e]).includes(text), `"${text}" through nginx`);
      }
      const sent = await call(proxied, "POST", `/nereid-chat/message/${minted.token}`, {
        body: { id: randomUUID(), text: "and back" },
      });
      assert.equal(sent.status, 202);
      await person("staff2").waitFor(roomMessage(room.jid, "and back"));
      stream.close();
      await post(`/nereid-chat/presence/${minted.token}`, { available: false });
    } finally {
      await nginx.stop();
    }
  });
});

describe("tokens", () => {
  test("unknown, malformed, expired and revoked tokens get 404; GET on /token is 405", async () => {
    const { minted } = await chatRoom("staff1", "c-5");
    for (const token of ["x".repeat(43), "short", minted.token.slice(1) + "A"]) {
      const reply = await call(base, "GET", `/nereid-chat/poll/${token}`);
      assert.equal(reply.status, 404);
      assert.equal((reply.body as { code: string }).code, "TOKEN_NOT_FOUND");
    }
    const get = await call(base, "GET", "/nereid-chat/token");
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, "POST");
    assert.equal((get.body as { code: string }).code, "METHOD_NOT_ALLOWED");

    // A second token for the same person and room continues the session (same thread).
    const second = await mintToken(base, {
      person: "c-5",
      name: "Guest c-5",
      role: "client",
      room: minted.room,
    });
    assert.equal(second.thread, minted.thread);
    assert.equal(second.session, minted.session);
    const stored = await db.query<{ hash: Buffer }>("SELECT hash FROM webchat_tokens");
    assert.ok(stored.rows.every((row) => !row.hash.toString("utf8").includes(minted.token)));

    await db.query(
      "UPDATE webchat_tokens SET expires_at = clock_timestamp() - interval '1 second' WHERE hash = sha256($1::bytea)",
      [Buffer.from(minted.token)],
    );
    for (const [method, path] of [
      ["GET", `/nereid-chat/stream/${minted.token}`],
      ["GET", `/nereid-chat/poll/${minted.token}`],
      ["POST", `/nereid-chat/message/${minted.token}`],
    ] as const) {
      const reply = await call(
        base,
        method,
        path,
        method === "POST" ? { body: { id: randomUUID(), text: "x" } } : {},
      );
      assert.equal(reply.status, 404, `${method} ${path}: ${reply.text}`);
    }
    assert.equal((await call(base, "GET", `/nereid-chat/poll/${second.token}`)).status, 200);
    const revoke = await call(base, "DELETE", `/nereid-chat/token/${second.token}`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    assert.equal(revoke.status, 204);
    assert.equal((await call(base, "GET", `/nereid-chat/poll/${second.token}`)).status, 404);
    assert.equal(
      (
        await call(base, "DELETE", `/nereid-chat/token/${second.token}`, {
          headers: { authorization: `Bearer ${API_KEY}` },
        })
      ).status,
      404,
    );
  });

  test("the web app's requests: API key, body, rooms it did not claim, no room free", async () => {
    const token = (body: unknown, key = API_KEY) =>
      call(base, "POST", "/nereid-chat/token", {
        body,
        headers: { authorization: `Bearer ${key}` },
      });
    const noKey = await call(base, "POST", "/nereid-chat/token", { body: {} });
    assert.equal(noKey.status, 401);
    assert.equal(noKey.headers["www-authenticate"], "Bearer");
    assert.equal((await token({}, "wrong-key-wrong-key-wrong")).status, 401);
    const missing = await token({ name: "A", role: "client", claim: true });
    assert.equal(missing.status, 400);
    assert.deepEqual(
      {
        code: (missing.body as { code: string }).code,
        field: (missing.body as { field: string }).field,
      },
      { code: "BAD_REQUEST", field: "person" },
    );
    const both = await token({ person: "p", name: "A", role: "client" });
    assert.equal((both.body as { field: string }).field, "room");
    const role = await token({ person: "p", name: "A", role: "boss", claim: true });
    assert.equal((role.body as { field: string }).field, "role");
    const notPool = await token({
      person: "p",
      name: "A",
      role: "client",
      room: "lobby@conference.localhost",
    });
    assert.equal(notPool.status, 409);
    assert.equal((notPool.body as { code: string }).code, "ROOM_NOT_CLAIMED");
    const room = await claimStaff("s-other");
    const notYours = await token({
      person: "someone-else",
      name: "A",
      role: "staff",
      room: room.jid,
    });
    assert.equal((notYours.body as { code: string }).code, "ROOM_NOT_CLAIMED");
    const noStaff = await token({ person: "lonely", name: "Lonely", role: "client", claim: true });
    assert.equal(noStaff.status, 503);
    assert.equal((noStaff.body as { code: string }).code, "NO_ROOM_AVAILABLE");
    // The staff member the web app claimed the room for may have a token for it, as a form post.
    const form = await call(base, "POST", "/nereid-chat/token", {
      form: { person: "s-other", name: "Other staff", role: "staff", room: room.jid },
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    assert.equal(form.status, 200, form.text);
    await waitStatus(room.jid, "staff_waiting");
    const left = await post(`/nereid-chat/presence/${(form.body as { token: string }).token}`, {
      available: false,
    });
    assert.equal(left.status, 200);
    await waitStatus(room.jid, "available");
  });
});

describe("a page reload and the grace period", () => {
  test("a reload keeps the occupant; once no stream comes back, the person has left", async () => {
    const minted = await mintToken(base, {
      person: "s-grace",
      name: "Grace",
      role: "staff",
      claim: true,
    });
    await waitStatus(minted.room, "staff_waiting");
    const page = await SseClient.open(streamUrl(minted.token));
    page.close();
    const reloaded = await SseClient.open(streamUrl(minted.token));
    assert.equal(reloaded.response!.statusCode, 200);
    assert.equal(await statusOf(minted.room), "staff_waiting");
    reloaded.close();
    await waitStatus(minted.room, "available");
    assert.equal((await call(base, "GET", `/nereid-chat/poll/${minted.token}`)).status, 404);
    const { rows } = await db.query<{ end_reason: string }>(
      "SELECT end_reason FROM webchat_sessions WHERE id = $1",
      [minted.session],
    );
    assert.equal(rows[0]!.end_reason, "the browser went away");
  });

  test("a destroyed room ends the stream with a final event and revokes the tokens", async () => {
    const minted = await mintToken(base, {
      person: "s-destroy",
      name: "Dee",
      role: "staff",
      claim: true,
    });
    await waitStatus(minted.room, "staff_waiting");
    const stream = await SseClient.open(streamUrl(minted.token));
    const owner = await TestClient.connect(stack, account("bot"), "destroyer");
    try {
      const reply = await owner.request(
        xml(
          "iq",
          { type: "set", to: minted.room },
          xml(
            "query",
            { xmlns: NS_MUC_OWNER },
            xml("destroy", {}, xml("reason", {}, "closing time")),
          ),
        ),
      );
      assert.equal(reply.attrs.type, "result", reply.toString());
    } finally {
      await owner.stop();
    }
    const end = await stream.waitFor((e) => e.data.type === "end", "the final event");
    assert.deepEqual(end.data.end, { reason: "the chat has ended: closing time" });
    await stream.closed();
    assert.equal((await call(base, "GET", `/nereid-chat/poll/${minted.token}`)).status, 404);
  });
});

describe("a one-to-one thread with an XMPP user the token allows", () => {
  test("chat messages with <thread/> both ways; others are refused", async () => {
    const minted = await mintToken(base, {
      person: "s-direct",
      name: "Direct",
      role: "staff",
      claim: true,
      contacts: ["friend@localhost"],
    });
    const stream = await SseClient.open(streamUrl(minted.token));
    const id = randomUUID();
    const sent = await post(`/nereid-chat/message/${minted.token}`, {
      id,
      to: "friend@localhost",
      text: "psst",
      subject: "private",
    });
    assert.equal(sent.status, 202, sent.text);
    const thread = (sent.body as { thread: string }).thread;
    assert.notEqual(thread, minted.thread);
    const got = await person("friend").waitFor(
      (s) => s.name === "message" && s.getChildText("body") === "psst",
    );
    assert.equal(got.attrs.type, "chat");
    assert.equal(got.attrs.from, `webchat-${minted.session}@${stack.componentJid}`);
    assert.equal(got.getChildText("thread"), thread);
    assert.equal(got.getChildText("subject"), "private");
    await stream.waitFor(
      (e) => e.data.type === "message" && (e.data.message as { id: string }).id === id,
      "the browser's own one-to-one message",
    );
    await person("friend").xmpp.send(
      xml(
        "message",
        { to: got.attrs.from, type: "chat", id: "r1" },
        xml("body", {}, "hi back"),
        xml("thread", {}, thread),
      ),
    );
    const reply = await stream.waitFor(
      (e) => e.data.type === "message" && (e.data.message as { text: string }).text === "hi back",
      "the XMPP user's reply",
    );
    assert.equal((reply.data.message as { thread: string }).thread, thread);
    assert.deepEqual((reply.data.message as { sender: unknown }).sender, {
      objectType: "person",
      id: "xmpp:friend@localhost",
      displayName: "friend",
    });
    const byThread = await post(`/nereid-chat/message/${minted.token}`, {
      id: randomUUID(),
      thread,
      text: "again",
    });
    assert.equal(byThread.status, 202);
    await person("friend").waitFor((s) => s.getChildText("body") === "again");

    await person("stranger").xmpp.send(
      xml("message", { to: got.attrs.from, type: "chat", id: "s1" }, xml("body", {}, "let me in")),
    );
    const refused = await person("stranger").waitFor(
      (s) => s.name === "message" && s.attrs.type === "error",
    );
    assert.ok(refused.getChild("error")?.getChild("forbidden"));
    const toStranger = await post(`/nereid-chat/message/${minted.token}`, {
      id: randomUUID(),
      to: "stranger@localhost",
      text: "hello?",
    });
    assert.equal(toStranger.status, 403);
    assert.deepEqual(
      [(toStranger.body as { code: string }).code, (toStranger.body as { field: string }).field],
      ["CONTACT_NOT_ALLOWED", "to"],
    );
    const unknownThread = await post(`/nereid-chat/message/${minted.token}`, {
      id: randomUUID(),
      thread: "nope",
      text: "?",
    });
    assert.deepEqual((unknownThread.body as { field: string }).field, "thread");
    assert.ok(!texts(stream.events).includes("let me in"));
    await post(`/nereid-chat/presence/${minted.token}`, { available: false });
    await stream.closed();
  });
});

describe("limits", () => {
  test("bad bodies, sizes, origins, open streams and rate limits answer as documented", async () => {
    const minted = await mintToken(base, {
      person: "s-limits",
      name: "Limits",
      role: "staff",
      claim: true,
    });
    const message = (body: unknown, headers: Record<string, string> = {}) =>
      call(base, "POST", `/nereid-chat/message/${minted.token}`, { body, headers });
    const check = async (
      reply: Promise<{ status: number; body: unknown; text: string }>,
      status: number,
      code: string,
      field?: string,
    ) => {
      const { status: got, body, text } = await reply;
      assert.equal(got, status, text);
      const error = body as {
        statusCode: number;
        code: string;
        field?: string;
        message: string;
        error: string;
      };
      assert.equal(error.statusCode, status);
      assert.equal(error.code, code, text);
      assert.equal(typeof error.message, "string");
      if (field !== undefined) assert.equal(error.field, field, text);
    };
    await check(message({ id: "not-a-uuid", text: "x" }), 400, "BAD_REQUEST", "id");
    await check(message({ id: randomUUID(), text: "x".repeat(2_001) }), 400, "BAD_REQUEST", "text");
    await check(message({ id: randomUUID(), text: "x", type: "pdf" }), 400, "BAD_REQUEST", "type");
    await check(message({ id: randomUUID(), text: "x", colour: "red" }), 400, "BAD_REQUEST");
    await check(
      message({ id: randomUUID(), text: "x", attachments: [{ url: "x" }] }),
      400,
      "BAD_REQUEST",
      "attachments",
    );
    await check(
      message({ id: randomUUID(), text: "x".repeat(9_000) }),
      413,
      "BODY_TOO_LARGE",
      "body",
    );
    await check(
      call(base, "POST", `/nereid-chat/message/${minted.token}`, {
        raw: "{not json",
        headers: { "content-type": "application/json" },
      }),
      400,
      "BAD_REQUEST",
      "body",
    );
    await check(
      call(base, "POST", `/nereid-chat/message/${minted.token}`, {
        raw: "<xml/>",
        headers: { "content-type": "text/xml" },
      }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await check(
      call(base, "POST", `/nereid-chat/presence/${minted.token}`, { body: { show: "sleeping" } }),
      400,
      "BAD_REQUEST",
      "show",
    );
    await check(
      call(base, "GET", `/nereid-chat/poll/${minted.token}?after=-1`),
      400,
      "BAD_REQUEST",
      "after",
    );
    await check(call(base, "GET", "/nowhere"), 404, "NOT_FOUND");
    await check(
      call(base, "GET", `/nereid-chat/poll/${minted.token}`, {
        headers: { origin: "http://evil.example" },
      }),
      403,
      "ORIGIN_NOT_ALLOWED",
      "origin",
    );
    const allowed = await call(base, "GET", `/nereid-chat/poll/${minted.token}`, {
      headers: { origin: ORIGIN },
    });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers["access-control-allow-origin"], ORIGIN);
    const preflight = await call(base, "OPTIONS", `/nereid-chat/message/${minted.token}`, {
      headers: {
        origin: ORIGIN,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers["access-control-allow-origin"], ORIGIN);

    // Open streams: four per token, eight per address.
    const far = { "x-forwarded-for": "192.0.2.7" };
    const streams = [];
    for (let i = 0; i < 4; i++) streams.push(await SseClient.open(streamUrl(minted.token), far));
    await check(
      call(base, "GET", `/nereid-chat/stream/${minted.token}`, { headers: far }),
      429,
      "TOO_MANY_STREAMS",
    );
    const other = await mintToken(base, {
      person: "s-limits",
      name: "Limits",
      role: "staff",
      room: minted.room,
    });
    for (let i = 0; i < 4; i++) streams.push(await SseClient.open(streamUrl(other.token), far));
    const third = await mintToken(base, {
      person: "s-limits",
      name: "Limits",
      role: "staff",
      room: minted.room,
    });
    await check(
      call(base, "GET", `/nereid-chat/stream/${third.token}`, { headers: far }),
      429,
      "TOO_MANY_STREAMS",
    );
    for (const stream of streams) stream.close();

    // Requests per token (25 a minute here).
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 30 && !limited; i++) {
      const reply = await call(base, "GET", `/nereid-chat/poll/${third.token}`);
      if (reply.status === 429) limited = reply;
    }
    assert.ok(limited, "a token is rate limited");
    assert.equal((limited.body as { code: string }).code, "RATE_LIMITED");
    assert.ok(Number(limited.headers["retry-after"]) >= 1);
    // Token requests per API key (30 a minute here), counted for the key that asked.
    let keyLimited = false;
    for (let i = 0; i < 35 && !keyLimited; i++) {
      const reply = await call(base, "POST", "/nereid-chat/token", {
        body: {},
        headers: { authorization: `Bearer ${API_KEY_2}`, ...far },
      });
      keyLimited = reply.status === 429 && (reply.body as { code: string }).code === "RATE_LIMITED";
    }
    assert.ok(keyLimited, "an API key is rate limited");
    // Requests per address (400 a minute here).
    const elsewhere = { "x-forwarded-for": "198.51.100.9" };
    let addressLimited = false;
    for (let i = 0; i < 410 && !addressLimited; i++) {
      const reply = await call(base, "GET", "/nereid-chat/poll/unknown", { headers: elsewhere });
      addressLimited = reply.status === 429;
    }
    assert.ok(addressLimited, "an address is rate limited");
    assert.equal(
      (await call(base, "GET", `/nereid-chat/poll/${minted.token}`)).status,
      200,
      "others are not",
    );
  });

  test("a log far longer than the backlog bound is replayed at the reader's pace", async () => {
    const minted = await mintToken(base, {
      person: "s-slow",
      name: "Slow",
      role: "staff",
      claim: true,
    });
    // 2,000 events of 4 KB in the log: far more than the socket buffers and the 64 KB bound.
    await db.query(
      `WITH n AS (UPDATE webchat_sessions SET last_seq = last_seq + 2000 WHERE id = $1 RETURNING last_seq)
       INSERT INTO webchat_events (session_id, seq, stanza)
       SELECT $1, n.last_seq - 2000 + i, json_build_object('type', 'message', 'timestamp', '2024-01-01T00:00:00Z',
         'message', json_build_object('text', repeat('x', 4000), 'type', 'plain', 'attachments', '[]'::json,
           'id', '', 'thread', 't', 'sender', json_build_object('objectType', 'person', 'id', 'p', 'displayName', 'P')))
       FROM n, generate_series(1, 2000) AS i`,
      [minted.session],
    );
    const { rows } = await db.query<{ last_seq: string }>(
      "SELECT last_seq FROM webchat_sessions WHERE id = $1",
      [minted.session],
    );
    const last = Number(rows[0]!.last_seq);
    const text = await rawRequestPaused(
      portOf(base),
      `/nereid-chat/stream/${minted.token}?after=0`,
      `id: ${last}\n`,
    );
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(ids.length, last, "every event, once");
    assert.deepEqual(
      ids,
      Array.from({ length: last }, (_, i) => i + 1),
    );
    await post(`/nereid-chat/presence/${minted.token}`, { available: false });
  });
});

/** Opens a stream and does not read it for a while, then reads what is left until it closes. */
async function rawRequestPaused(port: number, path: string, until: string): Promise<string> {
  const { connect } = await import("node:net");
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1" });
    let text = "";
    socket.setEncoding("utf8");
    socket.pause();
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    setTimeout(() => {
      socket.on("data", (chunk: string) => {
        text += chunk;
        if (text.includes(until)) socket.destroy();
      });
      socket.resume();
    }, 1_500);
    socket.on("close", () => resolve(text));
    socket.on("error", reject);
  });
}
