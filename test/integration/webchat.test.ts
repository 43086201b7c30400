import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Element } from "@xmpp/xml";
import pg from "pg";
import { TestClient, xml } from "../harness/client.js";
import type { Daemon } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { startStack, type Stack } from "../harness/stack.js";
import {
  API_KEY,
  SseClient,
  call,
  mintToken,
  startWebchatDaemon,
  texts,
} from "../harness/webchat.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";

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
  ({ daemon, base } = await startWebchatDaemon(stack, "webchat"));
  await daemon.waitForLog((line) => line.msg === "rooms resynchronised");
  await eventually(
    async () =>
      (await db.query("SELECT 1 FROM roompool_rooms WHERE status = 'available'")).rowCount ?? 0,
    (n) => n >= 3,
    "rooms ready",
  );
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
    (s) => s === status,
    `${jid} → ${status}`,
  );

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
