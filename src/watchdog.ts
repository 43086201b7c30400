import { Worker } from "node:worker_threads";

/**
 * The last guard of a bounded stop. The stop's own timer needs the event loop; a library caught
 * in a loop of promise callbacks never lets it (or a signal handler) run. A worker thread has a
 * loop of its own: if the process is still there after `ms`, it writes one log line and ends the
 * process with SIGKILL. Returns a function that disarms it.
 */
export function armWatchdog(ms: number): () => void {
  const line = JSON.stringify({
    level: 60,
    name: "concierge",
    msg: `shutdown stalled: the event loop did not run for the last part of ${ms} ms; killing the process`,
  });
  const worker = new Worker(
    `const { workerData } = require("node:worker_threads");
     const { writeSync } = require("node:fs");
     setTimeout(() => {
       try { writeSync(1, workerData.line.replace("{", '{"time":' + Date.now() + ",") + "\\n"); } catch {}
       process.kill(process.pid, "SIGKILL");
     }, workerData.ms);`,
    { eval: true, workerData: { ms, line } },
  );
  worker.unref();
  return () => void worker.terminate();
}
