import { readFileSync } from "node:fs";

/** A wrapper that started this process (npm, npx, tsx, `sh -c`), with its parent at start. */
interface Launcher {
  pid: number;
  parent: number;
  name: string;
}

/**
 * Wrappers do not all pass a signal on: `npx` killed with SIGTERM leaves its `sh -c` child to
 * die and the tsx below it orphaned, and the daemon under tsx never hears of it. So the daemon
 * watches the wrappers it was started by (Linux, /proc): when one is gone or has lost its own
 * parent, whoever ran it meant it to stop, and `onGone` is called once. A daemon started by a
 * shell, systemd or a container runtime has no wrapper above it, and nothing is watched: a
 * `nohup` daemon keeps running after its shell exits.
 */
export function watchLaunchers(onGone: (launcher: string) => void, intervalMs = 1_000): () => void {
  const chain = launchers(process.ppid);
  if (chain.length === 0) return () => {};
  const timer = setInterval(() => {
    const gone = chain.find((launcher) => parentOf(launcher.pid) !== launcher.parent);
    if (!gone) return;
    clearInterval(timer);
    onGone(`${gone.name} (pid ${gone.pid})`);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function launchers(start: number): Launcher[] {
  const chain: Launcher[] = [];
  for (let pid = start; pid > 1;) {
    const name = launcherName(pid);
    const parent = parentOf(pid);
    if (!name || parent === undefined) break;
    chain.push({ pid, parent, name });
    pid = parent;
  }
  return chain;
}

function launcherName(pid: number): string | undefined {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return undefined;
  }
  const program = argv[0]?.split("/").pop() ?? "";
  if (/^(sh|dash|bash)$/.test(program) && argv[1] === "-c") return `${program} -c`;
  if (program !== "node" && !program.startsWith("node")) return undefined;
  const script = argv.slice(1).find((arg) => !arg.startsWith("-")) ?? "";
  if (/(^|\/)npx(-cli\.js)?$/.test(script)) return "npx";
  if (/(^|\/)npm(-cli\.js)?$/.test(script)) return "npm";
  if (/(^|\/)tsx(\/dist\/cli\.mjs)?$/.test(script) || /\/tsx\/dist\/cli\.mjs$/.test(script)) {
    return "tsx";
  }
  return undefined;
}

/** The parent of a running process; undefined if it is gone (or a zombie). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // pid (comm) state ppid …; comm may hold spaces and parentheses: read after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return state === "Z" ? undefined : Number(ppid);
  } catch {
    return undefined;
  }
}
