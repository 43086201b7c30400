import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { pino } from "pino";
import { StanzaError } from "../../src/xmpp/stanza-error.js";
import {
  Link,
  NotConnectedError,
  type LinkState,
  type SessionHooks,
  type Transport,
} from "../../src/xmpp/link.js";
import { Diagnosis, LoginTimeoutError, describeCommon } from "../../src/xmpp/link-failures.js";

interface LogLine {
  level: number;
  msg: string;
  retryInMs?: number;
}

/** A socket that records writes and, when destroyed, closes as a real one does (a turn later). */
class FakeSocket extends EventEmitter {
  written: string[] = [];
  destroyed = false;
  writableNeedDrain = false;
  constructor(private readonly hooks: SessionHooks) {
    super();
  }
  cork(): void {}
  uncork(): void {}
  write(text: string): boolean {
    this.written.push(text);
    return true;
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    setImmediate(() => {
      this.hooks.closed();
      this.emit("close");
    });
  }
}

type Behaviour = "online" | "hang" | "fail" | "refuse-close";

/** A transport whose every connection does what the test says, in order. */
class FakeTransport implements Transport {
  readonly name = "fake";
  readonly jid = "fake.example";
  readonly sockets: FakeSocket[] = [];
  readonly hooks: SessionHooks[] = [];
  constructor(private readonly script: Behaviour[]) {}

  open(hooks: SessionHooks) {
    const behaviour = this.script[Math.min(this.sockets.length, this.script.length - 1)]!;
    const socket = new FakeSocket(hooks);
    this.sockets.push(socket);
    this.hooks.push(hooks);
    const login =
      behaviour === "online" || behaviour === "refuse-close"
        ? Promise.resolve()
        : behaviour === "fail"
          ? Promise.reject(
              Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
            )
          : new Promise<void>(() => {});
    if (behaviour === "fail") setImmediate(() => socket.destroy());
    return {
      login,
      socket: socket as unknown as Socket,
      write: (_element: Element, text: string) => void socket.write(text),
      // A polite close that never finishes (the server never answers our </stream>).
      close: () =>
        behaviour === "refuse-close"
          ? new Promise<void>(() => {})
          : Promise.resolve().then(() => socket.destroy()),
    };
  }

  describe(outcome: Parameters<Transport["describe"]>[0]) {
    return { level: "warn" as const, message: describeCommon(outcome, "fake:1") ?? "ended" };
  }
}

function setup(script: Behaviour[], loginTimeoutMs = 60_000) {
  const lines: LogLine[] = [];
  const log = pino(
    { level: "debug" },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  const transport = new FakeTransport(script);
  const link = new Link(transport, {
    policy: { initialDelayMs: 20, maxDelayMs: 200 },
    loginTimeoutMs,
    log,
  });
  const states: LinkState[] = [];
  link.on("state", (state) => states.push(state));
  return { link, transport, lines, states };
}

const until = (link: Link, state: LinkState) =>
  new Promise<void>((resolve) => {
    if (link.state === state) return resolve();
    const on = (next: LinkState) => {
      if (next !== state) return;
      link.off("state", on);
      resolve();
    };
    link.on("state", on);
  });

// Each test guards against a hang with a generous timeout: that is no timing assertion.
const guard = { timeout: 10_000 };

describe("Link: stop() in every state", () => {
  test("idle: never started", guard, async () => {
    const { link, transport } = setup(["online"]);
    await link.stop();
    assert.equal(link.state, "stopped");
    assert.equal(transport.sockets.length, 0);
  });

  test("connecting: the login never finishes", guard, async () => {
    const { link, transport } = setup(["hang"]);
    link.start();
    await until(link, "connecting");
    await link.stop();
    assert.equal(link.state, "stopped");
    assert.ok(transport.sockets[0]?.destroyed, "the socket is cut");
  });

  test("online: polite close, then stopped", guard, async () => {
    const { link, transport, states } = setup(["online"]);
    link.start();
    assert.equal(await link.waitOnline(), true);
    await link.stop();
    assert.deepEqual(states, ["connecting", "online", "stopping", "stopped"]);
    assert.ok(transport.sockets[0]?.destroyed);
  });

  test("online, with a server that never answers the close", guard, async () => {
    const { link, transport } = setup(["refuse-close"]);
    link.start();
    await link.waitOnline();
    await link.stop(300);
    assert.equal(link.state, "stopped");
    assert.ok(transport.sockets[0]?.destroyed, "cut after the polite close had its time");
  });

  test("waiting: the backoff pause between attempts", guard, async () => {
    const { link, transport } = setup(["fail", "fail", "fail"]);
    link.start();
    await until(link, "waiting");
    await link.stop();
    assert.equal(link.state, "stopped");
    const attempts = transport.sockets.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(transport.sockets.length, attempts, "no attempt after stop()");
  });

  test("stopped: a second stop() is a no-op, and start() does not revive it", guard, async () => {
    const { link, transport } = setup(["online"]);
    link.start();
    await link.waitOnline();
    await link.stop();
    await link.stop();
    link.start();
    assert.equal(link.state, "stopped");
    assert.equal(transport.sockets.length, 1);
    assert.equal(await link.waitOnline(), false, "waitOnline() does not hang on a stopped link");
  });

  test("many stops at once all resolve", guard, async () => {
    const { link } = setup(["hang"]);
    link.start();
    await until(link, "connecting");
    await Promise.all([link.stop(), link.stop(), link.stop()]);
    assert.equal(link.state, "stopped");
  });
});

describe("Link: reconnecting", () => {
  test("one warn line per failed attempt, each wait about twice the last", guard, async () => {
    const { link, lines } = setup(["fail"]);
    link.start();
    while (lines.filter((l) => l.msg.startsWith("cannot reach")).length < 4) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await link.stop();
    const waits = lines.filter((l) => l.msg.startsWith("cannot reach")).map((l) => l.retryInMs!);
    for (let i = 1; i < Math.min(waits.length, 4); i++) {
      assert.ok(waits[i]! >= waits[i - 1]! * 1.4, `waits grow: ${JSON.stringify(waits)}`);
    }
    assert.match(
      lines.find((l) => l.msg.startsWith("cannot reach"))!.msg,
      /^cannot reach the XMPP server at fake:1 \(ECONNREFUSED: nothing listens there\); retrying in \d+ ms$/,
    );
  });

  test(
    "a connection that came online starts the backoff again from the shortest wait",
    guard,
    async () => {
      const { link, transport, lines } = setup(["fail", "fail", "online", "fail"]);
      link.start();
      await link.waitOnline();
      transport.sockets[2]!.destroy();
      while (!lines.some((l) => l.msg.startsWith("connection to the XMPP server lost"))) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await link.stop();
      const lost = lines.find((l) => l.msg.startsWith("connection to the XMPP server lost"))!;
      const failures = lines.filter((l) => l.retryInMs !== undefined);
      assert.ok(lost.retryInMs! <= 20, `back to the first wait: ${JSON.stringify(failures)}`);
    },
  );

  test("a login that does not finish in time is cut and explained", guard, async () => {
    const { link, lines } = setup(["hang", "online"], 50);
    link.start();
    assert.equal(await link.waitOnline(), true);
    await link.stop();
    const line = lines.find((l) => l.msg.includes("did not complete the login"));
    assert.ok(line, JSON.stringify(lines));
    assert.match(line.msg, /within 0\.05 s/);
  });
});

describe("Link: sending and iq requests", () => {
  test("send() throws NotConnectedError unless online", guard, async () => {
    const { link, transport } = setup(["online"]);
    assert.throws(() => link.send(xml("message")), NotConnectedError);
    link.start();
    await link.waitOnline();
    link.send(xml("message", { to: "a@b" }));
    assert.equal(transport.sockets[0]?.written.length, 1);
    await link.stop();
    assert.throws(() => link.send(xml("message")), NotConnectedError);
  });

  test("a result answers our request and never reaches the stanza listeners", guard, async () => {
    const { link, transport } = setup(["online"]);
    const seen: Element[] = [];
    link.on("stanza", (stanza) => seen.push(stanza));
    link.start();
    await link.waitOnline();
    const pending = link.request(xml("iq", { type: "get", id: "q1", to: "a@b/c" }), 5_000);
    const result = xml("iq", { type: "result", id: "q1", from: "a@b/c" });
    transport.hooks[0]!.stanza(result);
    assert.equal(await pending, result);
    const stray = xml("iq", { type: "result", id: "other", from: "a@b/c" });
    transport.hooks[0]!.stanza(stray);
    assert.deepEqual(seen, [stray], "a result nobody waits for goes on to the listeners");
    await link.stop();
  });

  test("an error reply rejects with its StanzaError", guard, async () => {
    const { link, transport } = setup(["online"]);
    link.start();
    await link.waitOnline();
    const pending = link.request(xml("iq", { type: "get", id: "q2", to: "a@b/c" }), 5_000);
    transport.hooks[0]!.stanza(
      xml(
        "iq",
        { type: "error", id: "q2", from: "a@b/c" },
        new StanzaError("forbidden").toElement(),
      ),
    );
    await assert.rejects(pending, (error: unknown) => error instanceof StanzaError);
    await link.stop();
  });

  test("pending requests are rejected the moment the connection drops", guard, async () => {
    const { link, transport } = setup(["online", "hang"]);
    link.start();
    await link.waitOnline();
    const pending = link.request(xml("iq", { type: "get", id: "q3", to: "a@b/c" }), 60_000);
    transport.sockets[0]!.destroy();
    await assert.rejects(pending, NotConnectedError);
    await link.stop();
  });
});

describe("describeCommon", () => {
  test("a diagnosis is its own message", () => {
    assert.equal(
      describeCommon({ wasOnline: false, cause: new Diagnosis("port 5222 is c2s") }, "h:1"),
      "port 5222 is c2s",
    );
  });

  test("the library's own empty TimeoutError still gets words", () => {
    const timeout = Object.assign(new Error(""), { name: "TimeoutError" });
    assert.match(
      describeCommon({ wasOnline: false, cause: timeout }, "h:1")!,
      /did not complete the login/,
    );
  });

  test("our login timeout names its bound", () => {
    assert.match(
      describeCommon({ wasOnline: false, cause: new LoginTimeoutError(10_000) }, "h:1")!,
      /within 10 s/,
    );
  });

  test("socket codes are spelled out; unknown ones are kept as they are", () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    assert.match(
      describeCommon({ wasOnline: false, cause: err("ENOTFOUND") }, "h:1")!,
      /ENOTFOUND: no such host/,
    );
    assert.match(describeCommon({ wasOnline: false, cause: err("EWEIRD") }, "h:1")!, /\(EWEIRD\)$/);
  });
});
