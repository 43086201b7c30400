import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import pg from "pg";
import type { Page } from "playwright-core";
import { startChatPage } from "../../src/dev/chat-page.js";
import { freePort } from "../../src/dev/ports.js";
import { launchChromium } from "../harness/browser.js";
import { TestClient, xml } from "../harness/client.js";
import type { Daemon } from "../harness/daemon.js";
import { eventually } from "../harness/eventually.js";
import { startStack, type Stack } from "../harness/stack.js";
import { API_KEY, roomsReady, startWebchatDaemon } from "../harness/webchat.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const account = (name: string) => ({ username: name, password: `pw-${name}` });

let stack: Stack;
let daemon: Daemon;
let db: pg.Pool;
let staff: TestClient;
let chatPage: Awaited<ReturnType<typeof startChatPage>>;
let browser: Awaited<ReturnType<typeof launchChromium>>;

before(async () => {
  stack = await startStack({ accounts: ["bot", "staff"].map(account) });
  db = new pg.Pool({ connectionString: stack.db.url });
  const pagePort = await freePort();
  let base: string;
  ({ daemon, base } = await startWebchatDaemon(stack, "browser", {
    allowed_origins: [`http://127.0.0.1:${pagePort}`],
    grace_period_ms: 30_000,
  }));
  chatPage = await startChatPage({ host: "127.0.0.1", port: pagePort, api: base, apiKey: API_KEY });
  staff = await TestClient.connect(stack, account("staff"));
  browser = await launchChromium();
  await roomsReady(db, 1);
});

after(async () => {
  await browser?.close();
  await chatPage?.close();
  await staff?.stop();
  await daemon?.stop();
  await db?.end();
  await stack?.stop();
});

const shownMessages = (page: Page) =>
  page.$$eval("#log li.message", (items: { textContent: string | null }[]) =>
    items.map((li) => li.textContent ?? ""),
  );

async function waitShown(page: Page, count: number, what: string) {
  return eventually(
    () => shownMessages(page),
    (lines) => lines.length >= count,
    what,
    15_000,
  );
}

test("the demo page in Chromium chats with a staff XMPP client, survives a reload, shows each message once", async () => {
  const { rows } = await db.query<{ room_jid: string; room_password: string }>(
    "SELECT * FROM roompool_claim_staff('staff', 'Staff')",
  );
  const room = rows[0]!.room_jid;
  await staff.xmpp.send(
    xml(
      "presence",
      { to: `${room}/Staff` },
      xml("x", { xmlns: NS_MUC }, xml("password", {}, rows[0]!.room_password)),
    ),
  );
  await staff.waitFor(
    (s) =>
      s.attrs.from === `${room}/Staff` &&
      (s.getChild("x", NS_MUC_USER)?.getChildren("status") ?? []).some(
        (c) => c.attrs.code === "110",
      ),
  );
  const say = (text: string) =>
    staff.xmpp.send(
      xml("message", { to: room, type: "groupchat", id: randomUUID() }, xml("body", {}, text)),
    );

  const page = await browser.context.newPage();
  await page.goto(chatPage.url);
  await page.fill("#name", "Alice Visitor");
  await page.click("#start button");
  await page.waitForSelector("#send:not([hidden])");
  await eventually(
    async () =>
      (
        await db.query<{ status: string }>("SELECT status FROM roompool_rooms WHERE jid = $1", [
          room,
        ])
      ).rows[0]?.status,
    (s) => s === "chatting",
    "the visitor in the room",
  );
  await say("Welcome! How can I help?");
  await waitShown(page, 1, "the staff member's greeting");
  await page.fill("#text", "I lost my key");
  await page.click("#send button");
  const heard = await staff.waitFor(
    (s) => s.name === "message" && s.getChildText("body") === "I lost my key",
  );
  assert.equal(heard.attrs.from, `${room}/Alice Visitor`);
  await waitShown(page, 2, "the visitor's own message");

  // A reload in the middle of the chat, while the staff member goes on writing.
  const reloading = page.reload();
  await say("Which key?");
  await reloading;
  await page.waitForSelector("#send:not([hidden])");
  await say("The front door one?");
  const lines = await waitShown(page, 4, "every message after the reload");
  assert.deepEqual(lines, [
    "StaffWelcome! How can I help?",
    "Alice VisitorI lost my key",
    "StaffWhich key?",
    "StaffThe front door one?",
  ]);
  await page.fill("#text", "Yes, that one");
  await page.click("#send button");
  await staff.waitFor((s) => s.name === "message" && s.getChildText("body") === "Yes, that one");
  const final = await waitShown(page, 5, "the visitor's message after the reload");
  assert.equal(final.length, 5, JSON.stringify(final));
  assert.equal(new Set(final).size, 5, "each message once");
  await page.close();
});
