import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { creationFailure } from "../../src/roompool/failures.js";
import { IqTimeoutError } from "../../src/xmpp/iq-caller.js";
import { JoinTimeoutError } from "../../src/xmpp/muc.js";
import { StanzaError } from "../../src/xmpp/stanza-error.js";

const settings = { mucService: "muc.example.org" };
const line = (error: unknown) => creationFailure(error, settings, "bot@example.org");

describe("creationFailure: why the bot could not make a room", () => {
  test("a MUC service that is not there points at roompool.muc_service", () => {
    for (const condition of [
      "remote-server-not-found",
      "service-unavailable",
      "item-not-found",
    ] as const) {
      const { level, message } = line(new StanzaError(condition));
      assert.equal(level, "error");
      assert.equal(
        message,
        `room creation on muc.example.org failed (${condition}): is roompool.muc_service the server's MUC service?`,
      );
    }
  });

  test("a refusal names the setting on either server, with the server's own text", () => {
    const { level, message } = line(new StanzaError("not-allowed", "Room creation is restricted"));
    assert.equal(level, "error");
    assert.match(
      message,
      /^room creation on muc\.example\.org failed \(not-allowed: Room creation is restricted\)/,
    );
    assert.match(
      message,
      /bot@example\.org create rooms there \(Prosody: restrict_room_creation; ejabberd: access_create\)$/,
    );
  });

  test("too many rooms points at ejabberd's per-user limit", () => {
    assert.match(line(new StanzaError("resource-constraint")).message, /max_user_conferences/);
  });

  test("no answer is said so; anything else keeps its message", () => {
    assert.match(line(new IqTimeoutError("x", 10_000)).message, /did not answer in time$/);
    assert.match(line(new JoinTimeoutError("r@m", 10_000)).message, /did not answer in time$/);
    assert.equal(line(new Error("boom")).message, "room creation on muc.example.org failed (boom)");
    assert.equal(line(new StanzaError("conflict")).level, "warn");
  });
});
