/**
 * Preloaded into a process under test (`--import tsx --import bench/cpu-profile-hook.ts`, e.g.
 * through NODE_OPTIONS, where Node 20 refuses `--cpu-prof`): profiles it with V8's sampling
 * profiler from start to exit and writes BENCH_CPU_PROF_DIR/<name>-<pid>.cpuprofile (open it in
 * Chrome DevTools, or summarize it with bench/cpuprofile-summary.ts).
 */
import { writeFileSync } from "node:fs";
import { Session, type Profiler } from "node:inspector";
import { join } from "node:path";

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const name = process.env.BENCH_CPU_PROF_NAME ?? "process";
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 200 });
  session.post("Profiler.start");
  // The same-thread session answers synchronously, so this completes inside the exit handler.
  process.on("exit", () => {
    session.post("Profiler.stop", (error, result: Profiler.StopReturnType) => {
      if (error) {
        process.stderr.write(`cpu profile: ${error.message}\n`);
        return;
      }
      const file = join(dir, `${name}-${process.pid}.cpuprofile`);
      writeFileSync(file, JSON.stringify(result.profile));
      process.stderr.write(`cpu profile written to ${file}\n`);
    });
  });
}
