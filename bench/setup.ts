/**
 * Set-up shared by the benchmarks that run against a private Prosody: the stack (with Prosody's
 * read size), the daemon (optionally profiled), raw c2s clients, and bounded parallelism.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Account } from "../src/dev/prosody.js";
import type { ServerKind } from "../src/dev/server.js";
import { Daemon, type DaemonOptions } from "../test/harness/daemon.js";
import { startStack, type Stack } from "../test/harness/stack.js";
import { RawClient } from "./raw-client.js";
import { progress } from "./stats.js";
import type { Teardown } from "./teardown.js";

/**
 * Prosody 0.12 reads each connection `network_default_read_size` bytes at a time (default 4096)
 * while LuaSocket fetches 8 KiB from the kernel; the leftover marks the socket "dirty" and Prosody
 * pauses reading it until a timer fires, which takes at least a millisecond (its min_wait). A
 * stream of large stanzas from one component, such as 180 KB #tasks answers, then arrives at about
 * 4 MB/s with the server mostly idle, and more requests in flight only add waiting. Reads larger
 * than LuaSocket's buffer leave nothing behind: the server is then limited by its CPU.
 */
export async function setReadSize(stack: Stack, bytes: number): Promise<void> {
  const config = await readFile(stack.prosody.configPath, "utf8");
  const at = config.indexOf("\nVirtualHost ");
  if (at < 0) throw new Error(`no VirtualHost in ${stack.prosody.configPath}`);
  const line = `\nnetwork_default_read_size = ${bytes}\n`;
  await writeFile(stack.prosody.configPath, config.slice(0, at) + line + config.slice(at));
  await stack.prosody.restart();
}

/**
 * The private XMPP server (Prosody unless `server` says ejabberd) and a scratch database with
 * `accounts`, stopped on teardown. With `readSize` (0 for Prosody's own default), Prosody's
 * network_default_read_size is set first (see setReadSize); ejabberd has no such setting.
 */
export async function startBenchServer(
  teardown: Teardown,
  accounts: Account[],
  readSize?: number,
  server: ServerKind = "prosody",
): Promise<Stack> {
  const stack = await startStack({ accounts, server });
  teardown.add(`${server} and the scratch database`, () => stack.stop());
  if (readSize === undefined || server !== "prosody") {
    progress(`${server} on c2s port ${stack.prosody.c2sPort}, database ${stack.db.name}`);
    return stack;
  }
  if (readSize > 0) await setReadSize(stack, readSize);
  progress(
    `Prosody on c2s port ${stack.prosody.c2sPort} (read size ` +
      `${readSize || "4096, its default"}), database ${stack.db.name}`,
  );
  return stack;
}

/**
 * The daemon, stopped on teardown (its transcript printed if it exits badly). With `cpuProf` it
 * writes a V8 CPU profile into that directory: it inherits our environment, and Node 20 refuses
 * --cpu-prof in NODE_OPTIONS, hence a preloaded hook (bench/cpu-profile-hook.ts).
 */
export async function startDaemon(
  stack: Stack,
  teardown: Teardown,
  options: DaemonOptions,
  cpuProf?: string,
): Promise<Daemon> {
  const daemon = cpuProf
    ? await startProfiled(stack, options, cpuProf)
    : await Daemon.start(stack, options);
  teardown.add("daemon", async () => {
    const { code, signal: killed } = await daemon.stop();
    if (code !== 0) progress(`daemon exited with ${code ?? killed}:\n${daemon.transcript()}`);
  });
  return daemon;
}

async function startProfiled(stack: Stack, options: DaemonOptions, dir: string): Promise<Daemon> {
  await mkdir(dir, { recursive: true });
  const saved = { ...process.env };
  const hook = fileURLToPath(new URL("cpu-profile-hook.ts", import.meta.url));
  process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ""} --import tsx --import ${hook}`.trim();
  process.env.BENCH_CPU_PROF_DIR = dir;
  process.env.BENCH_CPU_PROF_NAME = "concierge";
  try {
    return await Daemon.start(stack, options);
  } finally {
    for (const key of ["NODE_OPTIONS", "BENCH_CPU_PROF_DIR", "BENCH_CPU_PROF_NAME"]) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

/**
 * Raw c2s clients of one stack, all closed on teardown. The step is added when this is made, so
 * that making it before starting the daemon closes the clients after the daemon has stopped.
 */
export class RawClients {
  readonly all: RawClient[] = [];

  constructor(
    private readonly stack: Stack,
    teardown: Teardown,
    private readonly timeoutMs?: number,
  ) {
    teardown.add("clients", () => Promise.all(this.all.map((client) => client.close())));
  }

  async connect(account: Account, resource: string): Promise<RawClient> {
    const client = await RawClient.connect({
      host: "127.0.0.1",
      port: this.stack.prosody.c2sPort,
      domain: this.stack.prosody.domain,
      username: account.username,
      password: account.password,
      resource,
      timeoutMs: this.timeoutMs,
    });
    this.all.push(client);
    return client;
  }
}

/** Runs `work` on every item with at most `limit` at a time; results in item order. */
export async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
