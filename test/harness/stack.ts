import { randomBytes } from "node:crypto";
import { createScratchDatabase, type ScratchDatabase } from "../../src/dev/database.js";
import {
  startServer,
  type Account,
  type PrivateServer,
  type ServerKind,
} from "../../src/dev/server.js";

export const COMPONENT_JID = "concierge.localhost";
/** A second component on the same server, for benchmarks' floor and for conflict tests. */
export const FLOOR_JID = "floor.localhost";

export interface Stack {
  /** The XMPP server (Prosody unless XMPP_TEST_SERVER=ejabberd). */
  prosody: PrivateServer;
  db: ScratchDatabase;
  componentJid: string;
  secret: string;
  floorSecret: string;
  accounts: Account[];
  stop(): Promise<void>;
}

/** Test accounts user1…userN with password "pw-userN". */
export function testAccounts(count: number, prefix = "user"): Account[] {
  return Array.from({ length: count }, (_, i) => ({
    username: `${prefix}${i + 1}`,
    password: `pw-${prefix}${i + 1}`,
  }));
}

/** The server the suites run against: XMPP_TEST_SERVER=ejabberd, else Prosody. */
export function testServerKind(): ServerKind {
  const kind = process.env.XMPP_TEST_SERVER ?? "prosody";
  if (kind !== "prosody" && kind !== "ejabberd") {
    throw new Error(`XMPP_TEST_SERVER must be prosody or ejabberd, not ${kind}`);
  }
  return kind;
}

/** A private server with the Concierge component and a fresh database, for one test file. */
export async function startStack(
  options: { accounts?: Account[]; server?: ServerKind; activeStandby?: boolean } = {},
): Promise<Stack> {
  const secret = randomBytes(12).toString("hex");
  const floorSecret = randomBytes(12).toString("hex");
  const accounts = options.accounts ?? testAccounts(4);
  const db = await createScratchDatabase();
  let prosody: PrivateServer;
  try {
    prosody = await startServer(options.server ?? testServerKind(), {
      components: [
        { jid: COMPONENT_JID, secret },
        { jid: FLOOR_JID, secret: floorSecret },
      ],
      accounts,
      ...(options.activeStandby ? { activeStandby: true } : {}),
    });
  } catch (error) {
    await db.drop();
    throw error;
  }
  return {
    prosody,
    db,
    componentJid: COMPONENT_JID,
    secret,
    floorSecret,
    accounts,
    async stop() {
      await prosody.stop();
      await db.drop();
    },
  };
}
