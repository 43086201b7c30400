import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ROOM_STATUSES,
  applyAll,
  reconcile,
  transition,
  type RoomAction,
  type RoomEvent,
  type RoomState,
  type RoomStatus,
  type Transition,
} from "../../src/roompool/lifecycle.js";

/**
 * Expected values written out from the lifecycle documented in migrations/002_roompool.sql
 *
 *   available ──claim staff──▶ staff_claimed ──staff joins──▶ staff_waiting
 *   staff_waiting ──claim client──▶ client_claimed ──client joins──▶ chatting
 *   chatting ──one leaves──▶ closing ──last leaves──▶ closed (room destroyed, row kept)
 *
 * and the comments of lifecycle.ts: intruders are kicked, a participant coming back to a closing
 * room resumes the chat, unhonoured claims fall back one step, a room gone from the MUC service
 * is made again while nobody is in it and closed otherwise, a room someone else made while the
 * bot was away is closed without a destroy (it is not the bot's), a room already closed is
 * destroyed again if someone is in it.
 */

const STAFF = "sam";
const CLIENT = "cleo";
const STRANGER = "xavier";

const state = (status: RoomStatus, staff?: string, client?: string): RoomState =>
  Object.freeze({ status, staff, client });

/** Each status with the participants it has in a real room (closing: either one stayed). */
const STATES = {
  available: state("available"),
  staff_claimed: state("staff_claimed"),
  staff_waiting: state("staff_waiting", STAFF),
  client_claimed: state("client_claimed", STAFF),
  chatting: state("chatting", STAFF, CLIENT),
  "closing, staff stayed": state("closing", STAFF),
  "closing, client stayed": state("closing", undefined, CLIENT),
  closed: state("closed"),
} satisfies Record<string, RoomState>;

/**
 * `sam` and `cleo` are the nicks of the recorded staff member and client where the state records
 * them; where it does not (e.g. staff_claimed), they are just the nicks someone joins with.
 */
const EVENTS = {
  "joined by a stranger": { kind: "joined", nick: STRANGER },
  "joined by the staff": { kind: "joined", nick: STAFF },
  "joined by the client": { kind: "joined", nick: CLIENT },
  "left by the staff": { kind: "left", nick: STAFF },
  "left by the client": { kind: "left", nick: CLIENT },
  "left by a stranger": { kind: "left", nick: STRANGER },
  "claim-timeout": { kind: "claim-timeout" },
  vanished: { kind: "vanished" },
  taken: { kind: "taken" },
} satisfies Record<string, RoomEvent>;

/** Actions in short: "kick:<nick>", "destroy", "recreate". */
type Short = string;
interface Expected {
  status: RoomStatus;
  staff?: string;
  client?: string;
  actions?: Short[];
}

const short = (action: RoomAction): Short =>
  action.kind === "kick" ? `kick:${action.nick}` : action.kind;

const same = (s: RoomState, ...actions: Short[]): Expected => ({ ...s, actions });
const to = (
  status: RoomStatus,
  staff: string | undefined,
  client: string | undefined,
  ...actions: Short[]
): Expected => ({ status, staff, client, actions });
const closedAnd = (...actions: Short[]): Expected => to("closed", undefined, undefined, ...actions);

const S = STATES;

const TRANSITIONS: Record<string, Record<string, Expected>> = {
  available: {
    "joined by a stranger": same(S.available, `kick:${STRANGER}`),
    "joined by the staff": same(S.available, `kick:${STAFF}`),
    "joined by the client": same(S.available, `kick:${CLIENT}`),
    "left by the staff": same(S.available),
    "left by the client": same(S.available),
    "left by a stranger": same(S.available),
    "claim-timeout": same(S.available),
    vanished: same(S.available, "recreate"),
    // Someone else made the room: nothing to destroy, the row says it is over.
    taken: closedAnd(),
  },
  staff_claimed: {
    // Whoever joins the claimed room (they had the password) is taken as the staff member.
    "joined by a stranger": to("staff_waiting", STRANGER, undefined),
    "joined by the staff": to("staff_waiting", STAFF, undefined),
    "joined by the client": to("staff_waiting", CLIENT, undefined),
    "left by the staff": same(S.staff_claimed),
    "left by the client": same(S.staff_claimed),
    "left by a stranger": same(S.staff_claimed),
    "claim-timeout": to("available", undefined, undefined),
    vanished: same(S.staff_claimed, "recreate"),
    // Someone else made the room: nothing to destroy, the row says it is over.
    taken: closedAnd(),
  },
  staff_waiting: {
    "joined by a stranger": same(S.staff_waiting, `kick:${STRANGER}`),
    "joined by the staff": same(S.staff_waiting),
    "joined by the client": same(S.staff_waiting, `kick:${CLIENT}`),
    "left by the staff": to("available", undefined, undefined),
    "left by the client": same(S.staff_waiting),
    "left by a stranger": same(S.staff_waiting),
    "claim-timeout": same(S.staff_waiting),
    vanished: to("available", undefined, undefined, "recreate"),
    // Someone else made the room: nothing to destroy, the row says it is over.
    taken: closedAnd(),
  },
  client_claimed: {
    "joined by a stranger": to("chatting", STAFF, STRANGER),
    "joined by the staff": same(S.client_claimed),
    "joined by the client": to("chatting", STAFF, CLIENT),
    "left by the staff": closedAnd("destroy"),
    "left by the client": same(S.client_claimed),
    "left by a stranger": same(S.client_claimed),
    "claim-timeout": to("staff_waiting", STAFF, undefined),
    vanished: closedAnd("destroy"),
    // Someone else made the room: nothing to destroy, the row says it is over.
    taken: closedAnd(),
  },
  chatting: {
    "joined by a stranger": same(S.chatting, `kick:${STRANGER}`),
    "joined by the staff": same(S.chatting),
    "joined by the client": same(S.chatting),
    "left by the staff": to("closing", undefined, CLIENT),
    "left by the client": to("closing", STAFF, undefined),
    "left by a stranger": same(S.chatting),
    "claim-timeout": same(S.chatting),
    vanished: closedAnd("destroy"),
    // Someone else made the room: nothing to destroy, the row says it is over.
    taken: closedAnd(),
  },
  "closing, staff stayed": {
    // Anyone joining a closing room takes the empty seat (no kick): see the report.
    "joined by a stranger": to("chatting", STAFF, STRANGER),
    "joined by the staff": same(S["closing, staff stayed"]),
    "joined by the client": to("chatting", STAFF, CLIENT),
    "left by the staff": closedAnd("destroy"),
    "left by the client": same(S["closing, staff stayed"]),
    "left by a stranger": same(S["closing, staff stayed"]),
    "claim-timeout": same(S["closing, staff stayed"]),
    vanished: closedAnd("destroy"),
    // Someone else made the room: nothing to destroy, the row says it is over.
    taken: closedAnd(),
  },
  "closing, client stayed": {
    "joined by a stranger": to("chatting", STRANGER, CLIENT),
    "joined by the staff": to("chatting", STAFF, CLIENT),
    "joined by the client": same(S["closing, client stayed"]),
    "left by the staff": same(S["closing, client stayed"]),
    "left by the client": closedAnd("destroy"),
    "left by a stranger": same(S["closing, client stayed"]),
    "claim-timeout": same(S["closing, client stayed"]),
    vanished: closedAnd("destroy"),
    // Someone else made the room: nothing to destroy, the row says it is over.
    taken: closedAnd(),
  },
  closed: {
    "joined by a stranger": same(S.closed, "destroy"),
    "joined by the staff": same(S.closed, "destroy"),
    "joined by the client": same(S.closed, "destroy"),
    "left by the staff": same(S.closed),
    "left by the client": same(S.closed),
    "left by a stranger": same(S.closed),
    "claim-timeout": same(S.closed),
    vanished: same(S.closed),
    taken: same(S.closed),
  },
};

const changed = (a: RoomState, b: RoomState) =>
  a.status !== b.status || a.staff !== b.staff || a.client !== b.client;

/** Checks a result against the expectation, and the rules every result follows. */
function check(before: RoomState, result: Transition, expected: Expected): void {
  assert.deepEqual(
    {
      status: result.state.status,
      staff: result.state.staff,
      client: result.state.client,
      actions: result.actions.map(short),
    },
    {
      status: expected.status,
      staff: expected.staff,
      client: expected.client,
      actions: expected.actions ?? [],
    },
  );
  assert.equal(
    result.cause !== "",
    changed(before, result.state),
    `cause ${JSON.stringify(result.cause)} exactly when something changed`,
  );
  for (const action of result.actions) {
    if (action.kind !== "recreate") assert.ok(action.reason.trim() !== "", "a reason is given");
  }
  if (result.state.status === "closed") {
    assert.equal(result.state.staff, undefined);
    assert.equal(result.state.client, undefined);
  }
}

describe("transition", () => {
  test("the table covers every status and every event", () => {
    assert.deepEqual(new Set(Object.values(STATES).map((s) => s.status)), new Set(ROOM_STATUSES));
    for (const name of Object.keys(STATES)) {
      assert.deepEqual(Object.keys(TRANSITIONS[name]!).sort(), Object.keys(EVENTS).sort(), name);
    }
  });

  for (const [stateName, before] of Object.entries(STATES)) {
    describe(stateName, () => {
      for (const [eventName, event] of Object.entries(EVENTS)) {
        test(eventName, () => {
          const result = transition(before, event);
          check(before, result, TRANSITIONS[stateName]![eventName]!);
        });
      }
    });
  }

  test("causes name what happened", () => {
    assert.equal(
      transition(S.staff_claimed, { kind: "claim-timeout" }).cause,
      "staff did not arrive in time",
    );
    assert.equal(
      transition(S.client_claimed, { kind: "claim-timeout" }).cause,
      "client did not arrive in time",
    );
    assert.match(transition(S.staff_claimed, EVENTS["joined by the staff"]).cause, /sam/);
    assert.match(transition(S.client_claimed, EVENTS["joined by the client"]).cause, /cleo/);
    assert.match(transition(S.chatting, EVENTS["left by the client"]).cause, /client cleo/);
    assert.match(transition(S.chatting, EVENTS["left by the staff"]).cause, /staff sam/);
    const closing = transition(S["closing, client stayed"], EVENTS["left by the client"]);
    assert.equal(closing.actions[0]!.kind, "destroy");
    assert.equal((closing.actions[0] as { reason: string }).reason, closing.cause);
  });

  test("kick reasons say why", () => {
    const reason = (s: RoomState) =>
      (transition(s, EVENTS["joined by a stranger"]).actions[0] as { reason: string }).reason;
    assert.match(reason(S.available), /not been assigned/);
    assert.match(reason(S.staff_waiting), /no client/);
    assert.match(reason(S.chatting), /two participants/);
  });
});

const PRESENT: Record<string, string[]> = {
  "{}": [],
  "{staff}": [STAFF],
  "{client}": [CLIENT],
  "{staff, client}": [STAFF, CLIENT],
  "{stranger}": [STRANGER],
  "{staff, stranger}": [STAFF, STRANGER],
};

const K = (nick: string) => `kick:${nick}`;
const D = "destroy";

/**
 * reconcile: unknown occupants join first, in the order given, then the participants who are gone
 * leave; every action of every step is kept, but a room is destroyed once.
 */
const RECONCILED: Record<string, Record<string, Expected>> = {
  available: {
    "{}": same(S.available),
    "{staff}": same(S.available, K(STAFF)),
    "{client}": same(S.available, K(CLIENT)),
    "{staff, client}": same(S.available, K(STAFF), K(CLIENT)),
    "{stranger}": same(S.available, K(STRANGER)),
    "{staff, stranger}": same(S.available, K(STAFF), K(STRANGER)),
  },
  staff_claimed: {
    "{}": same(S.staff_claimed),
    "{staff}": to("staff_waiting", STAFF, undefined),
    "{client}": to("staff_waiting", CLIENT, undefined),
    "{staff, client}": to("staff_waiting", STAFF, undefined, K(CLIENT)),
    "{stranger}": to("staff_waiting", STRANGER, undefined),
    "{staff, stranger}": to("staff_waiting", STAFF, undefined, K(STRANGER)),
  },
  staff_waiting: {
    "{}": to("available", undefined, undefined),
    "{staff}": same(S.staff_waiting),
    "{client}": to("available", undefined, undefined, K(CLIENT)),
    "{staff, client}": same(S.staff_waiting, K(CLIENT)),
    "{stranger}": to("available", undefined, undefined, K(STRANGER)),
    "{staff, stranger}": same(S.staff_waiting, K(STRANGER)),
  },
  client_claimed: {
    "{}": closedAnd(D),
    "{staff}": same(S.client_claimed),
    // The client arrived, then the staff member's absence is seen: the client is alone.
    "{client}": to("closing", undefined, CLIENT),
    "{staff, client}": to("chatting", STAFF, CLIENT),
    "{stranger}": to("closing", undefined, STRANGER),
    "{staff, stranger}": to("chatting", STAFF, STRANGER),
  },
  chatting: {
    "{}": closedAnd(D),
    "{staff}": to("closing", STAFF, undefined),
    "{client}": to("closing", undefined, CLIENT),
    "{staff, client}": same(S.chatting),
    "{stranger}": closedAnd(K(STRANGER), D),
    // The stranger is kicked from the full chat before the client's departure is seen.
    "{staff, stranger}": to("closing", STAFF, undefined, K(STRANGER)),
  },
  "closing, staff stayed": {
    "{}": closedAnd(D),
    "{staff}": same(S["closing, staff stayed"]),
    // The client came back (resuming the chat), then the staff member's departure is seen.
    "{client}": to("closing", undefined, CLIENT),
    "{staff, client}": to("chatting", STAFF, CLIENT),
    "{stranger}": to("closing", undefined, STRANGER),
    "{staff, stranger}": to("chatting", STAFF, STRANGER),
  },
  "closing, client stayed": {
    "{}": closedAnd(D),
    "{staff}": to("closing", STAFF, undefined),
    "{client}": same(S["closing, client stayed"]),
    "{staff, client}": to("chatting", STAFF, CLIENT),
    "{stranger}": to("closing", STRANGER, undefined),
    "{staff, stranger}": to("closing", STAFF, undefined, K(STRANGER)),
  },
  closed: {
    "{}": same(S.closed),
    "{staff}": same(S.closed, D),
    "{client}": same(S.closed, D),
    "{staff, client}": same(S.closed, D),
    "{stranger}": same(S.closed, D),
    "{staff, stranger}": same(S.closed, D),
  },
};

describe("reconcile", () => {
  test("the table covers every status and every occupant set", () => {
    for (const name of Object.keys(STATES)) {
      assert.deepEqual(Object.keys(RECONCILED[name]!).sort(), Object.keys(PRESENT).sort(), name);
    }
  });

  for (const [stateName, before] of Object.entries(STATES)) {
    describe(stateName, () => {
      for (const [setName, present] of Object.entries(PRESENT)) {
        test(setName, () => {
          check(before, reconcile(before, present), RECONCILED[stateName]![setName]!);
        });
      }
    });
  }

  test("is applyAll over the arrivals in order, then the departures", () => {
    const result = reconcile(S.chatting, [STRANGER, STAFF]);
    assert.deepEqual(
      result,
      applyAll(S.chatting, [
        { kind: "joined", nick: STRANGER },
        { kind: "left", nick: CLIENT },
      ]),
    );
    assert.equal(result.cause, `client ${CLIENT} left`);
  });

  test("leaves the given state alone", () => {
    const before = { status: "chatting" as const, staff: STAFF, client: CLIENT };
    reconcile(before, []);
    assert.deepEqual(before, { status: "chatting", staff: STAFF, client: CLIENT });
  });
});

describe("applyAll", () => {
  test("no events: the same state, no cause, no actions", () => {
    for (const before of Object.values(STATES)) {
      assert.deepEqual(applyAll(before, []), { state: before, cause: "", actions: [] });
    }
  });

  test("a whole chat: causes joined with '; ', actions kept in order", () => {
    const result = applyAll(S.client_claimed, [
      { kind: "joined", nick: CLIENT },
      { kind: "joined", nick: STRANGER },
      { kind: "left", nick: STAFF },
      { kind: "left", nick: CLIENT },
    ]);
    assert.deepEqual(result.state, { status: "closed", staff: undefined, client: undefined });
    assert.equal(
      result.cause,
      `client ${CLIENT} joined; staff ${STAFF} left; client ${CLIENT} left last`,
    );
    assert.deepEqual(result.actions.map(short), [K(STRANGER), D]);
  });

  test("steps that change nothing add no cause but keep their actions", () => {
    const result = applyAll(S.chatting, [
      { kind: "joined", nick: STRANGER },
      { kind: "left", nick: STRANGER },
      { kind: "claim-timeout" },
    ]);
    assert.deepEqual(result, { state: S.chatting, cause: "", actions: result.actions });
    assert.deepEqual(result.actions.map(short), [K(STRANGER)]);
  });

  test("equals folding transition (one destroy at most), for every sequence of up to three events", () => {
    const events = Object.values(EVENTS);
    const sequences: RoomEvent[][] = [[]];
    for (let length = 1; length <= 3; length += 1) {
      for (const sequence of sequences.filter((s) => s.length === length - 1)) {
        for (const event of events) sequences.push([...sequence, event]);
      }
    }
    let checked = 0;
    for (const before of Object.values(STATES)) {
      for (const sequence of sequences) {
        let current = before;
        const causes: string[] = [];
        const actions: RoomAction[] = [];
        for (const event of sequence) {
          const step = transition(current, event);
          current = step.state;
          if (step.cause) causes.push(step.cause);
          for (const action of step.actions) {
            const repeatedDestroy =
              action.kind === "destroy" && actions.some((a) => a.kind === "destroy");
            if (!repeatedDestroy) actions.push(action);
          }
        }
        assert.deepEqual(applyAll(before, sequence), {
          state: current,
          cause: causes.join("; "),
          actions,
        });
        checked += 1;
      }
    }
    const n = events.length;
    assert.equal(checked, Object.keys(STATES).length * (1 + n + n ** 2 + n ** 3));
  });
});
