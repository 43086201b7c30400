import assert from "node:assert/strict";
import { describe, it } from "node:test";
import xml, { type Element } from "@xmpp/xml";
import { pino } from "pino";
import { Outbox, type Wire } from "../../src/presence/outbox.js";

const ALICE = "alice@example.org";
const BOB = "bob@example.org";
const CAROL = "carol@example.org";
const ALICE_PHONE = `${ALICE}/phone`;
const ALICE_LAPTOP = `${ALICE}/laptop`;
const BOB_PHONE = `${BOB}/phone`;

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => (resolve = res));
  return { promise, resolve };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface LogLine {
  level: number;
  msg: string;
}

/** A wire that records what is sent; `congested` and `drained` are under the test's control. */
class FakeWire implements Wire {
  readonly sent: Element[] = [];
  congested = false;
  drains = 0;
  #drain: Deferred | undefined;
  throwOn: ((element: Element) => boolean) | undefined;

  send(element: Element): void {
    if (this.throwOn?.(element)) throw new Error("socket closed");
    this.sent.push(element);
  }

  drained(): Promise<void> {
    this.drains++;
    return (this.#drain ??= deferred()).promise;
  }

  /** The socket drained: whoever waits goes on. */
  drain(): void {
    this.congested = false;
    this.#drain?.resolve();
    this.#drain = undefined;
  }

  get to(): string[] {
    return this.sent.map((element) => String(element.attrs.to));
  }

  get ids(): string[] {
    return this.sent.map((element) => String(element.attrs.id));
  }
}

function setup() {
  const wire = new FakeWire();
  /** Extra devices per user, beyond the bare JID (the hub's rule lives in the hub). */
  const extra = new Map<string, string[]>();
  const lines: LogLine[] = [];
  const log = pino(
    { level: "info" },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  const outbox = new Outbox(wire, (user) => [user, ...(extra.get(user) ?? [])], log);
  return { wire, extra, outbox, lines };
}

const message = (id: string) => (to: string) => xml("message", { to, id, type: "headline" });

describe("Outbox", () => {
  it("sends nothing before the caller returns, then everything once idle", async () => {
    const { wire, outbox } = setup();
    outbox.toDevice(ALICE_PHONE, message("1"));
    assert.deepEqual(wire.sent, [], "the caller's reply goes first");
    await outbox.idle();
    assert.deepEqual(wire.to, [ALICE_PHONE]);
    assert.deepEqual(wire.ids, ["1"]);
  });

  it("keeps the order of batches and of recipients within a batch", async () => {
    const { wire, outbox } = setup();
    outbox.toDevice("x@example.org/1", message("a"));
    outbox.toDevices(["y@example.org/1", "y@example.org/2", "z@example.org/1"], message("b"));
    outbox.toUsers([CAROL, BOB], message("c"));
    outbox.toUser(ALICE, message("d"));
    await outbox.idle();
    assert.deepEqual(
      wire.sent.map((element) => `${String(element.attrs.id)} ${String(element.attrs.to)}`),
      [
        "a x@example.org/1",
        "b y@example.org/1",
        "b y@example.org/2",
        "b z@example.org/1",
        `c ${CAROL}`,
        `c ${BOB}`,
        `d ${ALICE}`,
      ],
    );
  });

  it("keeps the order across batches queued while an earlier one is being sent", async () => {
    const { wire, outbox } = setup();
    outbox.toDevice("a@example.org/1", message("1"));
    await settle(); // the first pump has started (and finished)
    outbox.toDevice("a@example.org/1", message("2"));
    outbox.toDevice("a@example.org/1", message("3"));
    await outbox.idle();
    outbox.toDevice("a@example.org/1", message("4"));
    await outbox.idle();
    assert.deepEqual(wire.ids, ["1", "2", "3", "4"]);
  });

  it("builds one stanza per recipient, addressed to it", async () => {
    const { wire, outbox } = setup();
    const built: string[] = [];
    outbox.toDevices([ALICE_PHONE, ALICE_LAPTOP], (to) => {
      built.push(to);
      return xml("presence", { to });
    });
    await outbox.idle();
    assert.deepEqual(built, [ALICE_PHONE, ALICE_LAPTOP]);
    assert.deepEqual(wire.to, [ALICE_PHONE, ALICE_LAPTOP]);
    assert.notEqual(wire.sent[0], wire.sent[1]);
  });

  describe("addressing users", () => {
    it("a user's copies go where the addressing rule says, one each", async () => {
      const { wire, extra, outbox } = setup();
      extra.set(ALICE, [ALICE_PHONE]);
      outbox.toUser(ALICE, message("1"));
      await outbox.idle();
      assert.deepEqual(wire.to, [ALICE, ALICE_PHONE]);
    });

    it("toUsers goes user by user, in order", async () => {
      const { wire, extra, outbox } = setup();
      extra.set(BOB, [BOB_PHONE]);
      outbox.toUsers(new Set([ALICE, BOB, CAROL]), message("1"));
      await outbox.idle();
      assert.deepEqual(wire.to, [ALICE, BOB, BOB_PHONE, CAROL]);
    });

    it("the addresses are those of the moment the batch is queued", async () => {
      const { wire, extra, outbox } = setup();
      extra.set(BOB, [BOB_PHONE]);
      outbox.toUser(BOB, message("1"));
      extra.delete(BOB);
      outbox.toUser(BOB, message("2"));
      await outbox.idle();
      assert.deepEqual(wire.to, [BOB, BOB_PHONE, BOB]);
    });

    it("no recipients: nothing is queued and idle() resolves at once", async () => {
      const { wire, outbox } = setup();
      let built = 0;
      outbox.toDevices([], () => {
        built++;
        return xml("message");
      });
      outbox.toUsers([], () => {
        built++;
        return xml("message");
      });
      await outbox.idle();
      assert.equal(built, 0);
      assert.deepEqual(wire.sent, []);
    });
  });

  describe("congestion", () => {
    it("waits for drained() while the wire is congested, then goes on in order", async () => {
      const { wire, outbox } = setup();
      wire.congested = true;
      outbox.toDevices(["a@x/1", "a@x/2"], message("1"));
      outbox.toDevice("b@x/1", message("2"));
      let idle = false;
      const done = outbox.idle().then(() => (idle = true));

      await settle();
      await settle();
      assert.deepEqual(wire.sent, [], "nothing is written to a congested wire");
      assert.equal(wire.drains, 1);
      assert.equal(idle, false);

      wire.drain();
      await done;
      assert.deepEqual(wire.to, ["a@x/1", "a@x/2", "b@x/1"]);
      assert.equal(wire.drains, 1, "no wait while the wire is not congested");
    });

    it("checks for congestion before every single send", async () => {
      const { wire, outbox } = setup();
      const original = wire.send.bind(wire);
      // The wire fills up after each stanza.
      wire.send = (element) => {
        original(element);
        wire.congested = true;
      };
      outbox.toDevices(["a@x/1", "a@x/2", "a@x/3"], message("1"));
      const done = outbox.idle();
      for (let sent = 1; sent <= 3; sent++) {
        while (wire.sent.length < sent) {
          await settle();
          if (wire.congested) wire.drain();
        }
        assert.equal(wire.sent.length, sent);
      }
      await done;
      assert.deepEqual(wire.to, ["a@x/1", "a@x/2", "a@x/3"]);
      assert.equal(wire.drains, 2, "a wait between the sends, none before the first");
    });
  });

  describe("failures", () => {
    it("a throwing send stops that batch but not later ones, and is logged", async () => {
      const { wire, outbox, lines } = setup();
      wire.throwOn = (element) => element.attrs.to === "a@x/2";
      outbox.toDevices(["a@x/1", "a@x/2", "a@x/3"], message("1"));
      outbox.toDevices(["b@x/1", "b@x/2"], message("2"));
      await outbox.idle();
      assert.deepEqual(wire.to, ["a@x/1", "b@x/1", "b@x/2"]);
      const warnings = lines.filter((line) => line.level === 40);
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]?.msg, "notification fan-out stopped");
    });

    it("a throwing build stops that batch but not later ones", async () => {
      const { wire, outbox, lines } = setup();
      outbox.toDevices(["a@x/1", "a@x/2"], (to) => {
        if (to === "a@x/1") throw new Error("cannot build");
        return xml("message", { to });
      });
      outbox.toDevice("b@x/1", message("2"));
      await outbox.idle();
      assert.deepEqual(wire.to, ["b@x/1"]);
      assert.equal(lines.filter((line) => line.level === 40).length, 1);
    });

    it("the outbox keeps working after a failure", async () => {
      const { wire, outbox } = setup();
      wire.throwOn = () => true;
      outbox.toDevice("a@x/1", message("1"));
      await outbox.idle();
      wire.throwOn = undefined;
      outbox.toDevice("a@x/1", message("2"));
      await outbox.idle();
      assert.deepEqual(wire.ids, ["2"]);
    });
  });

  describe("idle()", () => {
    it("resolves at once when nothing was ever queued", async () => {
      const { outbox } = setup();
      await outbox.idle();
    });

    it("includes batches queued while it waits", async () => {
      const { wire, outbox } = setup();
      wire.congested = true;
      outbox.toDevice("a@x/1", message("1"));
      const done = outbox.idle();
      await settle();
      outbox.toDevice("a@x/1", message("2"));
      wire.drain();
      await done;
      assert.deepEqual(wire.ids, ["1", "2"]);
    });

    it("several waiters all resolve once the queue is empty", async () => {
      const { wire, outbox } = setup();
      wire.congested = true;
      outbox.toDevices(["a@x/1", "a@x/2"], message("1"));
      const waiters = [outbox.idle(), outbox.idle(), outbox.idle()];
      await settle();
      wire.drain();
      await Promise.all(waiters);
      assert.equal(wire.sent.length, 2);
    });

    it("a batch queued as the pump finishes is not left behind", async () => {
      // The pump finishes in the same microtask run as other code that queues a batch: that
      // batch must still be sent, and idle() must wait for it.
      const { wire, outbox } = setup();
      wire.congested = true;
      outbox.toDevice("a@x/1", message("1"));
      await settle(); // the pump now waits on drained()
      assert.equal(wire.drains, 1);
      const drain = wire.drained(); // the same drain the pump waits on, resolved right after it
      void drain.then(() => outbox.toDevice("a@x/1", message("2")));
      wire.drain();
      await drain;
      await outbox.idle();
      assert.deepEqual(wire.ids, ["1", "2"]);
    });
  });
});
