import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, test } from "node:test";
import { backoffDelay, formatDelay, sleep, type BackoffPolicy } from "../../src/backoff.js";

const POLICY: BackoffPolicy = { initialDelayMs: 1_000, maxDelayMs: 60_000 };
const noJitter = () => 0;
const fullJitter = () => 1;

/** Lets promise callbacks run (setImmediate is never mocked here). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function watch(promise: Promise<unknown>) {
  const state = { settled: false };
  void promise.then(() => (state.settled = true));
  return state;
}

describe("backoffDelay", () => {
  test("attempt 0 waits the initial delay", () => {
    assert.equal(backoffDelay(0, POLICY, noJitter), 1_000);
  });

  test("each attempt doubles the delay", () => {
    const delays = [0, 1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, POLICY, noJitter));
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000]);
  });

  test("the delay is capped at maxDelayMs", () => {
    assert.equal(backoffDelay(6, POLICY, noJitter), 60_000);
    assert.equal(backoffDelay(7, POLICY, noJitter), 60_000);
    assert.equal(backoffDelay(100, POLICY, noJitter), 60_000);
  });

  test("huge attempt numbers stay finite and capped", () => {
    for (const attempt of [31, 1_000, 1e9, Number.MAX_SAFE_INTEGER]) {
      const delay = backoffDelay(attempt, { initialDelayMs: 10, maxDelayMs: 3_600_000 }, noJitter);
      assert.equal(delay, 3_600_000, `attempt ${attempt}`);
    }
  });

  test("a cap equal to the initial delay keeps every attempt at that delay", () => {
    const policy = { initialDelayMs: 500, maxDelayMs: 500 };
    for (const attempt of [0, 1, 5, 50]) assert.equal(backoffDelay(attempt, policy, noJitter), 500);
  });

  test("a cap that is not a power-of-two multiple is reached exactly", () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 750 };
    const delays = [0, 1, 2, 3, 4].map((attempt) => backoffDelay(attempt, policy, noJitter));
    assert.deepEqual(delays, [100, 200, 400, 750, 750]);
  });

  test("full jitter takes a quarter off", () => {
    assert.equal(backoffDelay(0, POLICY, fullJitter), 750);
    assert.equal(backoffDelay(3, POLICY, fullJitter), 6_000);
    assert.equal(backoffDelay(50, POLICY, fullJitter), 45_000);
  });

  test("half jitter takes an eighth off", () => {
    assert.equal(
      backoffDelay(0, POLICY, () => 0.5),
      875,
    );
  });

  test("the result is rounded to whole milliseconds", () => {
    const delay = backoffDelay(0, { initialDelayMs: 10, maxDelayMs: 10 }, () => 0.3);
    assert.equal(delay, 9); // 10 * (1 - 0.075) = 9.25
    assert.ok(Number.isInteger(backoffDelay(2, POLICY, () => 0.123456)));
  });

  test("with the default random source every delay lies within the jitter bounds", () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const capped = Math.min(POLICY.maxDelayMs, POLICY.initialDelayMs * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(attempt, POLICY);
        assert.ok(delay >= Math.round(capped * 0.75), `attempt ${attempt}: ${delay} too short`);
        assert.ok(delay <= capped, `attempt ${attempt}: ${delay} too long`);
        assert.ok(Number.isInteger(delay));
      }
    }
  });

  test("consults the random source once per call", () => {
    let calls = 0;
    backoffDelay(3, POLICY, () => {
      calls++;
      return 0.5;
    });
    assert.equal(calls, 1);
  });
});

describe("sleep", () => {
  test("resolves after the given time, not before", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const state = watch(sleep(1_000));

    t.mock.timers.tick(999);
    await settle();
    assert.equal(state.settled, false);

    t.mock.timers.tick(1);
    await settle();
    assert.equal(state.settled, true);
  });

  test("resolves at once, without rejecting, when the signal aborts", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const controller = new AbortController();
    const state = watch(sleep(60_000, controller.signal));
    await settle();
    assert.equal(state.settled, false);

    controller.abort(new Error("stop"));
    await settle();
    assert.equal(state.settled, true);
  });

  test("resolves at once when the signal has already aborted", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const state = watch(sleep(60_000, AbortSignal.abort()));
    await settle();
    assert.equal(state.settled, true);
  });

  // The timeout only guards against a hang; it is no speed requirement.
  test("an abort really resolves a real timer early", { timeout: 10_000 }, async () => {
    const controller = new AbortController();
    const sleeping = sleep(3_600_000, controller.signal);
    controller.abort();
    await sleeping; // would hold the test for an hour if the abort were ignored
  });

  test("removes its abort listener once the time is up", async () => {
    const controller = new AbortController();
    await sleep(1, controller.signal);
    assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  });

  test("removes its abort listener when aborted", async () => {
    const controller = new AbortController();
    const sleeping = sleep(3_600_000, controller.signal);
    assert.equal(getEventListeners(controller.signal, "abort").length, 1);
    controller.abort();
    await sleeping;
    assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  });

  test("a later abort after the time is up does nothing", async () => {
    const controller = new AbortController();
    await sleep(1, controller.signal);
    assert.doesNotThrow(() => controller.abort());
  });

  test("sleep(0) resolves", async () => {
    await sleep(0);
  });
});

describe("formatDelay", () => {
  test("shows delays under a second in milliseconds", () => {
    assert.equal(formatDelay(0), "0 ms");
    assert.equal(formatDelay(250), "250 ms");
    assert.equal(formatDelay(999), "999 ms");
  });

  test("shows longer delays in seconds with one decimal", () => {
    assert.equal(formatDelay(1_000), "1.0 s");
    assert.equal(formatDelay(2_500), "2.5 s");
    assert.equal(formatDelay(60_000), "60.0 s");
  });
});
