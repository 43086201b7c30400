import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** Kernel clock ticks per second (utime/stime unit in /proc/PID/stat); almost always 100. */
const TICKS_PER_SECOND = (() => {
  const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const ticks = Number(out.stdout?.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
})();

/**
 * CPU time (user + system, all threads) a process has used so far, in ms, from /proc (Linux);
 * undefined if the process is gone or /proc is not there. Resolution: one clock tick (10 ms).
 */
export function cpuTimeMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may contain spaces; fields 14 and 15 (utime, stime) follow the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** The first process whose command line (arguments joined by spaces) satisfies `match`. */
export function findPid(match: (commandLine: string) => boolean): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      if (match(commandLine)) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

/** CPU meters for named processes, read together before and after a measured interval. */
export class CpuMeter {
  constructor(private readonly pids: Record<string, number | undefined>) {}

  snapshot(): Record<string, number | undefined> {
    return Object.fromEntries(
      Object.entries(this.pids).map(([name, pid]) => [name, cpuTimeMs(pid)]),
    );
  }

  /** CPU ms used by each process between two snapshots (undefined where unknown). */
  static since(
    before: Record<string, number | undefined>,
    after: Record<string, number | undefined>,
  ): Record<string, number | undefined> {
    return Object.fromEntries(
      Object.keys(after).map((name) => {
        const a = after[name];
        const b = before[name];
        return [name, a === undefined || b === undefined ? undefined : a - b];
      }),
    );
  }
}
