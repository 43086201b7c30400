import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { freePort } from "../../src/dev/ports.js";
import { TestClient, xml } from "../harness/client.js";
import { Daemon, type LogLine } from "../harness/daemon.js";
import { startStack, type Stack } from "../harness/stack.js";

let stack: Stack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

const WARN = 40;
const ping = (to: string) =>
  xml("iq", { type: "get", to }, xml("ping", { xmlns: "urn:xmpp:ping" }));
const componentLines = (daemon: Daemon) =>
  daemon.logs.filter((line) => line.svc === "component" && line.level >= WARN);

/** No stack traces on stdout or stderr: failures are explained in one line each. */
function assertNoStackTrace(daemon: Daemon) {
  const text = daemon.transcript();
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, "a stack trace was printed");
}

describe("start-up failures are retried with backoff and explained", () => {
  test("a wrong secret gives one clear line per backoff step, not a one-second loop", async () => {
    const daemon = await Daemon.start(stack, {
      name: "wrong-secret",
      secret: "not-the-secret",
      reconnect: { initial_delay_ms: 200, max_delay_ms: 60_000 },
    });
    try {
      await daemon.waitForLog(
        () => daemon.logs.filter((l) => l.msg.startsWith("component secret rejected")).length >= 4,
        20_000,
      );
      const lines = componentLines(daemon);
      // Nothing but the one line per attempt: no xmpp.js noise, no second message for one failure.
      for (const line of lines)
        assert.match(
          line.msg,
          /^component secret rejected by the server \(compare component.secret with its component_secret\); retrying in /,
        );
      const steps = lines.map((line) => ({ at: line.time, wait: line.retryInMs as number }));
      for (let i = 1; i < steps.length; i++) {
        const [previous, current] = [steps[i - 1]!, steps[i]!];
        // Each wait about doubles (jitter takes at most a quarter off) ...
        assert.ok(current.wait >= previous.wait * 1.4, `waits grow: ${JSON.stringify(steps)}`);
        // ... and the next attempt really waited for it.
        assert.ok(
          current.at - previous.at >= previous.wait,
          `attempts are spaced: ${JSON.stringify(steps)}`,
        );
      }
      assert.ok(
        lines.every((line) => line.level === 50),
        "reported at error level",
      );
    } finally {
      assert.equal((await daemon.stop()).code, 0);
    }
    assertNoStackTrace(daemon);
  });

  test("a second process with the same component JID is told so and backs off (Prosody); ejabberd takes it too", async () => {
    const first = await Daemon.start(stack, { name: "first" });
    await first.waitOnline();
    const second = await Daemon.start(stack, {
      name: "second",
      reconnect: { initial_delay_ms: 200, max_delay_ms: 60_000 },
    });
    try {
      if (stack.prosody.kind === "prosody") {
        const line = await second.waitForLog((l) =>
          l.msg.startsWith("another process is connected"),
        );
        assert.match(
          line.msg,
          new RegExp(`^another process is connected as ${stack.componentJid}; retrying in`),
        );
      } else {
        // ejabberd 23.01 says nothing to tell: it accepts every connection for a component
        // domain and spreads the traffic between them (balancing_route), as the README warns.
        await second.waitOnline();
        assert.ok(!second.logs.some((l) => l.msg.startsWith("another process is connected")));
      }
      const client = await TestClient.connect(stack, stack.accounts[0]!);
      try {
        assert.equal((await client.request(ping(stack.componentJid))).attrs.type, "result");
      } finally {
        await client.stop();
      }
    } finally {
      assert.equal((await second.stop()).code, 0);
      assert.equal((await first.stop()).code, 0);
    }
  });

  test("an unreachable XMPP server is retried and named", async () => {
    const daemon = await Daemon.start(stack, { name: "no-xmpp", componentPort: await freePort() });
    try {
      const line = await daemon.waitForLog((l) => l.msg.startsWith("cannot reach the XMPP server"));
      assert.match(line.msg, /ECONNREFUSED/);
      await daemon.waitForLog(() => componentLines(daemon).length >= 2);
    } finally {
      assert.equal((await daemon.stop()).code, 0);
    }
    assertNoStackTrace(daemon);
  });

  test("an unreachable database is retried, and SIGTERM still stops the daemon cleanly", async () => {
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/none`;
    const daemon = await Daemon.start(stack, { name: "no-db", databaseUrl: url });
    let line: LogLine;
    try {
      line = await daemon.waitForLog((l) => l.msg.startsWith("database unreachable"));
      await daemon.waitForLog(
        () => daemon.logs.filter((l) => l.msg.startsWith("database unreachable")).length >= 2,
      );
    } finally {
      assert.equal((await daemon.stop()).code, 0);
    }
    assert.match(line.msg, /ECONNREFUSED.*retrying in/);
    assert.doesNotMatch(
      daemon.transcript(),
      new RegExp(stack.secret),
      "the secret is never logged",
    );
    assertNoStackTrace(daemon);
  });
});

describe("shutdown", () => {
  test("SIGTERM closes everything and exits 0 within the shutdown timeout", async () => {
    // The daemon exits 1 if its stop overruns shutdown_timeout_ms, so exit code 0 is the proof.
    const daemon = await Daemon.start(stack, { name: "sigterm", shutdownTimeoutMs: 3_000 });
    await daemon.waitOnline();
    const client = await TestClient.connect(stack, stack.accounts[1]!);
    try {
      assert.equal((await client.request(ping(stack.componentJid))).attrs.type, "result");
      const result = await daemon.stop("SIGTERM");
      assert.deepEqual(result, { code: 0, signal: null });
      assert.ok(daemon.logs.some((l) => l.msg === "stopped"));
      assert.ok(!daemon.logs.some((l) => l.msg.startsWith("shutdown took too long")));
      // The stream was closed, so the component no longer answers.
      const reply = await client.request(ping(stack.componentJid));
      assert.equal(reply.attrs.type, "error");
    } finally {
      await client.stop();
    }
    assertNoStackTrace(daemon);
  });

  test("SIGINT does the same", async () => {
    const daemon = await Daemon.start(stack, { name: "sigint", shutdownTimeoutMs: 3_000 });
    await daemon.waitOnline();
    assert.deepEqual(await daemon.stop("SIGINT"), { code: 0, signal: null });
  });
});
