import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { StorageUnavailableError, classifyPgError, databaseAddress } from "../../src/db/errors.js";

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
const classify = (error: unknown) => classifyPgError(error, "db.example:5432");

describe("classifyPgError", () => {
  test("the server gone, restarting, unreachable or full is an outage", () => {
    for (const error of [
      pgError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5432"),
      pgError("ECONNRESET", "read ECONNRESET"),
      pgError("ETIMEDOUT", "connect ETIMEDOUT"),
      pgError("EHOSTUNREACH", "x"),
      pgError("EAI_AGAIN", "x"),
      pgError("57P01", "terminating connection due to administrator command"),
      pgError("57P03", "the database system is starting up"),
      pgError("53300", "sorry, too many clients already"),
      pgError("08006", "connection failure"),
      new Error("Connection terminated unexpectedly"),
      new Error("timeout exceeded when trying to connect"),
      new Error("Query read timeout"),
      new StorageUnavailableError("already known"),
    ]) {
      assert.equal(classify(error).kind, "outage", error.message);
    }
  });

  test("an outage names where and why", () => {
    assert.equal(
      classify(pgError("ECONNREFUSED", "connect ECONNREFUSED")).message,
      "db.example:5432: ECONNREFUSED: nothing listens there",
    );
    assert.equal(
      classify(pgError("57P01", "terminating connection due to administrator command")).message,
      "db.example:5432: 57P01: terminating connection due to administrator command",
    );
  });

  test("a wrong URL is a configuration error that says what to fix", () => {
    assert.deepEqual(classify(pgError("3D000", 'database "conceirge" does not exist')), {
      kind: "configuration",
      message:
        'database "conceirge" does not exist: create it (createdb conceirge, or CREATE DATABASE) or fix database.url',
    });
    assert.deepEqual(classify(pgError("28P01", 'password authentication failed for user "c"')), {
      kind: "configuration",
      message:
        'password authentication failed for user "c": fix the password in database.url (or DATABASE_URL)',
    });
    const noRole = classify(pgError("28000", 'role "nobody" does not exist'));
    assert.equal(noRole.kind, "configuration");
    assert.match(noRole.message, /^role "nobody" does not exist: fix the user in database\.url/);
  });

  test("a failing statement is a query error, not a storage problem", () => {
    for (const error of [
      pgError("23505", "duplicate key value violates unique constraint"),
      pgError("42P01", 'relation "x" does not exist'),
      pgError("22P02", "invalid input syntax"),
      new Error("something else"),
    ]) {
      assert.equal(classify(error).kind, "query", error.message);
    }
    assert.equal(classify("a string").kind, "query");
  });

  test("a typo in the host is an outage with a hint (DNS may just be slow)", () => {
    const failure = classify(pgError("ENOTFOUND", "getaddrinfo ENOTFOUND postgress"));
    assert.equal(failure.kind, "outage");
    assert.match(failure.message, /no such host: check the host in database\.url/);
  });
});

describe("databaseAddress", () => {
  test("host and port of a URL, never its password", () => {
    assert.equal(databaseAddress("postgres://u:secret@db.example:6543/x"), "db.example:6543");
    assert.equal(databaseAddress("postgres://u:secret@db.example/x"), "db.example:5432");
    assert.equal(databaseAddress("not a url"), "the database");
  });
});
