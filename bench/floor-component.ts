/**
 * The floor: the cheapest XEP-0114 component that can answer iqs, run as its own process so that,
 * like the daemon, it competes with the server for CPU. It parses no XML: it frames stanzas with
 * indexOf, reads id/from/to from the start tag, and answers every iq get/set at once with a small
 * disco#info-shaped result. A benchmark compares a real component against it in the same run.
 *
 * Configured by the environment: FLOOR_HOST (default 127.0.0.1), FLOOR_PORT, FLOOR_JID,
 * FLOOR_SECRET; optionally FLOOR_PAYLOAD, the result's child as raw XML (default a disco#info
 * query with one identity), and FLOOR_NODE_PAYLOADS, a JSON object giving other payloads for
 * requests to node@FLOOR_JID (e.g. {"same": "<query …/>"} for iqs to same@floor.localhost);
 * FLOOR_NODE_PAYLOAD_FILES, the same with a file name in place of each payload (for payloads over
 * the 128 KiB a single environment variable may hold); FLOOR_FANOUT, a JSON object
 * {"node", "recipients", "payload"}: an iq to node@FLOOR_JID first makes the floor send one
 * headline message per recipient, `<message from='node@FLOOR_JID' to='…' type='headline'>` with
 * `payload` as its children, all in one write, then the result; FLOOR_PRESENCE_FILE, a JSON file
 * {"trigger": bare JID, "from": JID, "recipients": [full JIDs], "payloads": {show: raw XML}}
 * (show "online" for presence without `<show>`; thousands of JIDs do not fit the environment):
 * available presence from the trigger user makes the floor write one presence stanza per
 * recipient, `<presence from='FROM' to='recipient'>PAYLOAD</presence>` with the payload for its
 * `<show>`, all in one write built beforehand. Prints "online" on stdout once the server accepted
 * the handshake; exits 0 after SIGTERM/SIGINT, 1 if the connection fails or the server closes it.
 *
 * Run by bench/floor.ts; by hand: FLOOR_PORT=5347 FLOOR_JID=… FLOOR_SECRET=… node --import tsx
 * bench/floor-component.ts
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import type { FloorFanout, FloorPresenceFanout } from "./floor.js";
import { StanzaScanner, attr, childText, startTag, tagName } from "./xml-scan.js";

const host = process.env.FLOOR_HOST ?? "127.0.0.1";
const port = Number(process.env.FLOOR_PORT);
const jid = process.env.FLOOR_JID ?? "";
const secret = process.env.FLOOR_SECRET ?? "";
if (!Number.isInteger(port) || port <= 0 || !jid || !secret) {
  process.stderr.write("floor: set FLOOR_PORT, FLOOR_JID and FLOOR_SECRET\n");
  process.exit(2);
}

const RESULT_PAYLOAD =
  process.env.FLOOR_PAYLOAD ||
  "<query xmlns='http://jabber.org/protocol/disco#info'>" +
    "<identity category='component' type='generic'/></query>";
const NODE_PAYLOADS = new Map(
  Object.entries(JSON.parse(process.env.FLOOR_NODE_PAYLOADS || "{}") as Record<string, string>),
);
for (const [node, file] of Object.entries(
  JSON.parse(process.env.FLOOR_NODE_PAYLOAD_FILES || "{}") as Record<string, string>,
)) {
  NODE_PAYLOADS.set(node, readFileSync(file, "utf8"));
}
const FANOUT = process.env.FLOOR_FANOUT
  ? (JSON.parse(process.env.FLOOR_FANOUT) as FloorFanout)
  : undefined;
const PRESENCE = process.env.FLOOR_PRESENCE_FILE
  ? (JSON.parse(readFileSync(process.env.FLOOR_PRESENCE_FILE, "utf8")) as FloorPresenceFanout)
  : undefined;
/** The whole presence fan-out for each show, built once: a change costs the floor one write. */
const PRESENCE_FANOUTS = new Map(
  Object.entries(PRESENCE?.payloads ?? {}).map(([show, payload]) => [
    show,
    PRESENCE!.recipients
      .map((to) => `<presence from='${PRESENCE!.from}' to='${to}'>${payload}</presence>`)
      .join(""),
  ]),
);

let online = false;
let stopping = false;
let answered = 0;
let fannedOut = 0;
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
    if (xml.charCodeAt(1) === 105 && xml.charCodeAt(2) === 113) return answer(xml); // "<iq"
    const name = tagName(xml);
    if (name === "presence") return onPresence(xml);
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

function answer(xml: string): void {
  const tag = startTag(xml);
  if (tagName(tag) !== "iq") return;
  const type = attr(tag, "type");
  if (type !== "get" && type !== "set") return;
  const id = attr(tag, "id") ?? "";
  const from = attr(tag, "from") ?? "";
  const to = attr(tag, "to") ?? jid;
  const at = to.indexOf("@");
  const node = at > 0 ? to.slice(0, at) : undefined;
  const payload = (node !== undefined && NODE_PAYLOADS.get(node)) || RESULT_PAYLOAD;
  answered += 1;
  let out = node !== undefined && node === FANOUT?.node ? fanout(to) : "";
  out += `<iq type='result' id='${id}' from='${to}' to='${from}'>${payload}</iq>`;
  socket.write(out);
}

/** One headline per FLOOR_FANOUT recipient, from `from`, as one string. */
function fanout(from: string): string {
  const { recipients, payload } = FANOUT!;
  let out = "";
  for (const to of recipients) {
    out += `<message from='${from}' to='${to}' type='headline'>${payload}</message>`;
  }
  fannedOut += recipients.length;
  return out;
}

/** Available presence from the trigger user: the FLOOR_PRESENCE_FILE fan-out for its show. */
function onPresence(xml: string): void {
  if (PRESENCE === undefined) return;
  const tag = startTag(xml);
  if (attr(tag, "type") !== undefined) return;
  const from = attr(tag, "from") ?? "";
  const slash = from.indexOf("/");
  if ((slash < 0 ? from : from.slice(0, slash)) !== PRESENCE.trigger) return;
  const out = PRESENCE_FANOUTS.get(childText(xml, "show") ?? "online");
  if (out === undefined) return;
  changes += 1;
  socket.write(out);
}

function fail(message: string): void {
  process.stderr.write(`floor: ${message}\n`);
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
    process.stderr.write("floor: the server closed the connection\n");
    process.exitCode = 1;
  }
  process.stderr.write(
    `floor: answered ${answered} iqs` +
      (FANOUT ? `, sent ${fannedOut} fan-out messages` : "") +
      (PRESENCE ? `, fanned ${changes} changes out to ${PRESENCE.recipients.length} each` : "") +
      "\n",
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
