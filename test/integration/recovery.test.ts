import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TestClient, errorCondition, xml } from "../harness/client.js";
import { Daemon } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { PoolWorld, account, poolDaemon, type Room } from "../harness/pool.js";
import { startStack, type Stack } from "../harness/stack.js";

/**
 * The pool's table stays true through the faults an operator meets: the daemon killed with
 * rooms in every state, people coming and going while it is down, and the XMPP server
 * restarting mid-chat. "True" means: nothing closed that should stay open, nothing left open
 * that emptied, and every change in room_events with its cause.
 */

const people = ["staff1", "staff2", "staff3", "staff4", "client1", "client2"];
let stack: Stack;
let world: PoolWorld;
let daemon: Daemon;

/** Claims here must outlive a restart: they do not time out during a test. */
const CLAIMS_WAIT = { claim_timeout_ms: 600_000 };

const start = async (name: string, extra: Record<string, unknown> = {}) => {
  const options = poolDaemon(stack, name, { extra: { roompool: poolDaemonPool(), ...extra } });
  const started = await Daemon.start(stack, options);
  await started.waitForLog((line) => line.msg === "rooms resynchronised", 30_000);
  return started;
};

before(async () => {
  stack = await startStack({ accounts: ["bot", ...people].map(account) });
  world = await PoolWorld.open(stack, people);
  daemon = await start("recovery");
});

after(async () => {
  await daemon?.stop();
  await world?.close();
  await stack?.stop();
});

/** Rooms in every open status: available, staff_claimed, staff_waiting, chatting, closing. */
async function everyStatus() {
  const chatting = await world.chat("staff1", "client1");
  const closing = await world.chat("staff2", "client2");
  await world.leave("client2", closing.jid);
  await world.waitStatus(closing.jid, "closing");
  const waiting = await world.staffWaiting("staff3");
  const claimed = await world.claim("staff", "s-claimed");
  await world.waitStatus(claimed.jid, "staff_claimed");
  await eventually(
    () => world.availableCount(),
    (n) => n >= 1,
    "an available room",
  );
  const { rows } = await world.db.query<{ jid: string }>(
    "SELECT jid FROM roompool_rooms WHERE status = 'available' LIMIT 1",
  );
  return { available: rows[0]!.jid, claimed, waiting, chatting, closing };
}

async function endChats(...rooms: Array<[Room, string[]]>) {
  for (const [room, names] of rooms) for (const name of names) await world.leave(name, room.jid);
}

describe("the daemon killed (SIGKILL) with rooms in every state", () => {
  test("nothing happened meanwhile: every room keeps its status", async () => {
    const rooms = await everyStatus();
    assert.equal((await daemon.stop("SIGKILL")).signal, "SIGKILL");
    daemon = await start("after-kill");
    assert.equal(await world.statusOf(rooms.available), "available");
    assert.equal(await world.statusOf(rooms.claimed.jid), "staff_claimed");
    assert.equal(await world.statusOf(rooms.waiting.jid), "staff_waiting");
    assert.equal(await world.statusOf(rooms.chatting.jid), "chatting");
    assert.equal(await world.statusOf(rooms.closing.jid), "closing");
    // The claimed room vanished with the bot and was made again: its staff member gets in.
    assert.notEqual(
      (await world.join("staff4", rooms.claimed.jid, rooms.claimed.password)).attrs.type,
      "error",
    );
    await world.waitStatus(rooms.claimed.jid, "staff_waiting");
    await endChats(
      [rooms.claimed, ["staff4"]],
      [rooms.waiting, ["staff3"]],
      [rooms.chatting, ["staff1", "client1"]],
      [rooms.closing, ["staff2"]],
    );
    await world.waitStatus(rooms.closing.jid, "closed");
    await world.waitStatus(rooms.chatting.jid, "closed");
  });

  test("people left while it was down: what emptied closes, what did not stays", async (t) => {
    const rooms = await everyStatus();
    assert.equal((await daemon.stop("SIGKILL")).signal, "SIGKILL");
    await world.leave("staff2", rooms.closing.jid); // the last one: the room empties
    await world.leave("client1", rooms.chatting.jid); // a chat becomes a closing room
    await world.leave("staff3", rooms.waiting.jid); // a waiting staff member gives up
    const restartedAt = Date.now();
    daemon = await start("after-kill-changes");
    await world.waitStatus(rooms.closing.jid, "closed");
    await world.waitStatus(rooms.chatting.jid, "closing");
    await world.waitStatus(rooms.waiting.jid, "available");
    t.diagnostic(`table true ${Date.now() - restartedAt} ms after the restart began`);
    assert.equal(await world.statusOf(rooms.claimed.jid), "staff_claimed");
    const causes = (await world.events(rooms.chatting.jid)).map((e) => e.cause);
    assert.match(causes.at(-1)!, /client client1 left/);
    await endChats([rooms.chatting, ["staff1"]]);
    await world.waitStatus(rooms.chatting.jid, "closed");
  });

  test("a claimed room whose staff member arrived while it was down is not left claimed for ever", async () => {
    const claimed = await world.claim("staff", "s-arrives-while-down");
    assert.equal((await daemon.stop("SIGKILL")).signal, "SIGKILL");
    // The bot's temporary room vanishes with it (once the server has seen the bot go); the
    // staff member's join then makes a new one of that name, owned by them and not protected.
    // ejabberd may not answer at all while it tears the room down: ask again.
    await eventually(
      () =>
        world
          .person("staff4")
          .request(discoInfo(claimed.jid))
          .then(errorCondition, () => "no answer yet"),
      (condition) => condition === "item-not-found",
      "the bot's room is gone from the server",
    );
    await world.join("staff4", claimed.jid, claimed.password);
    daemon = await start("after-kill-taken");
    await world.waitStatus(claimed.jid, "closed");
    const last = (await world.events(claimed.jid)).at(-1)!;
    assert.equal(last.from_status, "staff_claimed");
    assert.match(last.cause, /someone else made a room of this name while the bot was away/);
    // The web application sends the staff member to a new room, which works as any other.
    await world.leave("staff4", claimed.jid);
    const fresh = await world.staffWaiting("staff4");
    assert.notEqual(fresh.jid, claimed.jid);
    await world.leave("staff4", fresh.jid);
    await world.waitStatus(fresh.jid, "available");
  });
});

describe("persistent rooms (roompool.persistent: true)", () => {
  test("they outlive the bot: a staff member arriving while it is down is seen after the restart", async () => {
    await daemon.stop();
    daemon = await start("persistent", { roompool: { ...poolDaemonPool(), persistent: true } });
    const claimed = await world.claim("staff", "s-persistent");
    assert.equal((await daemon.stop("SIGKILL")).signal, "SIGKILL");
    const joined = await world.join("staff4", claimed.jid, claimed.password);
    assert.notEqual(joined.attrs.type, "error", "the room is still there, with its password");
    daemon = await start("persistent-after-kill", {
      roompool: { ...poolDaemonPool(), persistent: true },
    });
    await world.waitStatus(claimed.jid, "staff_waiting");
    await world.leave("staff4", claimed.jid);
    await world.waitStatus(claimed.jid, "available");
    await daemon.stop();
    daemon = await start("temporary-again");
  });
});

describe("the XMPP server restarts mid-chat", () => {
  test("the bot comes back and the table matches the rooms that are left", async (t) => {
    const rooms = await everyStatus();
    await stack.prosody.restart();
    const serverBackAt = Date.now();
    // Every client was disconnected: the people are gone from every room.
    for (const name of people)
      world.clients.set(name, await TestClient.connect(stack, account(name)));
    await daemon.waitForLog(
      () => daemon.logs.filter((l) => l.msg === "rooms resynchronised").length >= 2,
      30_000,
    );
    await world.waitStatus(rooms.chatting.jid, "closed");
    await world.waitStatus(rooms.closing.jid, "closed");
    await world.waitStatus(rooms.waiting.jid, "available");
    t.diagnostic(`table true ${Date.now() - serverBackAt} ms after the server was back`);
    assert.equal(await world.statusOf(rooms.claimed.jid), "staff_claimed");
    assert.equal(await world.statusOf(rooms.available), "available");
    const joined = await world.join("staff1", rooms.claimed.jid, rooms.claimed.password);
    assert.notEqual(
      joined.attrs.type,
      "error",
      `the claimed room was made again: ${joined.toString()}\n${daemon.transcript()}`,
    );
    await world.waitStatus(rooms.claimed.jid, "staff_waiting");
    await world.leave("staff1", rooms.claimed.jid);
  });
});

const discoInfo = (to: string) =>
  xml("iq", { type: "get", to }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }));

function poolDaemonPool(): Record<string, unknown> {
  return { ...(poolDaemon(stack, "x").extra as { roompool: object }).roompool, ...CLAIMS_WAIT };
}
