import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { parseConfig } from "../config.js";
import { componentAffiliation } from "../neerc/failures.js";
import { createLogger, flushLogger } from "../log.js";
import { projectRoot } from "../paths.js";
import { runUntilSignal } from "../run.js";
import type { Signals } from "../signals.js";
import { startChatPage } from "./chat-page.js";
import { ensureDatabase } from "./database.js";
import { takePidLock } from "./pid-lock.js";
import { portIsFree, freePort } from "./ports.js";
import { ejabberdInstalled } from "./ejabberd.js";
import { prepareNeercRoom } from "./neerc-room.js";
import { prosodyInstalled } from "./prosody.js";
import { startServer, type ServerKind } from "./server.js";

const DEMO_ACCOUNTS = ["alice", "bob", "staff", "client"].map((username) => ({
  username,
  password: "demo",
}));

/** The NEERC room the demo makes: staff has power on the board, alice and bob are members. */
const DEMO_NEERC = { room: "neerc", owner: "staff", members: ["alice", "bob"] } as const;

/**
 * `concierge demo [--server prosody|ejabberd]`: a private Prosody or ejabberd (installed first if
 * missing and we may), a `concierge_demo` database, and the daemon, all on 127.0.0.1, with the
 * NEERC room ready. Ctrl-C stops all three. The state lives in `.concierge-demo/<server>/`
 * (CONCIERGE_DEMO_DIR) and the database `concierge_demo` (CONCIERGE_DEMO_DATABASE); a second
 * demo on the same folder is refused.
 */
export async function runDemo(
  signals: Signals,
  kind: ServerKind = "prosody",
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  if (!ensureServer(kind)) return 1;
  const dir = env.CONCIERGE_DEMO_DIR ?? join(projectRoot, ".concierge-demo");
  const database = env.CONCIERGE_DEMO_DATABASE ?? "concierge_demo";
  await mkdir(dir, { recursive: true });
  const release = await takePidLock(join(dir, "demo.pid"));
  if (typeof release === "number") {
    process.stderr.write(
      `Another demo (pid ${release}) is running from ${dir}: stop it first, or give this one ` +
        `its own CONCIERGE_DEMO_DIR and CONCIERGE_DEMO_DATABASE.\n`,
    );
    return 1;
  }
  try {
    return await demo(kind, dir, database, signals);
  } finally {
    await release();
  }
}

async function demo(
  kind: ServerKind,
  dir: string,
  database: string,
  signals: Signals,
): Promise<number> {
  const databaseUrl = await ensureDatabase(database);
  const secret = randomBytes(16).toString("hex");
  const bot = { username: "concierge-bot", password: randomBytes(16).toString("hex") };
  const jid = "concierge.localhost";
  const server = await startServer(kind, {
    dir: join(dir, kind),
    c2sPort: (await portIsFree(5222)) ? 5222 : await freePort(),
    componentPort: (await portIsFree(5347)) ? 5347 : await freePort(),
    components: [{ jid, secret }],
    accounts: [...DEMO_ACCOUNTS, bot],
  });
  let neercRoom: string;
  try {
    neercRoom = await prepareNeercRoom(server, {
      room: DEMO_NEERC.room,
      owner: DEMO_ACCOUNTS.find((a) => a.username === DEMO_NEERC.owner)!,
      members: [...DEMO_NEERC.members],
      componentJid: jid,
    });
  } catch (error) {
    await server.stop();
    throw error;
  }

  const chatPort = (await portIsFree(8080)) ? 8080 : await freePort();
  const pagePort = (await portIsFree(8081)) ? 8081 : await freePort();
  const apiKey = randomBytes(24).toString("base64url");
  const pageOrigin = `http://127.0.0.1:${pagePort}`;
  const document = {
    component: { jid, host: "127.0.0.1", port: server.componentPort, secret },
    database: { url: databaseUrl },
    log: { level: "info" },
    neerc: { muc_service: server.mucDomain },
    olpc: {},
    roompool: {
      service: server.service,
      jid: `${bot.username}@${server.domain}`,
      password: bot.password,
      muc_service: server.mucDomain,
      min_available: 3,
      max_rooms: 10,
    },
    commands: { admins: [`alice@${server.domain}`] },
    http: { host: "127.0.0.1", port: chatPort, allowed_origins: [pageOrigin] },
    webchat: { api_keys: [apiKey] },
  };
  const configPath = join(dir, "concierge.yaml");
  await writeFile(
    configPath,
    `# Written by \`concierge demo\`; rewritten at every run.\n${stringify(document)}`,
  );
  const config = parseConfig(document, {}, configPath);
  const chatPage = await startChatPage({
    host: "127.0.0.1",
    port: pagePort,
    api: `http://127.0.0.1:${chatPort}`,
    apiKey,
  });

  process.stderr.write(`
Concierge demo
  XMPP server   ${kind} on 127.0.0.1:${server.c2sPort} (domain localhost, MUC ${server.mucDomain})
  Component     ${jid} on port ${server.componentPort}
  Accounts      ${DEMO_ACCOUNTS.map((a) => `${a.username}@localhost`).join(", ")} (password "demo")
  Database      ${database}
  Config        ${configPath}
Point any XMPP client at 127.0.0.1:${server.c2sPort} and query ${jid} (disco, ping, version).
Room pool: 3 rooms ready in table roompool_rooms; claim one with
  psql ${databaseUrl} -c "SELECT * FROM roompool_claim_staff('staff', 'Staff')"
Admin commands: as alice@localhost, execute commands on ${jid} (pool status, resize, drain,
NEERC tasks, who is online; Gajim: Discover Services → ${jid} → Execute Command).
NEERC task board: the room ${neercRoom} is ready (staff has power, alice and bob are
members; ${jid} is its ${componentAffiliation(kind)}, which lets it read the lists on ${kind}).
Point a NEERC client at ${jid}, or as alice send
  <iq type="get" to="${jid}"><query xmlns="http://neerc.ifmo.ru/protocol/neerc#users"/></iq>
  <iq type="get" to="${jid}"><query xmlns="http://neerc.ifmo.ru/protocol/neerc#tasks"/></iq>
Tasks are created by staff (<task xmlns="http://neerc.ifmo.ru/protocol/neerc#task" …/>).
Web chat: open ${chatPage.url} and chat as a visitor with the staff account: first, as
staff@localhost (password "demo"), claim a room and join it with the password it gives:
  psql ${databaseUrl} -c "SELECT * FROM roompool_claim_staff('staff', 'Staff')"
(join <room_jid>/Staff with that room_password); each visitor gets the room of the staff member
who has waited longest. The web chat API listens on 127.0.0.1:${chatPort}.
OLPC index: laptops (and the draft's clients) query ${jid}; presence sent to ${jid} is combined
across each user's devices and shown to the people they share a room or a result set with.
Ctrl-C stops the demo.

`);
  const log = createLogger(config.log.level);
  try {
    return await runUntilSignal(config, log, { migrate: true, signals }, async () => {
      await chatPage.close();
      await server.stop();
    });
  } finally {
    await flushLogger(log);
  }
}

const INSTALLED: Record<ServerKind, () => boolean> = {
  prosody: prosodyInstalled,
  ejabberd: ejabberdInstalled,
};

function ensureServer(kind: ServerKind): boolean {
  const installed = INSTALLED[kind];
  if (installed()) return true;
  const command = `apt-get install -y ${kind}`;
  const mayInstall =
    process.getuid?.() === 0 && spawnSync("sh", ["-c", "command -v apt-get"]).status === 0;
  if (!mayInstall) {
    process.stderr.write(`The demo needs ${kind}. Install it with:\n  sudo ${command}\n`);
    return false;
  }
  process.stderr.write(`${kind} is missing; installing it: ${command}\n`);
  const result = spawnSync(
    "sh",
    ["-c", `apt-get update && DEBIAN_FRONTEND=noninteractive ${command}`],
    { stdio: "inherit" },
  );
  if (result.status === 0 && installed()) return true;
  process.stderr.write(`Installing ${kind} failed. Try:\n  apt-get update && ${command}\n`);
  return false;
}
