import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { componentAffiliation, listsRefused, serverSoftware } from "../../src/neerc/failures.js";
import { StanzaError } from "../../src/xmpp/stanza-error.js";

const C = "concierge.example.org";
const ROOM = "neerc@conference.example.org";

describe("listsRefused: the fix for a room that will not show its lists", () => {
  test("on Prosody: make the component an owner", () => {
    assert.deepEqual(listsRefused(new StanzaError("forbidden"), C, ROOM, "prosody"), {
      level: "error",
      message: `cannot read the members of ${ROOM} (forbidden): make ${C} an owner of the room`,
    });
  });

  test("on ejabberd: an admin, and why not an owner", () => {
    const { message } = listsRefused(
      new StanzaError("forbidden", "Administrator privileges required"),
      C,
      ROOM,
      "ejabberd",
    );
    assert.equal(
      message,
      `cannot read the members of ${ROOM} (forbidden: Administrator privileges required): make ${C} an admin of the room (ejabberd drops an owner affiliation for a component JID), e.g. ejabberdctl set_room_affiliation neerc conference.example.org ${C} admin`,
    );
  });

  test("on a server it does not know: both", () => {
    assert.match(
      listsRefused(new Error("odd"), C, ROOM, undefined).message,
      /\(odd\): make concierge\.example\.org an owner of the room on Prosody, an admin on ejabberd$/,
    );
  });

  test("the affiliation asked for is the least that reads all three lists on each server", () => {
    assert.equal(componentAffiliation("prosody"), "owner");
    assert.equal(componentAffiliation("ejabberd"), "admin");
  });

  test("the server is told by its software name", () => {
    assert.equal(serverSoftware("Prosody"), "prosody");
    assert.equal(serverSoftware("ejabberd"), "ejabberd");
    assert.equal(serverSoftware("Openfire"), undefined);
    assert.equal(serverSoftware(undefined), undefined);
  });
});
