import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, test } from "node:test";
import xml from "@xmpp/xml";
import { parseConfig } from "../../src/config.js";
import { RateLimit } from "../../src/http/rate-limit.js";
import {
  groupchatMessage,
  messageSchema,
  presenceStanza,
  readMessage,
  timestamp,
  tokenRequestSchema,
} from "../../src/webchat/protocol.js";
import { SseStream, type SseResponse } from "../../src/webchat/streams.js";
import { ApiKeys, bearer, looksLikeToken, newToken } from "../../src/webchat/tokens.js";
import type { BareJid } from "../../src/xmpp/jid.js";

describe("the Nereid wire", () => {
  test("timestamps are UTC with Z and whole seconds", () => {
    assert.equal(timestamp(new Date("2011-02-10T15:04:55.678Z")), "2011-02-10T15:04:55Z");
  });

  test("a browser message becomes groupchat with the topic in our extension, never <subject/>", () => {
    const message = messageSchema(100).parse({
      id: "0b6f3b3e-6f5e-4a8e-9a8e-0b6f3b3e6f5e",
      text: "hi",
      subject: "topic",
      type: "html",
      language: "en_US",
    });
    const stanza = groupchatMessage("r@muc.example" as BareJid, message, "t-1");
    assert.equal(stanza.getChild("subject"), undefined);
    assert.equal(stanza.attrs["xml:lang"], "en-US");
    assert.equal(stanza.getChildText("thread"), "t-1");
    const read = readMessage(stanza)!;
    assert.deepEqual(
      { subject: read.subject, type: read.type, text: read.text },
      { subject: "topic", type: "html", text: "hi" },
    );
  });

  test("a room's subject change is not a message; a chat message's subject is its topic", () => {
    const roomSubject = xml("message", { type: "groupchat" }, xml("subject", {}, "New topic"));
    assert.equal(readMessage(roomSubject), undefined);
    const withBody = xml(
      "message",
      { type: "groupchat" },
      xml("subject", {}, "room subject"),
      xml("body", {}, "text"),
    );
    assert.equal(readMessage(withBody)!.subject, undefined);
    const chat = xml(
      "message",
      { type: "chat" },
      xml("subject", {}, "topic"),
      xml("body", {}, "x"),
    );
    assert.equal(readMessage(chat)!.subject, "topic");
    assert.equal(readMessage(xml("message", { type: "error" }, xml("body", {}, "x"))), undefined);
  });

  test("presence is the seed's list, show only from its four values", () => {
    const at = new Date("2024-01-01T00:00:00Z");
    const away = presenceStanza(
      "p",
      xml("presence", {}, xml("show", {}, "away"), xml("status", {}, "s")),
      at,
    );
    assert.deepEqual(away.presence, [{ entity: "p", available: true, show: "away", status: "s" }]);
    const gone = presenceStanza("p", xml("presence", { type: "unavailable" }), at);
    assert.deepEqual(gone.presence, [{ entity: "p", available: false }]);
  });

  test("bad input names its field", () => {
    const schema = tokenRequestSchema(3600);
    const cases: [unknown, string][] = [
      [{ name: "a", role: "client", claim: true }, "person"],
      [{ person: "p", name: "a\u0000", role: "client", claim: true }, "name"],
      [{ person: "p", name: "a", role: "client" }, "room"],
      [{ person: "p", name: "a", role: "client", claim: true, room: "r@m" }, "room"],
      [{ person: "p", name: "a", role: "client", room: "not a jid" }, "room"],
      [
        { person: "p", name: "a", role: "client", claim: true, contacts: ["x@y/res"] },
        "contacts.0",
      ],
      [{ person: "p", name: "a", role: "client", claim: true, lifetime: 7200 }, "lifetime"],
    ];
    for (const [body, field] of cases) {
      const result = schema.safeParse(body);
      assert.equal(result.success, false, JSON.stringify(body));
      assert.equal(result.error.issues[0]!.path.join("."), field, JSON.stringify(body));
    }
    const form = schema.parse({
      person: "p",
      name: "a",
      role: "staff",
      claim: "true",
      contacts: "x@y",
    });
    assert.deepEqual([form.claim, form.contacts], [true, ["x@y"]]);
  });
});

describe("tokens and keys", () => {
  test("tokens carry 256 random bits in 43 URL-safe characters", () => {
    const tokens = new Set(Array.from({ length: 1000 }, newToken));
    assert.equal(tokens.size, 1000);
    for (const token of tokens) assert.ok(looksLikeToken(token), token);
    assert.equal(looksLikeToken("short"), false);
  });

  test("API keys match exactly, whatever their length", () => {
    const keys = new ApiKeys(["first-key-0123456789", "second-key-0123456789"]);
    assert.equal(keys.matches("second-key-0123456789"), true);
    for (const wrong of [undefined, "", "first-key-012345678", "first-key-01234567890", "x"]) {
      assert.equal(keys.matches(wrong), false, String(wrong));
    }
    assert.equal(bearer("Bearer abc"), "abc");
    assert.equal(bearer("Basic abc"), undefined);
  });
});

describe("rate limits", () => {
  test("a key is limited within its window and free again after it", () => {
    let now = 0;
    const limit = new RateLimit(3, 60_000, "too many", () => now);
    for (let i = 0; i < 3; i++) limit.take("a");
    assert.throws(
      () => limit.take("a"),
      (error: { code: string; headers: Record<string, string> }) => {
        assert.equal(error.code, "RATE_LIMITED");
        assert.equal(error.headers["Retry-After"], "60");
        return true;
      },
    );
    limit.take("b");
    now = 60_000;
    limit.take("a");
  });
});

/** A response that holds what is written, with a backlog the test sets. */
class FakeResponse extends EventEmitter {
  written = "";
  writableLength = 0;
  writableNeedDrain = false;
  ended = false;
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    this.written += chunk;
    return true;
  }
  end(): this {
    this.ended = true;
    return this;
  }
}

describe("the SSE stream", () => {
  const open = (res: FakeResponse, after = 0) => {
    const stream = new SseStream(res as unknown as SseResponse, {
      sessionId: 1,
      tokenKey: "k",
      address: "a",
      expiresAt: new Date(Date.now() + 60_000),
      after,
      retryMs: 3000,
      maxBacklogBytes: 1000,
      headers: {},
      onClose: () => undefined,
    });
    stream.open();
    return stream;
  };
  const event = (seq: number) => ({ seq, json: `{"n":${seq}}` });

  test("events met both in the replay and live go out once, in order", async () => {
    const res = new FakeResponse();
    const stream = open(res, 1);
    stream.deliver(event(3));
    await stream.replay([event(1), event(2), event(3)]);
    stream.deliver(event(4));
    stream.live();
    stream.deliver(event(4));
    stream.deliver(event(5));
    assert.equal(
      res.written,
      'retry: 3000\n\nid: 2\ndata: {"n":2}\n\nid: 3\ndata: {"n":3}\n\nid: 4\ndata: {"n":4}\n\nid: 5\ndata: {"n":5}\n\n',
    );
  });

  test("a live reader whose backlog passes the bound is cut off", async () => {
    const res = new FakeResponse();
    const stream = open(res);
    await stream.replay([]);
    stream.live();
    stream.deliver(event(1));
    assert.equal(res.ended, false);
    res.writableLength = 2000;
    stream.deliver(event(2));
    assert.equal(res.ended, true);
    stream.deliver(event(3));
    assert.doesNotMatch(res.written, /id: 3/);
  });
});

describe("configuration", () => {
  test("the webchat section: defaults, keys from the environment, redaction of nothing else", () => {
    const base = {
      component: { jid: "c.example.org", secret: "s" },
      database: { url: "postgres://x/y" },
    };
    const config = parseConfig(
      { ...base, http: {} },
      { CONCIERGE_WEBCHAT__API_KEYS: "key-one-0123456789ab, key-two-0123456789ab" },
      "test",
    );
    assert.deepEqual(config.webchat?.apiKeys, ["key-one-0123456789ab", "key-two-0123456789ab"]);
    assert.equal(config.webchat?.tokenLifetimeS, 3600);
    assert.equal(config.http?.port, 8080);
    assert.throws(
      () =>
        parseConfig(
          {
            ...base,
            http: { allowed_origins: ["https://a.example/path"] },
            webchat: { api_keys: ["short"] },
          },
          {},
          "test",
        ),
      /http\.allowed_origins\.0[\s\S]*webchat\.api_keys\.0: must be at least 16 characters/,
    );
    assert.throws(
      () => parseConfig({ ...base, webchat: { api_keys: ["key-one-0123456789ab"] } }, {}, "test"),
      /http: the web chat needs an http section/,
    );
  });
});
