import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, beforeEach, test } from "node:test";
import pg from "pg";
import { pino } from "pino";
import { createScratchDatabase, type ScratchDatabase } from "../../src/dev/database.js";
import { migrate } from "../../src/db/migrate.js";
import { createPool, transaction } from "../../src/db/pool.js";
import { migrationsDir } from "../../src/paths.js";

// The room pool's SQL contract with the web application (migrations/002_roompool.sql), against a
// real PostgreSQL: the claim and release functions, the event log, NOTIFY and the status CHECK.

const log = pino({ level: "silent" });
let db: ScratchDatabase;
let pool: pg.Pool;

/** Any fixed 64-bit key: held exclusively by a test, waited for (shared) by concurrent claims. */
const BARRIER_LOCK = 4_242_424_242;

before(async () => {
  db = await createScratchDatabase();
  pool = createPool(db.url, 64, log);
  await migrate(pool, migrationsDir, log);
});

after(async () => {
  await pool?.end();
  await db?.drop();
});

beforeEach(async () => {
  await pool.query("TRUNCATE roompool_events, roompool_rooms RESTART IDENTITY");
});

type Status =
  | "available"
  | "staff_claimed"
  | "staff_waiting"
  | "client_claimed"
  | "chatting"
  | "closing"
  | "closed";

interface NewRoom {
  jid: string;
  status?: Status;
  /** Minutes after a fixed base time. */
  created?: number;
  staffJoined?: number;
  staffId?: string;
  staffNick?: string;
  clientId?: string;
  clientNick?: string;
}

const BASE = "2030-01-01T12:00:00Z";
const at = (minutes: number) => new Date(Date.parse(BASE) + minutes * 60_000);
const password = (jid: string) => `pw-${jid}`;

/** Inserts rooms directly, as the bot would after creating them (or to reach a later state). */
async function addRooms(...rooms: NewRoom[]) {
  for (const room of rooms) {
    await pool.query(
      `INSERT INTO roompool_rooms (jid, password, status, created_at, staff_id, staff_nick,
         staff_joined_at, client_id, client_nick)
       VALUES ($1, $2, $3, coalesce($4, clock_timestamp()), $5, $6, $7, $8, $9)`,
      [
        room.jid,
        password(room.jid),
        room.status ?? "available",
        room.created === undefined ? null : at(room.created),
        room.staffId ?? null,
        room.staffNick ?? null,
        room.staffJoined === undefined ? null : at(room.staffJoined),
        room.clientId ?? null,
        room.clientNick ?? null,
      ],
    );
  }
}

/** Rooms whose staff member is in the room and waiting for a client, joined in the order given. */
function waitingRooms(count: number, prefix = "wait"): NewRoom[] {
  return Array.from({ length: count }, (_, i) => ({
    jid: `${prefix}${String(i).padStart(2, "0")}@rooms.example`,
    status: "staff_waiting",
    // Created in the opposite order, so that only staff_joined_at can explain the order of claims.
    created: 100 - i,
    staffJoined: 200 + i,
    staffId: `staff-${i}`,
    staffNick: `Staff ${i}`,
  }));
}

interface Claim {
  room_jid: string;
  room_password: string;
}

async function claimStaff(staffId: string, nick = `nick-${staffId}`): Promise<Claim[]> {
  const { rows } = await pool.query<Claim>("SELECT * FROM roompool_claim_staff($1, $2)", [
    staffId,
    nick,
  ]);
  return rows;
}

async function claimClient(clientId: string, nick = `nick-${clientId}`): Promise<Claim[]> {
  const { rows } = await pool.query<Claim>("SELECT * FROM roompool_claim_client($1, $2)", [
    clientId,
    nick,
  ]);
  return rows;
}

async function release(jid: string, who: string | null): Promise<boolean> {
  const { rows } = await pool.query<{ released: boolean }>(
    "SELECT roompool_release($1, $2) AS released",
    [jid, who],
  );
  return rows[0]!.released;
}

interface RoomRow {
  jid: string;
  status: Status;
  staff_id: string | null;
  staff_nick: string | null;
  staff_claimed_at: Date | null;
  staff_joined_at: Date | null;
  client_id: string | null;
  client_nick: string | null;
  client_claimed_at: Date | null;
}

async function room(jid: string): Promise<RoomRow> {
  const { rows } = await pool.query<RoomRow>("SELECT * FROM roompool_rooms WHERE jid = $1", [jid]);
  assert.equal(rows.length, 1, `room ${jid} exists`);
  return rows[0]!;
}

async function statuses(): Promise<Record<string, Status>> {
  const { rows } = await pool.query<{ jid: string; status: Status }>(
    "SELECT jid, status FROM roompool_rooms ORDER BY jid",
  );
  return Object.fromEntries(rows.map((row) => [row.jid, row.status]));
}

interface EventRow {
  room_jid: string;
  from_status: string | null;
  to_status: string;
  cause: string;
}

async function events(): Promise<EventRow[]> {
  const { rows } = await pool.query<EventRow>(
    "SELECT room_jid, from_status, to_status, cause FROM roompool_events ORDER BY id",
  );
  return rows;
}

const event = (jid: string, from: Status | null, to: Status, cause: string): EventRow => ({
  room_jid: jid,
  from_status: from,
  to_status: to,
  cause,
});

/**
 * Runs `sql` (one SELECT per connection, from `count` connections) so that all of them start at
 * once: each first waits inside the server for a shared advisory lock that this function holds
 * exclusively, and the lock is let go only when every one of them is queued behind it. The wait
 * and the claim form one implicit transaction (a multi-statement simple query).
 */
async function together(count: number, sql: (i: number) => string): Promise<Claim[][]> {
  const clients = await Promise.all(Array.from({ length: count }, () => pool.connect()));
  const gate = await pool.connect();
  try {
    await gate.query("SELECT pg_advisory_lock($1)", [BARRIER_LOCK]);
    const started = clients.map(async (client, i) => {
      const results = (await client.query(
        `SELECT pg_advisory_xact_lock_shared(${BARRIER_LOCK}); ${sql(i)}`,
      )) as unknown as pg.QueryResult<Claim>[];
      return results[1]!.rows;
    });
    // Not a timing assumption: poll until every connection is blocked on the barrier.
    for (;;) {
      const { rows } = await gate.query<{ waiting: number }>(
        `SELECT count(*)::int AS waiting FROM pg_locks
         WHERE locktype = 'advisory' AND NOT granted AND database = (
           SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      if (rows[0]!.waiting === count) break;
      await delay(5);
    }
    await gate.query("SELECT pg_advisory_unlock($1)", [BARRIER_LOCK]);
    return await Promise.all(started);
  } finally {
    await gate.query("SELECT pg_advisory_unlock_all()").catch(() => undefined);
    gate.release();
    for (const client of clients) client.release();
  }
}

const literal = (value: string) => pg.escapeLiteral(value);

// --- roompool_claim_staff ----------------------------------------------------------------------

test("roompool_claim_staff hands out the oldest available room, with its password", async () => {
  await addRooms(
    { jid: "new@rooms.example", created: 3 },
    { jid: "old@rooms.example", created: 1 },
    { jid: "mid@rooms.example", created: 2 },
    // Older than all of them, but not available.
    { jid: "busy@rooms.example", created: 0, status: "staff_waiting", staffJoined: 0 },
    { jid: "gone@rooms.example", created: 0, status: "closed" },
  );

  assert.deepEqual(await claimStaff("s1", "Alice"), [
    { room_jid: "old@rooms.example", room_password: password("old@rooms.example") },
  ]);
  const claimed = await room("old@rooms.example");
  assert.equal(claimed.status, "staff_claimed");
  assert.equal(claimed.staff_id, "s1");
  assert.equal(claimed.staff_nick, "Alice");
  assert.ok(claimed.staff_claimed_at instanceof Date, "staff_claimed_at is set");
  assert.equal(claimed.client_id, null);

  assert.deepEqual(
    (await claimStaff("s2")).map((c) => c.room_jid),
    ["mid@rooms.example"],
  );
  assert.deepEqual(
    (await claimStaff("s3")).map((c) => c.room_jid),
    ["new@rooms.example"],
  );
  assert.equal((await room("new@rooms.example")).staff_id, "s3");
  assert.deepEqual(await statuses(), {
    "busy@rooms.example": "staff_waiting",
    "gone@rooms.example": "closed",
    "mid@rooms.example": "staff_claimed",
    "new@rooms.example": "staff_claimed",
    "old@rooms.example": "staff_claimed",
  });
});

test("roompool_claim_staff returns no row when no room is available", async () => {
  assert.deepEqual(await claimStaff("s1"), [], "empty pool");

  const others: Status[] = ["staff_claimed", "staff_waiting", "client_claimed", "chatting"];
  await addRooms(...others.map((status, i) => ({ jid: `r${i}@rooms.example`, status })));
  await addRooms({ jid: "z@rooms.example", status: "closed" });
  const before = await statuses();
  const eventsBefore = await events();

  assert.deepEqual(await claimStaff("s1"), []);
  assert.deepEqual(await statuses(), before);
  assert.deepEqual(await events(), eventsBefore);
});

// --- roompool_claim_client ---------------------------------------------------------------------

test("sequential client claims come back in staff_joined_at order", async () => {
  const waiting = waitingRooms(4);
  // Inserted out of order; created_at runs the other way (see waitingRooms).
  await addRooms(waiting[2]!, waiting[0]!, waiting[3]!, waiting[1]!);
  await addRooms(
    { jid: "free@rooms.example", created: 0 },
    { jid: "taken@rooms.example", status: "client_claimed", staffJoined: 0, clientId: "c0" },
  );

  const order: string[] = [];
  for (let i = 1; i <= 4; i++) {
    const claim = await claimClient(`c${i}`, `Client ${i}`);
    assert.equal(claim.length, 1, `claim ${i} gets a room`);
    assert.equal(claim[0]!.room_password, password(claim[0]!.room_jid));
    order.push(claim[0]!.room_jid);
    const row = await room(claim[0]!.room_jid);
    assert.equal(row.status, "client_claimed");
    assert.equal(row.client_id, `c${i}`);
    assert.equal(row.client_nick, `Client ${i}`);
    assert.ok(row.client_claimed_at instanceof Date, "client_claimed_at is set");
  }
  assert.deepEqual(
    order,
    waiting.map((r) => r.jid),
  );
  assert.deepEqual(await claimClient("c5"), [], "no staff member is free");
  assert.equal((await room("free@rooms.example")).status, "available");
  assert.equal((await room("taken@rooms.example")).client_id, "c0");
});

test("50 concurrent client claims against 10 waiting rooms: exactly 10 succeed, no room twice", async () => {
  const waiting = waitingRooms(10);
  await addRooms(...waiting);

  const claims = await together(
    50,
    (i) => `SELECT * FROM roompool_claim_client(${literal(`c${i}`)}, ${literal(`Client ${i}`)})`,
  );

  assert.ok(
    claims.every((rows) => rows.length <= 1),
    "a claim returns at most one room",
  );
  const won = claims.flatMap((rows, i) => rows.map((row) => ({ client: `c${i}`, ...row })));
  assert.equal(won.length, 10, "exactly 10 claims succeed");
  const jids = won.map((w) => w.room_jid).sort();
  assert.equal(new Set(jids).size, 10, "no room is handed out twice");
  assert.deepEqual(
    jids,
    waiting.map((r) => r.jid),
  );
  for (const w of won) {
    assert.equal(w.room_password, password(w.room_jid));
    const row = await room(w.room_jid);
    assert.equal(row.status, "client_claimed");
    assert.equal(row.client_id, w.client, `${w.room_jid} belongs to the claim that got it`);
  }
  const { rows } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM roompool_events WHERE to_status = 'client_claimed'",
  );
  assert.equal(rows[0]!.n, 10);
});

test("5 concurrent client claims against 10 waiting rooms take the 5 longest-waiting", async () => {
  const waiting = waitingRooms(10);
  await addRooms(...waiting.slice().reverse());

  const claims = await together(
    5,
    (i) => `SELECT * FROM roompool_claim_client(${literal(`c${i}`)}, ${literal(`Client ${i}`)})`,
  );

  assert.ok(
    claims.every((rows) => rows.length === 1),
    "every claim gets a room",
  );
  const jids = claims.map((rows) => rows[0]!.room_jid).sort();
  assert.deepEqual(
    jids,
    waiting.slice(0, 5).map((r) => r.jid),
  );
  const after = await statuses();
  for (const [i, r] of waiting.entries()) {
    assert.equal(after[r.jid], i < 5 ? "client_claimed" : "staff_waiting", r.jid);
  }
});

test("30 concurrent staff claims against 10 available rooms: exactly 10 succeed, distinct", async () => {
  const rooms = Array.from({ length: 10 }, (_, i) => ({
    jid: `free${String(i).padStart(2, "0")}@rooms.example`,
    created: i,
  }));
  await addRooms(...rooms);

  const claims = await together(
    30,
    (i) => `SELECT * FROM roompool_claim_staff(${literal(`s${i}`)}, ${literal(`Staff ${i}`)})`,
  );

  assert.ok(claims.every((rows) => rows.length <= 1));
  const won = claims.flatMap((rows, i) => rows.map((row) => ({ staff: `s${i}`, ...row })));
  assert.equal(won.length, 10, "exactly 10 claims succeed");
  const jids = won.map((w) => w.room_jid).sort();
  assert.equal(new Set(jids).size, 10, "no room is handed out twice");
  assert.deepEqual(
    jids,
    rooms.map((r) => r.jid),
  );
  for (const w of won) {
    const row = await room(w.room_jid);
    assert.equal(row.status, "staff_claimed");
    assert.equal(row.staff_id, w.staff);
  }
});

// --- roompool_release --------------------------------------------------------------------------

test("roompool_release('staff') makes a staff_claimed room available again", async () => {
  await addRooms({ jid: "a@rooms.example", created: 1 }, { jid: "b@rooms.example", created: 2 });
  assert.equal((await claimStaff("s1", "Alice"))[0]?.room_jid, "a@rooms.example");

  assert.equal(await release("a@rooms.example", "staff"), true);
  const row = await room("a@rooms.example");
  assert.equal(row.status, "available");
  assert.equal(row.staff_id, null);
  assert.equal(row.staff_nick, null);
  assert.equal(row.staff_claimed_at, null);
  assert.equal(await release("a@rooms.example", "staff"), false, "already available");
  assert.equal(await release("nowhere@rooms.example", "staff"), false, "no such room");

  // Still the oldest room: the next staff member gets it.
  assert.equal((await claimStaff("s2"))[0]?.room_jid, "a@rooms.example");
});

test("roompool_release('staff') changes nothing unless the room is staff_claimed", async () => {
  const others: Status[] = [
    "available",
    "staff_waiting",
    "client_claimed",
    "chatting",
    "closing",
    "closed",
  ];
  await addRooms(
    ...others.map((status, i) => ({
      jid: `r${i}@rooms.example`,
      status,
      staffId: "s1",
      staffNick: "Alice",
      staffJoined: i,
    })),
  );
  const before = await statuses();
  const eventsBefore = await events();
  for (const [i, status] of others.entries()) {
    assert.equal(await release(`r${i}@rooms.example`, "staff"), false, status);
    assert.equal((await room(`r${i}@rooms.example`)).staff_id, "s1", status);
  }
  assert.deepEqual(await statuses(), before);
  assert.deepEqual(await events(), eventsBefore);
});

test("roompool_release('client') puts the room back in line where its staff member was", async () => {
  const waiting = waitingRooms(3);
  await addRooms(...waiting);
  const [first, second, third] = waiting.map((r) => r.jid) as [string, string, string];
  const joinedBefore = (await room(first)).staff_joined_at;

  assert.equal((await claimClient("c1", "Carol"))[0]?.room_jid, first);
  assert.equal((await claimClient("c2"))[0]?.room_jid, second);

  assert.equal(await release(first, "client"), true);
  const row = await room(first);
  assert.equal(row.status, "staff_waiting");
  assert.equal(row.client_id, null);
  assert.equal(row.client_nick, null);
  assert.equal(row.client_claimed_at, null);
  assert.equal(row.staff_id, "staff-0", "the staff fields stay");
  assert.equal(row.staff_nick, "Staff 0");
  assert.deepEqual(row.staff_joined_at, joinedBefore, "staff_joined_at is kept");
  assert.equal(await release(first, "client"), false, "already waiting");

  // The staff member of `first` has waited longest, so the next client goes to them, not `third`.
  assert.equal((await claimClient("c3"))[0]?.room_jid, first);
  assert.equal((await claimClient("c4"))[0]?.room_jid, third);
  assert.equal((await room(second)).client_id, "c2");
});

test("roompool_release('client') changes nothing unless the room is client_claimed", async () => {
  const others: Status[] = [
    "available",
    "staff_claimed",
    "staff_waiting",
    "chatting",
    "closing",
    "closed",
  ];
  await addRooms(
    ...others.map((status, i) => ({
      jid: `r${i}@rooms.example`,
      status,
      staffJoined: i,
      clientId: "c1",
      clientNick: "Carol",
    })),
  );
  const before = await statuses();
  const eventsBefore = await events();
  for (const [i, status] of others.entries()) {
    assert.equal(await release(`r${i}@rooms.example`, "client"), false, status);
    assert.equal((await room(`r${i}@rooms.example`)).client_id, "c1", status);
  }
  assert.equal(await release("nowhere@rooms.example", "client"), false, "no such room");
  assert.deepEqual(await statuses(), before);
  assert.deepEqual(await events(), eventsBefore);
});

test("roompool_release refuses a `who` other than staff or client", async () => {
  await addRooms(
    { jid: "s@rooms.example", status: "staff_claimed", staffId: "s1" },
    { jid: "c@rooms.example", status: "client_claimed", staffJoined: 0, clientId: "c1" },
  );
  const before = await statuses();
  for (const who of ["manager", "", "Staff", "client "]) {
    for (const jid of ["s@rooms.example", "c@rooms.example"]) {
      await assert.rejects(release(jid, who), /who must be staff or client/, `who=${who}`);
    }
  }
  assert.deepEqual(await statuses(), before);
});

test("roompool_release refuses a NULL `who`", async () => {
  await addRooms({
    jid: "c@rooms.example",
    status: "client_claimed",
    staffJoined: 0,
    clientId: "c1",
  });
  await assert.rejects(release("c@rooms.example", null), /who must be staff or client/);
  assert.equal((await room("c@rooms.example")).status, "client_claimed");
});

// --- roompool_events, status_changed_at ----------------------------------------------------------

test("every status change is recorded in roompool_events with its cause", async () => {
  const a = "a@rooms.example";
  const b = "b@rooms.example";
  await addRooms({ jid: a, created: 1 }, { jid: b, created: 2 });

  await claimStaff("s1"); // a
  await claimStaff("s2"); // b
  assert.equal(await release(b, "staff"), true);
  // The bot, with its cause, in one transaction.
  await transaction(pool, async (client) => {
    await client.query("SELECT set_config('concierge.cause', 'staff joined', true)");
    await client.query(
      "UPDATE roompool_rooms SET status = 'staff_waiting', staff_joined_at = clock_timestamp() WHERE jid = $1",
      [a],
    );
  });
  await claimClient("c1");
  assert.equal(await release(a, "client"), true);
  await claimClient("c2");
  // Without a cause, in a transaction of its own; the earlier transaction's cause is gone.
  await pool.query("UPDATE roompool_rooms SET status = 'chatting' WHERE jid = $1", [a]);
  await transaction(pool, async (client) => {
    await client.query("SELECT set_config('concierge.cause', 'one left', true)");
    await client.query("UPDATE roompool_rooms SET status = 'closing' WHERE jid = $1", [a]);
    await client.query("SELECT set_config('concierge.cause', 'last left', true)");
    await client.query(
      "UPDATE roompool_rooms SET status = 'closed', closed_at = clock_timestamp() WHERE jid = $1",
      [a],
    );
  });

  assert.deepEqual(await events(), [
    event(a, null, "available", "unspecified"),
    event(b, null, "available", "unspecified"),
    event(a, "available", "staff_claimed", "claimed for staff s1"),
    event(b, "available", "staff_claimed", "claimed for staff s2"),
    event(b, "staff_claimed", "available", "staff claim released"),
    event(a, "staff_claimed", "staff_waiting", "staff joined"),
    event(a, "staff_waiting", "client_claimed", "claimed for client c1"),
    event(a, "client_claimed", "staff_waiting", "client claim released"),
    event(a, "staff_waiting", "client_claimed", "claimed for client c2"),
    event(a, "client_claimed", "chatting", "unspecified"),
    event(a, "chatting", "closing", "one left"),
    event(a, "closing", "closed", "last left"),
  ]);
});

test("a room inserted with a status records that status, with the cause in force", async () => {
  await transaction(pool, async (client) => {
    await client.query("SELECT set_config('concierge.cause', 'room created', true)");
    await client.query(
      "INSERT INTO roompool_rooms (jid, password, status, staff_joined_at) VALUES ($1, 'p', 'staff_waiting', now())",
      ["w@rooms.example"],
    );
  });
  assert.deepEqual(await events(), [
    event("w@rooms.example", null, "staff_waiting", "room created"),
  ]);
});

test("a rolled-back change leaves no event", async () => {
  await addRooms({ jid: "a@rooms.example" });
  await assert.rejects(
    transaction(pool, async (client) => {
      await client.query("SELECT * FROM roompool_claim_staff('s1', 'Alice')");
      throw new Error("web application gave up");
    }),
    /gave up/,
  );
  assert.equal((await room("a@rooms.example")).status, "available");
  assert.deepEqual(await events(), [event("a@rooms.example", null, "available", "unspecified")]);
});

test("an UPDATE that does not change the status records nothing and keeps status_changed_at", async () => {
  const jid = "a@rooms.example";
  await addRooms({ jid, status: "staff_waiting", staffJoined: 0, staffNick: "Alice" });
  const changedAt = async () =>
    (
      await pool.query<{ t: string }>(
        "SELECT status_changed_at::text AS t FROM roompool_rooms WHERE jid = $1",
        [jid],
      )
    ).rows[0]!.t;
  const first = await changedAt();
  const eventsBefore = await events();

  // Not touching status at all ...
  await pool.query("UPDATE roompool_rooms SET staff_nick = 'Alicia' WHERE jid = $1", [jid]);
  // ... and setting it to what it already is, with and without a cause.
  await pool.query("UPDATE roompool_rooms SET status = 'staff_waiting' WHERE jid = $1", [jid]);
  await transaction(pool, async (client) => {
    await client.query("SELECT set_config('concierge.cause', 'x', true)");
    await client.query(
      "UPDATE roompool_rooms SET status = status, staff_real_jid = 'alice@example.org/web' WHERE jid = $1",
      [jid],
    );
  });
  assert.equal(await changedAt(), first);
  assert.deepEqual(await events(), eventsBefore);
  assert.equal((await room(jid)).staff_nick, "Alicia");

  // A real change moves it forward, whether made by a function or a plain UPDATE.
  await claimClient("c1");
  const second = await changedAt();
  const moved = async (from: string) =>
    (
      await pool.query<{ later: boolean }>(
        "SELECT status_changed_at > $2::timestamptz AS later FROM roompool_rooms WHERE jid = $1",
        [jid, from],
      )
    ).rows[0]!.later;
  assert.equal(await moved(first), true, "claim moved status_changed_at");
  await pool.query("UPDATE roompool_rooms SET status = 'chatting' WHERE jid = $1", [jid]);
  assert.equal(await moved(second), true, "plain UPDATE moved status_changed_at");
  assert.equal((await events()).length, eventsBefore.length + 2);
});

test("a plain UPDATE records the cause set in its transaction, else 'unspecified'", async () => {
  await addRooms({ jid: "a@rooms.example" }, { jid: "b@rooms.example" });
  await pool.query("TRUNCATE roompool_events");
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT set_config('concierge.cause', 'x', true)");
    await client.query(
      "UPDATE roompool_rooms SET status = 'staff_claimed' WHERE jid = 'a@rooms.example'",
    );
    await client.query("COMMIT");
    // Same connection, next transaction: the setting was transaction-local.
    await client.query(
      "UPDATE roompool_rooms SET status = 'staff_claimed' WHERE jid = 'b@rooms.example'",
    );
    // Set but empty counts as unset.
    await client.query("BEGIN");
    await client.query("SELECT set_config('concierge.cause', '', true)");
    await client.query(
      "UPDATE roompool_rooms SET status = 'available' WHERE jid = 'a@rooms.example'",
    );
    await client.query("COMMIT");
  } finally {
    client.release();
  }
  assert.deepEqual(await events(), [
    event("a@rooms.example", "available", "staff_claimed", "x"),
    event("b@rooms.example", "available", "staff_claimed", "unspecified"),
    event("a@rooms.example", "staff_claimed", "available", "unspecified"),
  ]);
});

// --- NOTIFY roompool ---------------------------------------------------------------------------

interface Payload {
  jid: string;
  status: Status;
  previous: Status | null;
}

/**
 * A LISTEN roompool connection. `until()` sends a sentinel NOTIFY after everything done so far and
 * resolves, once the sentinel arrives, with the payloads received before it: notifications reach
 * a listener in commit order, so nothing committed earlier can still be on its way.
 */
async function listen() {
  const listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  const received: string[] = [];
  let sentinel: (() => void) | undefined;
  listener.on("notification", (message) => {
    if (message.channel !== "roompool") return;
    if (message.payload === "sentinel") sentinel?.();
    else received.push(message.payload ?? "");
  });
  await listener.query("LISTEN roompool");
  return {
    async until(): Promise<Payload[]> {
      const arrived = new Promise<void>((resolve) => (sentinel = resolve));
      await pool.query("SELECT pg_notify('roompool', 'sentinel')");
      await arrived;
      // The three documented fields; more (an event id, say) would not be wrong.
      return received.splice(0).map((text) => {
        const { jid, status, previous } = JSON.parse(text) as Payload;
        return { jid, status, previous };
      });
    },
    stop: () => listener.end(),
  };
}

test("a LISTEN roompool client gets one notification per status change", async () => {
  const listener = await listen();
  try {
    const a = "a@rooms.example";
    const b = "b@rooms.example";
    await addRooms({ jid: a, created: 1 }, { jid: b, created: 2, status: "staff_waiting" });
    await claimStaff("s1");
    // Changes that are not status changes, and one that is rolled back: no notification.
    await pool.query("UPDATE roompool_rooms SET staff_nick = 'Alicia' WHERE jid = $1", [a]);
    await pool.query("UPDATE roompool_rooms SET status = 'staff_claimed' WHERE jid = $1", [a]);
    await assert.rejects(
      transaction(pool, async (client) => {
        await client.query("UPDATE roompool_rooms SET status = 'closed' WHERE jid = $1", [b]);
        throw new Error("rolled back");
      }),
      /rolled back/,
    );
    await transaction(pool, async (client) => {
      await client.query("SELECT set_config('concierge.cause', 'staff joined', true)");
      await client.query(
        "UPDATE roompool_rooms SET status = 'staff_waiting', staff_joined_at = now() WHERE jid = $1",
        [a],
      );
    });
    await claimClient("c1"); // b: it has no staff_joined_at, so a goes first
    await claimClient("c2");
    assert.equal(await release(a, "client"), true);
    assert.equal(await release(a, "staff"), false);

    const payloads = await listener.until();
    assert.deepEqual(payloads, [
      { jid: a, status: "available", previous: null },
      { jid: b, status: "staff_waiting", previous: null },
      { jid: a, status: "staff_claimed", previous: "available" },
      { jid: a, status: "staff_waiting", previous: "staff_claimed" },
      { jid: a, status: "client_claimed", previous: "staff_waiting" },
      { jid: b, status: "client_claimed", previous: "staff_waiting" },
      { jid: a, status: "staff_waiting", previous: "client_claimed" },
    ]);
    assert.deepEqual(
      payloads.map((p) => [p.jid, p.previous, p.status]),
      (await events()).map((e) => [e.room_jid, e.from_status, e.to_status]),
      "one notification per recorded event",
    );
  } finally {
    await listener.stop();
  }
});

test("a room that changes status several times in one transaction gets one notification for each", async () => {
  const listener = await listen();
  try {
    await addRooms({ jid: "a@rooms.example" });
    await listener.until();
    await transaction(pool, async (client) => {
      await client.query("SELECT * FROM roompool_claim_staff('s1', 'Alice')");
      await client.query("SELECT roompool_release('a@rooms.example', 'staff')");
      await client.query("SELECT * FROM roompool_claim_staff('s2', 'Bob')");
    });
    assert.equal((await events()).length, 4, "three changes after the insert are recorded");
    assert.deepEqual(
      (await listener.until()).map((p) => p.status),
      ["staff_claimed", "available", "staff_claimed"],
    );
  } finally {
    await listener.stop();
  }
});

// --- the status CHECK constraint ---------------------------------------------------------------

test("the status CHECK constraint refuses an unknown status", async () => {
  await assert.rejects(
    pool.query("INSERT INTO roompool_rooms (jid, password, status) VALUES ('x', 'p', 'waiting')"),
    (error: { code?: string }) => error.code === "23514",
  );
  await addRooms({ jid: "a@rooms.example" });
  await assert.rejects(
    pool.query("UPDATE roompool_rooms SET status = 'Available' WHERE jid = 'a@rooms.example'"),
    (error: { code?: string }) => error.code === "23514",
  );
  assert.deepEqual(await statuses(), { "a@rooms.example": "available" });
  assert.deepEqual(await events(), [event("a@rooms.example", null, "available", "unspecified")]);
});
