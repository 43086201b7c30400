import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder holding Concierge's package.json, found from this module (under src/ or dist/src/). */
export const projectRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "migrations"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find Concierge's package.json");
    dir = parent;
  }
  return dir;
})();

export const migrationsDir = join(projectRoot, "migrations");

export const packageVersion: string = (
  JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as { version: string }
).version;
