import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEVICE_SHOWS,
  SHOWS,
  applyReport,
  chattiness,
  combine,
  type Device,
  type DeviceShow,
  type Show,
} from "../../src/presence/rules.js";

/**
 * Expected values come from the rule in the header comment of src/presence/rules.ts:
 *
 * 1. A user with no device online is offline.
 * 2. A device's state is either hand-set or set by its idle timer; an idle device keeps the
 *    hand-set state it had.
 * 3. If at least one device is not idle, the user shows the hand-set state chosen last among the
 *    devices that are not idle. Coming back from idle to the state it had before is not a new
 *    choice; re-sending the same state is not one either.
 * 4. If every device is idle, the user shows the most chatty of their states.
 *    offline < dnd < xa < away < online < chat.
 *
 * The oracle below restates that rule from a plain history of events, without using anything of
 * the module but its types.
 */

/** Least to most chatty, written out again rather than taken from the module. */
const ORDER = ["offline", "dnd", "xa", "away", "online", "chat"] as const;
const DEVICE_ORDER: readonly DeviceShow[] = ["dnd", "xa", "away", "online", "chat"];

type Event =
  | { device: string; kind: "report"; show: DeviceShow; idle: boolean }
  | { device: string; kind: "gone" };

const report = (device: string, show: DeviceShow, idle: boolean): Event => ({
  device,
  kind: "report",
  show,
  idle,
});
const gone = (device: string): Event => ({ device, kind: "gone" });

/** "A chat", "A idle away", "A gone". */
function parse(text: string): Event {
  const words = text.split(" ");
  const [device, first, second] = words;
  const isShow = (word: string | undefined): word is DeviceShow =>
    DEVICE_ORDER.includes(word as DeviceShow);
  if (device !== undefined && words.length === 2 && first === "gone") return gone(device);
  if (device !== undefined && words.length === 2 && isShow(first)) {
    return report(device, first, false);
  }
  if (device !== undefined && words.length === 3 && first === "idle" && isShow(second)) {
    return report(device, second, true);
  }
  throw new Error(`cannot read event "${text}"`);
}

function describeEvent(event: Event): string {
  if (event.kind === "gone") return `${event.device} gone`;
  return event.idle ? `${event.device} idle ${event.show}` : `${event.device} ${event.show}`;
}

const describeHistory = (history: readonly Event[]): string =>
  history.length === 0 ? "(nothing)" : history.map(describeEvent).join(", ");

/**
 * The naive restatement. Time is the position of an event in the history, counted from 1.
 *
 * For each device: its current connection is what it reported after it last went away; if it
 * reported nothing since, it is not online. Its current state is its last report. If that report is
 * not idle, the time of its current choice is the last time it reported a non-idle state different
 * from the hand-set state it had before (idle reports leave the hand-set state alone).
 */
function oracle(history: readonly Event[]): Show {
  const deviceIds = [...new Set(history.map((event) => event.device))];
  const active: { device: string; show: DeviceShow; chosenAt: number }[] = [];
  const idleShows: DeviceShow[] = [];

  for (const id of deviceIds) {
    let connectedSince = 0;
    history.forEach((event, index) => {
      if (event.device === id && event.kind === "gone") connectedSince = index + 1;
    });
    const reports: { time: number; show: DeviceShow; idle: boolean }[] = [];
    for (let index = connectedSince; index < history.length; index++) {
      const event = history[index];
      if (event?.device === id && event.kind === "report") {
        reports.push({ time: index + 1, show: event.show, idle: event.idle });
      }
    }
    const current = reports.at(-1);
    if (current === undefined) continue; // rule 1: this device is not online

    if (current.idle) {
      idleShows.push(current.show);
      continue;
    }
    let handSet: DeviceShow | undefined = undefined;
    let chosenAt = -1;
    for (const r of reports) {
      if (r.idle) continue; // rule 2: the idle timer is not the user choosing
      if (r.show !== handSet) {
        handSet = r.show;
        chosenAt = r.time;
      }
    }
    assert.equal(handSet, current.show, "oracle: a non-idle device shows its hand-set state");
    active.push({ device: id, show: current.show, chosenAt });
  }

  if (active.length > 0) {
    // rule 3
    let latest = active[0];
    for (const candidate of active) {
      if (latest === undefined || candidate.chosenAt > latest.chosenAt) latest = candidate;
    }
    const times = active.map((a) => a.chosenAt);
    assert.equal(new Set(times).size, times.length, "oracle: two choices at the same time");
    assert.ok(latest);
    return latest.show;
  }
  if (idleShows.length > 0) {
    // rule 4
    let most: Show = "offline";
    for (const show of idleShows) {
      if (ORDER.indexOf(show) > ORDER.indexOf(most)) most = show;
    }
    return most;
  }
  return "offline"; // rule 1
}

/** The module: one Device per connected device, sequence number = position in the history. */
function replay(history: readonly Event[]): Map<string, Device> {
  const devices = new Map<string, Device>();
  history.forEach((event, index) => {
    if (event.kind === "gone") {
      devices.delete(event.device);
    } else {
      const { show, idle } = event;
      devices.set(event.device, applyReport(devices.get(event.device), { show, idle }, index + 1));
    }
  });
  return devices;
}

const presence = (history: readonly Event[]): Show => combine(replay(history).values());

/** Compares module and oracle, and checks that combine does not depend on the devices' order. */
function check(history: readonly Event[]): Show {
  const expected = oracle(history);
  const devices = [...replay(history).values()];
  const label = describeHistory(history);
  assert.equal(combine(devices), expected, `after ${label}`);
  assert.equal(combine([...devices].reverse()), expected, `after ${label} (devices reversed)`);
  return expected;
}

/** `check`, then again after every ordered choice of still-connected devices going away. */
function checkWithDepartures(history: readonly Event[]): number {
  let cases = 0;
  const connected = [...replay(history).keys()];
  const extend = (current: readonly Event[], remaining: readonly string[]): void => {
    check(current);
    cases++;
    for (const device of remaining) {
      extend(
        [...current, gone(device)],
        remaining.filter((d) => d !== device),
      );
    }
  };
  extend(history, connected);
  return cases;
}

/** Every device report: 5 shows, hand-set or idle. */
const REPORTS: readonly { show: DeviceShow; idle: boolean }[] = DEVICE_ORDER.flatMap((show) => [
  { show, idle: false },
  { show, idle: true },
]);

function* sequences<T>(alphabet: readonly T[], length: number): Generator<T[]> {
  if (length === 0) {
    yield [];
    return;
  }
  for (const head of sequences(alphabet, length - 1)) {
    for (const last of alphabet) yield [...head, last];
  }
}

const onDevice =
  (device: string) =>
  (r: { show: DeviceShow; idle: boolean }): Event =>
    report(device, r.show, r.idle);

describe("presence rules: constants", () => {
  it("SHOWS lists every state from least to most chatty", () => {
    assert.deepEqual([...SHOWS], [...ORDER]);
  });

  it("DEVICE_SHOWS is SHOWS without offline, in the same order", () => {
    assert.deepEqual([...DEVICE_SHOWS], [...DEVICE_ORDER]);
    assert.deepEqual(
      [...DEVICE_SHOWS],
      SHOWS.filter((s) => s !== "offline"),
    );
    assert.ok(!(DEVICE_SHOWS as readonly string[]).includes("offline"));
  });

  it("chattiness: offline < dnd < xa < away < online < chat", () => {
    assert.deepEqual(
      ORDER.map((s) => chattiness(s)),
      [0, 1, 2, 3, 4, 5],
    );
    for (const [i, a] of ORDER.entries()) {
      for (const [j, b] of ORDER.entries()) {
        assert.equal(
          Math.sign(chattiness(a) - chattiness(b)),
          Math.sign(i - j),
          `chattiness(${a}) vs chattiness(${b})`,
        );
      }
    }
  });
});

describe("presence rules: applyReport", () => {
  it("a first hand-set report is a choice made now", () => {
    for (const show of DEVICE_ORDER) {
      assert.deepEqual(applyReport(undefined, { show, idle: false }, 7), {
        show,
        idle: false,
        handSet: show,
        chosenAt: 7,
      });
    }
  });

  it("a first idle report has no hand-set state yet", () => {
    for (const show of DEVICE_ORDER) {
      assert.deepEqual(applyReport(undefined, { show, idle: true }, 7), {
        show,
        idle: true,
        handSet: undefined,
        chosenAt: 0,
      });
    }
  });

  it("an idle report keeps the hand-set state and when it was chosen", () => {
    for (const previous of DEVICE_ORDER) {
      for (const show of DEVICE_ORDER) {
        const before = applyReport(undefined, { show: previous, idle: false }, 3);
        assert.deepEqual(applyReport(before, { show, idle: true }, 9), {
          show,
          idle: true,
          handSet: previous,
          chosenAt: 3,
        });
      }
    }
  });

  it("a hand-set report is a new choice only when it differs from the hand-set state", () => {
    for (const previous of DEVICE_ORDER) {
      for (const wentIdle of [false, true]) {
        for (const show of DEVICE_ORDER) {
          let device = applyReport(undefined, { show: previous, idle: false }, 3);
          if (wentIdle) device = applyReport(device, { show: "xa", idle: true }, 5);
          const after = applyReport(device, { show, idle: false }, 9);
          const label = `${previous}${wentIdle ? ", idle xa" : ""}, then ${show}`;
          assert.equal(after.chosenAt, show === previous ? 3 : 9, label);
          assert.equal(after.handSet, show, label);
          assert.equal(after.show, show, label);
          assert.equal(after.idle, false, label);
        }
      }
    }
  });

  it("a device that was only ever idle makes a choice with its first hand-set report", () => {
    const idle = applyReport(undefined, { show: "away", idle: true }, 2);
    assert.equal(applyReport(idle, { show: "away", idle: false }, 4).chosenAt, 4);
  });

  it("does not modify the previous device", () => {
    const before = Object.freeze(applyReport(undefined, { show: "chat", idle: false }, 1));
    const copy = { ...before };
    for (const r of REPORTS) applyReport(before, r, 2);
    assert.deepEqual(before, copy);
  });
});

describe("presence rules: combine", () => {
  it("no device → offline, whatever the iterable", () => {
    assert.equal(combine([]), "offline");
    assert.equal(combine(new Map<string, Device>().values()), "offline");
    assert.equal(combine(new Set<Device>()), "offline");
  });

  it("accepts any iterable, such as a generator", () => {
    function* devices(): Generator<Device> {
      yield { show: "dnd", idle: false, handSet: "dnd", chosenAt: 1 };
      yield { show: "chat", idle: true, handSet: undefined, chosenAt: 0 };
    }
    assert.equal(combine(devices()), "dnd");
  });

  it("equal choice times (never made by applyReport) go to the chattier state, in any order", () => {
    const dnd: Device = { show: "dnd", idle: false, handSet: "dnd", chosenAt: 4 };
    const online: Device = { show: "online", idle: false, handSet: "online", chosenAt: 4 };
    assert.equal(combine([dnd, online]), "online");
    assert.equal(combine([online, dnd]), "online");
  });
});

describe("presence rules: named examples", () => {
  const examples: [title: string, events: string[], expected: Show][] = [
    ["a user with no device is offline", [], "offline"],
    [
      "seed: A set chat by hand, B online by hand, A's idle timer sets away → online",
      ["A chat", "B online", "A idle away"],
      "online",
    ],
    ["a lone device going idle is obeyed", ["A online", "A idle away"], "away"],
    ["a lone idle device is obeyed even when less chatty", ["A chat", "A idle xa"], "xa"],
    ["a lone device that only ever was idle is obeyed", ["A idle away"], "away"],
    ["two hand-set devices: the later choice wins (chattier)", ["A dnd", "B chat"], "chat"],
    ["two hand-set devices: the later choice wins (less chatty)", ["A chat", "B dnd"], "dnd"],
    [
      "a hand-set dnd is not overridden by another device's idle away",
      ["A online", "B dnd", "A idle away"],
      "dnd",
    ],
    [
      "a hand-set dnd wins over a device that was never anything but idle",
      ["A dnd", "B idle away"],
      "dnd",
    ],
    [
      "coming back from idle to the same state is not a new choice",
      ["A chat", "B dnd", "A idle away", "A chat"],
      "dnd",
    ],
    [
      "coming back from idle to a different state is a new choice",
      ["A chat", "B dnd", "A idle away", "A online"],
      "online",
    ],
    ["re-sending the same state is not a new choice", ["A chat", "B dnd", "A chat"], "dnd"],
    ["changing the hand-set state is a new choice", ["A chat", "B dnd", "A online"], "online"],
    [
      "changing back to an earlier state is a new choice",
      ["A chat", "A online", "B dnd", "A chat"],
      "chat",
    ],
    [
      "going from idle to hand-set with the same show is a choice if nothing was hand-set before",
      ["A dnd", "B idle away", "B away"],
      "away",
    ],
    [
      "every device idle → the most chatty of their states",
      ["A chat", "B dnd", "A idle xa", "B idle away"],
      "away",
    ],
    [
      "every device idle → their idle states count, not the hand-set ones they keep",
      ["A chat", "B online", "A idle xa", "B idle dnd"],
      "xa",
    ],
    ["the last device leaving → offline", ["A chat", "A gone"], "offline"],
    [
      "the last of several devices leaving → offline",
      ["A chat", "B online", "A gone", "B gone"],
      "offline",
    ],
    ["the last idle device leaving → offline", ["A chat", "A idle away", "A gone"], "offline"],
    [
      "the latest-chosen device leaving → the previous choice among remaining active devices",
      ["A dnd", "B xa", "C chat", "C gone"],
      "xa",
    ],
    [
      "the latest-chosen device leaving skips idle devices",
      ["A dnd", "B xa", "C chat", "B idle away", "C gone"],
      "dnd",
    ],
    [
      "the only active device leaving → the most chatty idle state",
      ["A dnd", "B chat", "A idle xa", "B gone"],
      "xa",
    ],
    [
      "an idle device leaving does not change the active choice",
      ["A online", "B dnd", "A idle chat", "A gone"],
      "dnd",
    ],
    [
      "a device coming back after leaving makes a new choice, even with its old state",
      ["A chat", "B dnd", "A gone", "A chat"],
      "chat",
    ],
  ];

  for (const [title, events, expected] of examples) {
    it(`${title}: ${events.length === 0 ? "(nothing)" : events.join(", ")} → ${expected}`, () => {
      const history = events.map(parse);
      assert.equal(oracle(history), expected, "the oracle agrees with the example");
      assert.equal(presence(history), expected, "the module agrees with the example");
    });
  }
});

describe("presence rules: exhaustive sweeps against the oracle", () => {
  it("every single device state (5 shows × hand-set/idle), then leaving", () => {
    let cases = 0;
    for (const r of REPORTS) {
      const history = [onDevice("A")(r)];
      assert.equal(check(history), r.show, describeHistory(history));
      cases += checkWithDepartures(history);
    }
    assert.equal(cases, 10 * 2);
  });

  it("every ordered pair of reports on two devices, then any of them leaving", () => {
    let cases = 0;
    for (const [a, b] of sequences(REPORTS, 2)) {
      if (a === undefined || b === undefined) continue;
      cases += checkWithDepartures([onDevice("A")(a), onDevice("B")(b)]);
    }
    // each: none leaves, A, B, A then B, B then A
    assert.equal(cases, 100 * 5);
  });

  it("every ordered triple of reports on three devices, then any of them leaving", () => {
    let cases = 0;
    for (const [a, b, c] of sequences(REPORTS, 3)) {
      if (a === undefined || b === undefined || c === undefined) continue;
      cases += checkWithDepartures([onDevice("A")(a), onDevice("B")(b), onDevice("C")(c)]);
    }
    // 1 + 3 + 3·2 + 3·2·1 ways for three devices to leave or not
    assert.equal(cases, 1000 * 16);
  });

  it("every sequence of up to 3 reports on one device, then leaving", () => {
    let cases = 0;
    for (let length = 1; length <= 3; length++) {
      for (const reports of sequences(REPORTS, length)) {
        cases += checkWithDepartures(reports.map(onDevice("A")));
      }
    }
    assert.equal(cases, (10 + 100 + 1000) * 2);
  });

  it("every sequence of up to 3 reports spread over two devices, then any of them leaving", () => {
    const alphabet = [...REPORTS.map(onDevice("A")), ...REPORTS.map(onDevice("B"))];
    let histories = 0;
    for (let length = 1; length <= 3; length++) {
      for (const history of sequences(alphabet, length)) {
        checkWithDepartures(history);
        histories++;
      }
    }
    assert.equal(histories, 20 + 400 + 8000);
  });

  it("every sequence of up to 3 events on two devices, leaving and coming back included", () => {
    const alphabet = [
      ...REPORTS.map(onDevice("A")),
      ...REPORTS.map(onDevice("B")),
      gone("A"),
      gone("B"),
    ];
    let histories = 0;
    for (let length = 1; length <= 3; length++) {
      for (const history of sequences(alphabet, length)) {
        checkWithDepartures(history);
        histories++;
      }
    }
    assert.equal(histories, 22 + 22 ** 2 + 22 ** 3);
  });

  it("every sequence of 4 events on three devices over two shows, leaving included", () => {
    const few: readonly { show: DeviceShow; idle: boolean }[] = [
      { show: "dnd", idle: false },
      { show: "dnd", idle: true },
      { show: "chat", idle: false },
      { show: "chat", idle: true },
    ];
    const alphabet = ["A", "B", "C"].flatMap((d) => [...few.map(onDevice(d)), gone(d)]);
    let histories = 0;
    for (const history of sequences(alphabet, 4)) {
      check(history);
      histories++;
    }
    assert.equal(histories, 15 ** 4);
  });

  it("a hand-set state survives any idle reports on its device", () => {
    // A chooses, B chooses later, A goes idle any number of ways and comes back to its choice:
    // B's choice stays.
    for (const a of DEVICE_ORDER) {
      for (const b of DEVICE_ORDER) {
        for (let length = 1; length <= 3; length++) {
          for (const idles of sequences(DEVICE_ORDER, length)) {
            const history = [
              report("A", a, false),
              report("B", b, false),
              ...idles.map((s) => report("A", s, true)),
              report("A", a, false),
            ];
            assert.equal(check(history), b, describeHistory(history));
          }
        }
      }
    }
  });
});
