/**
 * The presence floor: like bench/floor-component.ts, the cheapest XEP-0114 component, run as its
 * own process and parsing no XML; instead of answering iqs it fans presence out. When the trigger
 * user's device sends it presence, it writes one presence stanza per recipient, in one write:
 * `<presence from='FROM' to='recipient'>PAYLOAD</presence>`, PAYLOAD being the children Concierge
 * sent for the same `<show>` (captured by the benchmark), so that the server relays the same bytes.
 * It answers any iq get/set with an empty result.
 *
 * Configured by the environment: FLOOR_HOST (default 127.0.0.1), FLOOR_PORT, FLOOR_JID,
 * FLOOR_SECRET, and FLOOR_PRESENCE_FILE, a JSON file
 * {"trigger": bare JID, "from": JID, "recipients": [full JIDs], "payloads": {show: raw XML}}
 * (show "online" for presence without `<show>`). Prints "online" on stdout once the server
 * accepted the handshake; exits 0 after SIGTERM/SIGINT, 1 if the connection fails.
 *
 * Run by bench/presence-floor.ts.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { StanzaScanner, attr, childText, startTag, tagName } from "./xml-scan.js";

export interface PresenceFloorConfig {
  trigger: string;
  from: string;
  recipients: string[];
  payloads: Record<string, string>;
}

const host = process.env.FLOOR_HOST ?? "127.0.0.1";
const port = Number(process.env.FLOOR_PORT);
const jid = process.env.FLOOR_JID ?? "";
const secret = process.env.FLOOR_SECRET ?? "";
const file = process.env.FLOOR_PRESENCE_FILE ?? "";
if (!Number.isInteger(port) || port <= 0 || !jid || !secret || !file) {
  process.stderr.write(
    "presence floor: set FLOOR_PORT, FLOOR_JID, FLOOR_SECRET and FLOOR_PRESENCE_FILE\n",
  );
  process.exit(2);
}
const config = JSON.parse(readFileSync(file, "utf8")) as PresenceFloorConfig;
/** The whole fan-out for each show, built once: the floor's cost per change is one write. */
const fanouts = new Map(
  Object.entries(config.payloads).map(([show, payload]) => [
    show,
    config.recipients
      .map((to) => `<presence from='${config.from}' to='${to}'>${payload}</presence>`)
      .join(""),
  ]),
);

let online = false;
let stopping = false;
let changes = 0;

const socket = connect({ host, port });
socket.setEncoding("utf8");
socket.setNoDelay(true);

const scanner = new StanzaScanner({
  header(tag) {
    const id = attr(tag, "id");
    if (id === undefined) return fail(`stream header without id: ${tag}`);
    const digest = createHash("sha1")
      .update(id + secret, "binary")
      .digest("hex");
    socket.write(`<handshake>${digest}</handshake>`);
  },
  stanza(xml) {
    const name = tagName(xml);
    if (name === "presence") return onPresence(xml);
    if (name === "iq") return answer(xml);
    if (name === "handshake" && !online) {
      online = true;
      process.stdout.write("online\n");
    } else if (name === "stream:error") {
      fail(`stream error: ${xml}`);
    }
  },
  end() {
    socket.end();
  },
});

function onPresence(xml: string): void {
  const tag = startTag(xml);
  if (attr(tag, "type") !== undefined) return;
  const from = attr(tag, "from") ?? "";
  const slash = from.indexOf("/");
  if ((slash < 0 ? from : from.slice(0, slash)) !== config.trigger) return;
  const out = fanouts.get(childText(xml, "show") ?? "online");
  if (out === undefined) return;
  changes += 1;
  socket.write(out);
}

function answer(xml: string): void {
  const tag = startTag(xml);
  const type = attr(tag, "type");
  if (type !== "get" && type !== "set") return;
  socket.write(
    `<iq type='result' id='${attr(tag, "id") ?? ""}' from='${attr(tag, "to") ?? jid}'` +
      ` to='${attr(tag, "from") ?? ""}'/>`,
  );
}

function fail(message: string): void {
  process.stderr.write(`presence floor: ${message}\n`);
  socket.destroy();
  process.exitCode = 1;
}

socket.on("connect", () => {
  socket.write(
    `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept'` +
      ` xmlns:stream='http://etherx.jabber.org/streams' to='${jid}'>`,
  );
});
socket.on("data", (chunk: string) => {
  socket.cork();
  try {
    scanner.push(chunk);
  } finally {
    socket.uncork();
  }
});
socket.on("error", (error) => fail(error.message));
socket.on("close", () => {
  if (!stopping) {
    process.stderr.write("presence floor: the server closed the connection\n");
    process.exitCode = 1;
  }
  process.stderr.write(
    `presence floor: ${changes} changes fanned out to ${config.recipients.length} each\n`,
  );
  process.exit();
});

function stop(): void {
  if (stopping) return;
  stopping = true;
  if (socket.destroyed) process.exit();
  socket.end("</stream:stream>");
  setTimeout(() => socket.destroy(), 1_000).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
