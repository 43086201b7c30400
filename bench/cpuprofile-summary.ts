/**
 * Summarizes a V8 .cpuprofile (from bench/cpu-profile-hook.ts or node --cpu-prof) in text: where
 * the busy time went by area (npm package, project file, Node internals, GC) and the hottest
 * functions by self and by inclusive time.
 *
 *   npx tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--top N]
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  /** Self time by area, ms, largest first. */
  areas: [string, number][];
  /** Self time by function, ms, largest first. */
  selfByFunction: [string, number][];
  /** Time with the function on the stack, ms, largest first. */
  inclusiveByFunction: [string, number][];
}

/** The package, project file or runtime part a frame belongs to. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const parts = url.slice(modules + "/node_modules/".length).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith("node:")) return url.split("/").slice(0, 2).join("/");
  const src = url.indexOf("/src/");
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, "");
}

function functionKey(frame: CallFrame): string {
  const name = frame.functionName || "(anonymous)";
  if (!frame.url) return name;
  return `${name} ${areaOf(frame)}:${frame.lineNumber + 1}`;
}

export function summarize(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const areas = new Map<string, number>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, ms: number) =>
    map.set(key, (map.get(key) ?? 0) + ms);

  let totalMs = 0;
  let idleMs = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    // A sample's time is the gap to the next one (the last sample gets the gap before it).
    const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    totalMs += ms;
    if (node.callFrame.functionName === "(idle)") {
      idleMs += ms;
      continue;
    }
    add(areas, areaOf(node.callFrame), ms);
    add(self, functionKey(node.callFrame), ms);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === "(root)") break;
      const key = functionKey(frame);
      if (!seen.has(key)) {
        seen.add(key);
        add(inclusive, key, ms);
      }
    }
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return {
    totalMs,
    idleMs,
    busyMs: totalMs - idleMs,
    areas: sorted(areas),
    selfByFunction: sorted(self),
    inclusiveByFunction: sorted(inclusive),
  };
}

export function formatSummary(summary: ProfileSummary, top = 25): string {
  const pct = (ms: number) => `${((ms * 100) / summary.busyMs).toFixed(1).padStart(5)}%`;
  const rows = (entries: [string, number][]) =>
    entries
      .slice(0, top)
      .map(([key, ms]) => `  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${key}`)
      .join("\n");
  return [
    `profiled ${(summary.totalMs / 1000).toFixed(1)} s: busy ${summary.busyMs.toFixed(0)} ms, ` +
      `idle ${summary.idleMs.toFixed(0)} ms (percentages are of busy time)`,
    "self time by area:",
    rows(summary.areas),
    "self time by function:",
    rows(summary.selfByFunction),
    "inclusive time by function:",
    rows(summary.inclusiveByFunction),
  ].join("\n");
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "25" } },
  });
  if (positionals.length === 0) {
    process.stderr.write("usage: tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--top N]\n");
    process.exitCode = 2;
    return;
  }
  for (const file of positionals) {
    const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
    process.stdout.write(`${file}\n${formatSummary(summarize(profile), Number(values.top))}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
