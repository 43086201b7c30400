import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Element } from "@xmpp/xml";
import pg from "pg";
import { TestClient, errorCondition, xml } from "../harness/client.js";
import { eventually } from "../harness/eventually.js";
import { Daemon } from "../harness/daemon.js";
import { startStack, type Stack } from "../harness/stack.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";

const people = ["staff1", "staff2", "client1", "client2", "intruder"];
let stack: Stack;
let daemon: Daemon;
let db: pg.Pool;
const clients = new Map<string, TestClient>();
const person = (name: string) => clients.get(name)!;
const account = (name: string) => ({ username: name, password: `pw-${name}` });

async function startDaemon(name: string) {
  const started = await Daemon.start(stack, {
    name,
    logLevel: "info",
    extra: {
      roompool: {
        service: stack.prosody.service,
        jid: "bot@localhost",
        password: "pw-bot",
        muc_service: stack.prosody.mucDomain,
        min_available: 3,
        max_rooms: 10,
        history_length: 0,
        claim_timeout_ms: 1_500,
        maintenance_interval_ms: 200,
      },
    },
  });
  await started.waitForLog((line) => line.msg === "rooms resynchronised");
  return started;
}

before(async () => {
  stack = await startStack({ accounts: ["bot", ...people].map(account) });
  db = new pg.Pool({ connectionString: stack.db.url });
  for (const name of people) clients.set(name, await TestClient.connect(stack, account(name)));
  daemon = await startDaemon("pool");
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
const availableCount = async () =>
  (
    await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM roompool_rooms WHERE status = 'available'",
    )
  ).rows[0]!.n;

/** Calls the web application's claim function; asserts that a room was given. */
async function claim(who: "staff" | "client", id: string) {
  const { rows } = await db.query<{ room_jid: string; room_password: string }>(
    `SELECT * FROM roompool_claim_${who}($1, $2)`,
    [id, id],
  );
  assert.equal(rows.length, 1, `a room for ${who} ${id}`);
  return { jid: rows[0]!.room_jid, password: rows[0]!.room_password };
}
const claimStaff = (id: string) => claim("staff", id);
const claimClient = (id: string) => claim("client", id);

/** Joins a room; resolves with the self-presence or the error presence the room answers with. */
async function join(name: string, room: string, password?: string): Promise<Element> {
  const c = person(name);
  const x = xml("x", { xmlns: NS_MUC });
  if (password !== undefined) x.append(xml("password", {}, password));
  const to = `${room}/${name}`;
  c.received.length = 0;
  await c.xmpp.send(xml("presence", { to }, x));
  return c.waitFor(
    (s) =>
      s.name === "presence" &&
      s.attrs.from === to &&
      (s.attrs.type === "error" ||
        (s.getChild("x", NS_MUC_USER)?.getChildren("status") ?? []).some(
          (st) => st.attrs.code === "110",
        )),
  );
}
async function leave(name: string, room: string) {
  await person(name).xmpp.send(xml("presence", { to: `${room}/${name}`, type: "unavailable" }));
}
async function discoInfo(name: string, to: string) {
  return person(name).request(
    xml("iq", { type: "get", to }, xml("query", { xmlns: NS_DISCO_INFO })),
  );
}

describe("the pool", () => {
  test("fills to min_available with password-protected, unlisted rooms", async () => {
    await eventually(availableCount, (n) => n === 3, "available rooms");
    const { jid, password } = await claimStaff("s-fill");
    const info = await discoInfo("staff1", jid);
    const features = info
      .getChild("query", NS_DISCO_INFO)!
      .getChildren("feature")
      .map((f) => String(f.attrs.var));
    assert.ok(features.includes("muc_passwordprotected"), features.join(" "));
    assert.ok(features.includes("muc_hidden"));
    assert.ok(features.includes("muc_temporary"));
    const listed = await person("staff1").request(
      xml(
        "iq",
        { type: "get", to: stack.prosody.mucDomain },
        xml("query", { xmlns: NS_DISCO_ITEMS }),
      ),
    );
    assert.ok(!listed.toString().includes(jid.split("@")[0]!), "not in the public room list");
    assert.equal(errorCondition(await join("staff1", jid)), "not-authorized");
    assert.equal(errorCondition(await join("staff1", jid, "wrong")), "not-authorized");
    const accepted = await join("staff1", jid, password);
    assert.notEqual(accepted.attrs.type, "error");
    await waitStatus(jid, "staff_waiting");
    await leave("staff1", jid);
    await waitStatus(jid, "available");
  });

  test("a chat walks through every status, the room is destroyed, the row stays, the pool refills", async () => {
    const staffRoom = await claimStaff("s-chat");
    await waitStatus(staffRoom.jid, "staff_claimed");
    await join("staff1", staffRoom.jid, staffRoom.password);
    await waitStatus(staffRoom.jid, "staff_waiting");
    const clientRoom = await claimClient("c-chat");
    assert.equal(clientRoom.jid, staffRoom.jid);
    await waitStatus(staffRoom.jid, "client_claimed");
    await join("client1", clientRoom.jid, clientRoom.password);
    await waitStatus(staffRoom.jid, "chatting");
    await leave("staff1", staffRoom.jid);
    await waitStatus(staffRoom.jid, "closing");
    await leave("client1", staffRoom.jid);
    await waitStatus(staffRoom.jid, "closed");

    // The row says closed when the bot sends the destroy; the server removes the room on its
    // answer (ejabberd answers disco#info for the room until then).
    await eventually(
      async () => errorCondition(await discoInfo("staff1", staffRoom.jid)),
      (condition) => condition === "item-not-found",
      "destroyed",
    );
    const { rows } = await db.query<{
      staff_occupant: string;
      client_occupant: string;
      staff_real_jid: string;
      closed_at: Date;
    }>("SELECT staff_real_jid, closed_at FROM roompool_rooms WHERE jid = $1", [staffRoom.jid]);
    assert.match(rows[0]!.staff_real_jid, /^staff1@localhost\//);
    assert.ok(rows[0]!.closed_at instanceof Date);
    const events = await db.query<{ from_status: string | null; to_status: string; cause: string }>(
      "SELECT from_status, to_status, cause FROM roompool_events WHERE room_jid = $1 ORDER BY id",
      [staffRoom.jid],
    );
    assert.deepEqual(
      // The room may have served an earlier claim before (it went back to available then).
      events.rows.slice(-7).map((e) => e.to_status),
      [
        "available",
        "staff_claimed",
        "staff_waiting",
        "client_claimed",
        "chatting",
        "closing",
        "closed",
      ],
    );
    assert.ok(
      events.rows.every((e) => e.cause !== "unspecified"),
      JSON.stringify(events.rows),
    );
    await eventually(availableCount, (n) => n === 3, "refilled");
  });

  test("a third person entering a chat is kicked, and the chat goes on", async () => {
    const room = await claimStaff("s-third");
    await join("staff2", room.jid, room.password);
    await waitStatus(room.jid, "staff_waiting");
    await claimClient("c-third");
    await join("client2", room.jid, room.password);
    await waitStatus(room.jid, "chatting");
    await join("intruder", room.jid, room.password);
    const kicked = await person("intruder").waitFor(
      (s) =>
        s.name === "presence" &&
        s.attrs.type === "unavailable" &&
        (s.getChild("x", NS_MUC_USER)?.getChildren("status") ?? []).some(
          (st) => st.attrs.code === "307",
        ),
    );
    assert.ok(kicked);
    assert.equal(await statusOf(room.jid), "chatting");
    await leave("staff2", room.jid);
    await leave("client2", room.jid);
    await waitStatus(room.jid, "closed");
  });

  test("someone entering a room nobody claimed is kicked", async () => {
    const { rows } = await db.query<{ jid: string; password: string }>(
      "SELECT jid, password FROM roompool_rooms WHERE status = 'available' LIMIT 1",
    );
    await join("intruder", rows[0]!.jid, rows[0]!.password);
    await person("intruder").waitFor(
      (s) => s.name === "presence" && s.attrs.type === "unavailable",
    );
    assert.equal(await statusOf(rows[0]!.jid), "available");
  });

  test("claims whose person never arrives are released, and the room stays usable", async () => {
    const room = await claimStaff("s-late");
    await waitStatus(room.jid, "available");
    const cause = await db.query<{ cause: string }>(
      "SELECT cause FROM roompool_events WHERE room_jid = $1 ORDER BY id DESC LIMIT 1",
      [room.jid],
    );
    assert.equal(cause.rows[0]!.cause, "staff did not arrive in time");

    const again = await claimStaff("s-on-time");
    await join("staff1", again.jid, again.password);
    await waitStatus(again.jid, "staff_waiting");
    await claimClient("c-late");
    await waitStatus(again.jid, "client_claimed");
    await waitStatus(again.jid, "staff_waiting");
    await claimClient("c-on-time");
    await join("client1", again.jid, again.password);
    await waitStatus(again.jid, "chatting");
    await leave("client1", again.jid);
    await leave("staff1", again.jid);
    await waitStatus(again.jid, "closed");
  });
});

describe("restarts", () => {
  test("after SIGKILL mid-chat and changes while down, the table matches the rooms within seconds", async () => {
    const a = await claimStaff("s-kill-a");
    await join("staff1", a.jid, a.password);
    await waitStatus(a.jid, "staff_waiting");
    await claimClient("c-kill-a");
    await join("client1", a.jid, a.password);
    await waitStatus(a.jid, "chatting");
    const b = await claimStaff("s-kill-b");
    await join("staff2", b.jid, b.password);
    await waitStatus(b.jid, "staff_waiting");
    const c = await claimStaff("s-kill-c");
    await join("client2", c.jid, c.password);
    await waitStatus(c.jid, "staff_waiting");
    const available = await db.query<{ jid: string; password: string }>(
      "SELECT jid, password FROM roompool_rooms WHERE status = 'available'",
    );

    assert.equal((await daemon.stop("SIGKILL")).signal, "SIGKILL");
    await leave("client1", a.jid); // a: the staff member is alone now
    await leave("staff2", b.jid); // b: empty, so the server removed the temporary room
    daemon = await startDaemon("pool-after-kill");

    await waitStatus(a.jid, "closing");
    // b: its staff member left an empty room, as if seen live: made again, available.
    await waitStatus(b.jid, "available");
    assert.equal(await statusOf(c.jid), "staff_waiting", "c had not changed");
    for (const room of available.rows) assert.equal(await statusOf(room.jid), "available");
    // The rooms that vanished with the bot were made again, with the same password.
    const reused = await claimStaff("s-after");
    assert.ok([b.jid, ...available.rows.map((r) => r.jid)].includes(reused.jid));
    assert.notEqual((await join("staff2", reused.jid, reused.password)).attrs.type, "error");
    await waitStatus(reused.jid, "staff_waiting");
    await leave("staff2", reused.jid);
    await leave("staff1", a.jid);
    await leave("client2", c.jid);
    await waitStatus(a.jid, "closed");
    await waitStatus(c.jid, "available");
  });
});
