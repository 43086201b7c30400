import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createLogger, flushLogger, redactXml } from "../../src/log.js";

const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";

describe("redactXml: component handshake", () => {
  test("masks the handshake digest", () => {
    assert.equal(
      redactXml("<handshake>aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e</handshake>"),
      "<handshake>[redacted]</handshake>",
    );
  });

  test("masks a handshake with attributes", () => {
    assert.equal(
      redactXml(`<handshake xmlns="jabber:component:accept">abc123</handshake>`),
      `<handshake xmlns="jabber:component:accept">[redacted]</handshake>`,
    );
  });

  test("leaves the server's empty handshake acknowledgement alone", () => {
    assert.equal(redactXml("<handshake/>"), "<handshake/>");
    assert.equal(redactXml("<handshake></handshake>"), "<handshake>[redacted]</handshake>");
  });

  test("masks every handshake in the text, keeping what surrounds them", () => {
    assert.equal(
      redactXml("<a/><handshake>one</handshake> and <handshake>two</handshake><b/>"),
      "<a/><handshake>[redacted]</handshake> and <handshake>[redacted]</handshake><b/>",
    );
  });

  test("does not mask elements whose names merely begin with handshake", () => {
    const text = "<handshakes>visible</handshakes>";
    assert.equal(redactXml(text), text);
  });
});

describe("redactXml: SASL", () => {
  test("masks <auth/> payloads", () => {
    assert.equal(
      redactXml(`<auth xmlns="${NS_SASL}" mechanism="PLAIN">AGp1bGlldAByMG0zMG15cjBtMzA=</auth>`),
      `<auth xmlns="${NS_SASL}" mechanism="PLAIN">[redacted]</auth>`,
    );
  });

  test("masks <response/> payloads", () => {
    assert.equal(
      redactXml(`<response xmlns="${NS_SASL}">Yz1iaXdzLHI9</response>`),
      `<response xmlns="${NS_SASL}">[redacted]</response>`,
    );
  });

  test("masks <success/> payloads", () => {
    assert.equal(
      redactXml(`<success xmlns="${NS_SASL}">dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9</success>`),
      `<success xmlns="${NS_SASL}">[redacted]</success>`,
    );
  });

  test("masks payloads spanning several lines", () => {
    assert.equal(redactXml("<auth>line1\nline2</auth>"), "<auth>[redacted]</auth>");
  });

  test("leaves <challenge/> and other elements alone", () => {
    const text = `<challenge xmlns="${NS_SASL}">cj1meWtv</challenge><body>hello</body>`;
    assert.equal(redactXml(text), text);
  });

  test("does not mask elements whose names merely begin with auth", () => {
    const text = "<authority>visible</authority>";
    assert.equal(redactXml(text), text);
  });

  test("does not pair an opening tag with a different closing tag", () => {
    const text = "<auth>x</response>";
    assert.equal(redactXml(text), text);
  });
});

describe("redactXml: MUC passwords", () => {
  test("masks the password of a MUC join", () => {
    assert.equal(
      redactXml(
        `<presence to="room@muc.example/nick"><x xmlns="http://jabber.org/protocol/muc">` +
          `<password>cauldronburn</password></x></presence>`,
      ),
      `<presence to="room@muc.example/nick"><x xmlns="http://jabber.org/protocol/muc">` +
        `<password>[redacted]</password></x></presence>`,
    );
  });

  test("masks a password element with attributes", () => {
    assert.equal(
      redactXml(`<password xmlns="jabber:iq:register">pw</password>`),
      `<password xmlns="jabber:iq:register">[redacted]</password>`,
    );
  });

  test("masks the room-secret form field", () => {
    assert.equal(
      redactXml(
        `<field var="muc#roomconfig_roomsecret" type="text-private"><value>cauldronburn</value></field>`,
      ),
      `<field var="muc#roomconfig_roomsecret" type="text-private"><value>[redacted]</value></field>`,
    );
  });

  test("masks the room-secret field with single quotes, var last and whitespace before <value>", () => {
    assert.equal(
      redactXml(
        `<field type='text-private' label='Password' var='muc#roomconfig_roomsecret'>\n  <value>s3cret</value>\n</field>`,
      ),
      `<field type='text-private' label='Password' var='muc#roomconfig_roomsecret'>\n  <value>[redacted]</value>\n</field>`,
    );
  });

  test("leaves other form fields alone", () => {
    const text =
      `<field var="muc#roomconfig_roomname"><value>Coven</value></field>` +
      `<field var="muc#roomconfig_passwordprotectedroom"><value>1</value></field>`;
    assert.equal(redactXml(text), text);
  });

  test("masks the room-secret field when <desc/> or <required/> precede its value", () => {
    const leaked = redactXml(
      `<field var="muc#roomconfig_roomsecret" type="text-private"><desc>Password</desc>` +
        `<required/><value>cauldronburn</value></field>`,
    );
    assert.ok(!leaked.includes("cauldronburn"), leaked);
  });
});

describe("redactXml: everything else", () => {
  test("leaves text without credentials unchanged", () => {
    const text =
      `<iq type="get" id="1" to="concierge.example.org">` +
      `<query xmlns="http://jabber.org/protocol/disco#info"/></iq>`;
    assert.equal(redactXml(text), text);
  });

  test("leaves the empty string unchanged", () => {
    assert.equal(redactXml(""), "");
  });

  test("masks several kinds of credentials in one text", () => {
    const redacted = redactXml(
      "<handshake>h1</handshake><auth>a1</auth><password>p1</password>" +
        '<field var="muc#roomconfig_roomsecret"><value>r1</value></field>',
    );
    for (const secret of ["h1", "a1", "p1", "r1"]) {
      assert.ok(!redacted.includes(`>${secret}<`), `${secret} leaked: ${redacted}`);
    }
  });
});

interface Line {
  level: number;
  msg: string;
  name?: string;
  [key: string]: unknown;
}

function memoryLogger(level: Parameters<typeof createLogger>[0] = "trace") {
  const lines: Line[] = [];
  const log = createLogger(level, {
    write: (text: string) => void lines.push(JSON.parse(text) as Line),
  });
  return { log, lines };
}

describe("createLogger", () => {
  test("writes JSON lines named concierge", () => {
    const { log, lines } = memoryLogger("info");
    log.info({ port: 5347 }, "listening");

    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.name, "concierge");
    assert.equal(lines[0]?.msg, "listening");
    assert.equal(lines[0]?.level, 30);
    assert.equal(lines[0]?.port, 5347);
  });

  test("drops lines below its level", () => {
    const { log, lines } = memoryLogger("warn");
    log.info("quiet");
    log.debug("quieter");
    log.warn("loud");
    assert.deepEqual(
      lines.map((line) => line.msg),
      ["loud"],
    );
  });

  test("writes nothing when silent", () => {
    const { log, lines } = memoryLogger("silent");
    log.fatal("nothing");
    assert.equal(lines.length, 0);
  });

  test("masks secret and password keys at the top level and one level down", () => {
    const { log, lines } = memoryLogger();
    log.info(
      { secret: "s1", password: "p1", db: { password: "p2" }, component: { secret: "s2" } },
      "x",
    );

    const line = lines[0];
    assert.equal(line?.secret, "[redacted]");
    assert.equal(line?.password, "[redacted]");
    assert.deepEqual(line?.db, { password: "[redacted]" });
    assert.deepEqual(line?.component, { secret: "[redacted]" });
  });

  test("masks the component secret inside a logged configuration", () => {
    const { log, lines } = memoryLogger();
    log.info({ config: { component: { jid: "c.example.org", secret: "s3" } } }, "config");

    assert.deepEqual(lines[0]?.config, {
      component: { jid: "c.example.org", secret: "[redacted]" },
    });
  });

  test("child loggers mask too", () => {
    const { log, lines } = memoryLogger();
    log.child({ svc: "component" }).warn({ secret: "s4" }, "x");

    assert.equal(lines[0]?.svc, "component");
    assert.equal(lines[0]?.secret, "[redacted]");
  });

  test("serializes errors under err with message and stack", () => {
    const { log, lines } = memoryLogger();
    log.error({ err: new TypeError("boom") }, "failed");

    const err = lines[0]?.err as { type?: string; message?: string; stack?: string } | undefined;
    assert.equal(err?.type, "TypeError");
    assert.equal(err?.message, "boom");
    assert.match(err?.stack ?? "", /TypeError: boom/);
  });

  test("flushLogger resolves", async () => {
    const { log } = memoryLogger();
    log.info("before flush");
    await flushLogger(log);
  });
});
