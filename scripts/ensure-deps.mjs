// Runs `npm ci` when node_modules is missing or older than package-lock.json, so that
// `npm test` and `npm run demo` work as the first commands on a fresh clone.
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";

const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
};

if (mtime("node_modules/.package-lock.json") < mtime("package-lock.json")) {
  process.stderr.write("Installing dependencies (npm ci)…\n");
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}
