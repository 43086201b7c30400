// `npm test`: the unit tests and every integration suite on Prosody and on ejabberd, as three
// lanes run at once (each lane's files one after another, since the integration files start
// servers and daemons of their own). Each lane's output is printed whole when it ends, under its
// name; the run fails if any lane fails. `npm test -- prosody` runs only the lanes named.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";

const files = (dir) =>
  readdirSync(dir)
    .filter((name) => name.endsWith(".test.ts"))
    .sort()
    .map((name) => `${dir}/${name}`);

const LANES = [
  { name: "unit", env: {}, files: files("test/unit") },
  { name: "prosody", env: { XMPP_TEST_SERVER: "prosody" }, files: files("test/integration") },
  { name: "ejabberd", env: { XMPP_TEST_SERVER: "ejabberd" }, files: files("test/integration") },
];

const wanted = process.argv.slice(2);
const lanes = wanted.length ? LANES.filter((lane) => wanted.includes(lane.name)) : LANES;
if (lanes.length === 0) {
  process.stderr.write(`no such lane: ${wanted.join(" ")} (lanes: ${LANES.map((l) => l.name)})\n`);
  process.exit(2);
}

function run(lane) {
  const started = Date.now();
  const args = ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec"];
  const child = spawn(process.execPath, [...args, ...lane.files], {
    env: { ...process.env, ...lane.env, FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = [];
  child.stdout.on("data", (chunk) => output.push(chunk));
  child.stderr.on("data", (chunk) => output.push(chunk));
  process.stderr.write(`[${lane.name}] started (${lane.files.length} files)\n`);
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      const seconds = Math.round((Date.now() - started) / 1000);
      const ok = code === 0;
      process.stdout.write(`\n===== ${lane.name} =====\n${Buffer.concat(output).toString()}`);
      const verdict = ok ? "passed" : `FAILED (${signal ?? `exit ${code}`})`;
      process.stdout.write(`===== ${lane.name}: ${verdict} in ${seconds} s =====\n`);
      resolve({ name: lane.name, ok, seconds });
    });
  });
}

const started = Date.now();
const results = await Promise.all(lanes.map(run));
const total = Math.round((Date.now() - started) / 1000);
process.stdout.write(
  `\n${results.map((r) => `${r.name}: ${r.ok ? "passed" : "FAILED"} (${r.seconds} s)`).join(", ")}; total ${total} s\n`,
);
process.exit(results.every((r) => r.ok) ? 0 : 1);
