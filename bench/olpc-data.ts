/**
 * The OLPC benchmark's data set: buddies, activities and their participants, generated from a
 * seed and written straight into the index's tables (migrations/004_olpc.sql) before the daemon
 * starts, so that it loads them all at start as it would after a restart.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import { pino } from "pino";
import { migrate } from "../src/db/migrate.js";
import { migrationsDir } from "../src/paths.js";
import { seededRandom } from "./stats.js";

/** A stored property, canonical as src/olpc/properties.ts keeps it (bool "1"/"0", sorted). */
export interface StoredProperty {
  name: string;
  type: "str" | "int" | "uint" | "bool" | "bytes";
  value: string;
}

export interface BenchBuddy {
  jid: string;
  alias: string;
  properties: StoredProperty[];
}

export interface BenchActivity {
  id: string;
  room: string;
  type: string;
  properties: StoredProperty[];
  participants: string[];
}

export interface DataSet {
  buddies: BenchBuddy[];
  activities: BenchActivity[];
}

/** Sugar activity bundle ids: a `type` property query matches one in ten activities. */
export const ACTIVITY_TYPES = [
  "org.laptop.Chat",
  "org.laptop.WebActivity",
  "org.laptop.Memorize",
  "org.laptop.Oficina",
  "org.laptop.TurtleArtActivity",
  "org.laptop.AbiWordActivity",
  "org.laptop.Calculate",
  "org.laptop.RecordActivity",
  "org.laptop.Pippy",
  "org.laptop.MeasureActivity",
] as const;

/** Every activity's title has this length, so that a changed title keeps a notice's size. */
const TITLE_WIDTH = 6;

/** An activity title of fixed width (e.g. `Trial 000042`): tells one change from another. */
export function activityTitle(value: number): string {
  return `Trial ${String(value).padStart(TITLE_WIDTH, "0")}`;
}

function sorted(properties: StoredProperty[]): StoredProperty[] {
  return properties.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The bare JID of buddy number `n` (from 1). */
export function buddyJid(n: number, domain: string): string {
  return `buddy${String(n).padStart(5, "0")}@${domain}`;
}

/**
 * `buddies` buddies with an XO colour pair, a key (bytes) and a nick; `activities` activities,
 * each with a 40-hex id (as Sugar's), its room, typed properties (color, name, private = false as
 * a bool, tags, type: one of ACTIVITY_TYPES in turn) and 1–3 distinct participants.
 */
export function generate(
  options: { buddies: number; activities: number; domain: string; mucDomain: string },
  seed = 20_080_601,
): DataSet {
  const next = seededRandom(seed);
  const hex = (bytes: number) =>
    Array.from({ length: bytes }, () =>
      Math.floor(next() * 256)
        .toString(16)
        .padStart(2, "0"),
    ).join("");
  const color = () => `#${hex(3).toUpperCase()},#${hex(3).toUpperCase()}`;
  const buddies: BenchBuddy[] = [];
  for (let n = 1; n <= options.buddies; n += 1) {
    const nick = `Learner ${n}`;
    buddies.push({
      jid: buddyJid(n, options.domain),
      alias: nick,
      properties: sorted([
        { name: "color", type: "str", value: color() },
        { name: "key", type: "bytes", value: Buffer.from(hex(48), "hex").toString("base64") },
        { name: "nick", type: "str", value: nick },
      ]),
    });
  }
  const activities: BenchActivity[] = [];
  for (let i = 0; i < options.activities; i += 1) {
    const id = createHash("sha1").update(`activity ${i}`).digest("hex");
    const type = ACTIVITY_TYPES[i % ACTIVITY_TYPES.length]!;
    const count = 1 + Math.floor(next() * 3);
    const participants = new Set<string>();
    while (participants.size < Math.min(count, buddies.length)) {
      participants.add(buddies[Math.floor(next() * buddies.length)]!.jid);
    }
    activities.push({
      id,
      room: `${id}@${options.mucDomain}`,
      type,
      properties: sorted([
        { name: "color", type: "str", value: color() },
        { name: "name", type: "str", value: activityTitle(0) },
        { name: "private", type: "bool", value: "0" },
        { name: "tags", type: "str", value: `class-${(i % 7) + 1} school` },
        { name: "type", type: "str", value: type },
      ]),
      participants: [...participants].sort(),
    });
  }
  return { buddies, activities };
}

/** Applies the migrations (as the daemon would) and inserts the data set in a few statements. */
export async function loadDataSet(url: string, data: DataSet): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    await migrate(pool, migrationsDir, pino({ level: "silent" }));
    await pool.query(
      `INSERT INTO olpc_buddies (jid, properties, alias)
       SELECT * FROM unnest($1::text[], $2::jsonb[], $3::text[])`,
      [
        data.buddies.map((b) => b.jid),
        data.buddies.map((b) => JSON.stringify(b.properties)),
        data.buddies.map((b) => b.alias),
      ],
    );
    await pool.query(
      `INSERT INTO olpc_activities (id, room, properties)
       SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])`,
      [
        data.activities.map((a) => a.id),
        data.activities.map((a) => a.room),
        data.activities.map((a) => JSON.stringify(a.properties)),
      ],
    );
    const pairs = data.activities.flatMap((a) => a.participants.map((jid) => [a.id, jid]));
    await pool.query(
      `INSERT INTO olpc_participants (activity_id, jid)
       SELECT * FROM unnest($1::text[], $2::text[])`,
      [pairs.map(([id]) => id), pairs.map(([, jid]) => jid)],
    );
    const { rows } = await pool.query<{
      buddies: string;
      activities: string;
      participants: string;
    }>(
      `SELECT (SELECT count(*) FROM olpc_buddies) AS buddies,
              (SELECT count(*) FROM olpc_activities) AS activities,
              (SELECT count(*) FROM olpc_participants) AS participants`,
    );
    const [counts] = rows;
    if (
      Number(counts?.buddies) !== data.buddies.length ||
      Number(counts?.activities) !== data.activities.length ||
      Number(counts?.participants) !== pairs.length
    ) {
      throw new Error(`the data set was not stored whole: ${JSON.stringify(counts)}`);
    }
  } finally {
    await pool.end();
  }
}

/** `<property type name>value</property>` for each property, as raw XML. */
export function propertiesXml(properties: readonly StoredProperty[]): string {
  return properties
    .map(
      (p) =>
        `<property type='${p.type}' name='${p.name}'>${p.value
          .replace(/&/g, "&amp;")
          .replace(/</g, "&lt;")}</property>`,
    )
    .join("");
}
