import { randomBytes } from "node:crypto";
import { createScratchDatabase, type ScratchDatabase } from "../../src/dev/database.js";
import { PrivateProsody, type Account } from "../../src/dev/prosody.js";

export const COMPONENT_JID = "concierge.localhost";
/** A second component on the same server, for benchmarks' floor and for conflict tests. */
export const FLOOR_JID = "floor.localhost";

export interface Stack {
  prosody: PrivateProsody;
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

/** A private Prosody with the Concierge component and a fresh database, for one test file. */
export async function startStack(options: { accounts?: Account[] } = {}): Promise<Stack> {
  const secret = randomBytes(12).toString("hex");
  const floorSecret = randomBytes(12).toString("hex");
  const accounts = options.accounts ?? testAccounts(4);
  const db = await createScratchDatabase();
  let prosody: PrivateProsody;
  try {
    prosody = await PrivateProsody.start({
      components: [
        { jid: COMPONENT_JID, secret },
        { jid: FLOOR_JID, secret: floorSecret },
      ],
      accounts,
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
