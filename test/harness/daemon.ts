import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { stringify } from "yaml";
import { projectRoot } from "../../src/paths.js";
import type { Stack } from "./stack.js";

export interface LogLine {
  level: number;
  time: number;
  msg: string;
  [key: string]: unknown;
}

export interface DaemonOptions {
  /** The component JID to connect as (default: the stack's; FLOOR_JID with its secret works too). */
  componentJid?: string;
  secret?: string;
  databaseUrl?: string;
  componentPort?: number;
  reconnect?: { initial_delay_ms: number; max_delay_ms: number; login_timeout_ms?: number };
  shutdownTimeoutMs?: number;
  logLevel?: string;
  args?: string[];
  /** A name for the config file, so that two daemons of one test do not share one. */
  name?: string;
  /** More top-level config sections (services). */
  extra?: Record<string, unknown>;
  /** How the daemon is launched: as the tests usually do, or as operators do. */
  launcher?: Launcher;
  /** Run this script instead of src/main.ts (a fixture), with the config path and these args. */
  fixture?: { script: string; args: string[] };
}

/** The ways people start the daemon: node with tsx's loader, the built file, or `npx tsx`. */
export type Launcher = "node" | "dist" | "npx-tsx";

function command(launcher: Launcher, args: string[]): [string, string[]] {
  switch (launcher) {
    case "node":
      return [process.execPath, ["--import", "tsx", "src/main.ts", ...args]];
    case "dist":
      return [process.execPath, ["dist/src/main.js", ...args]];
    case "npx-tsx":
      return ["npx", ["--no-install", "tsx", "src/main.ts", ...args]];
  }
}

/** `concierge start` as a child process, as an operator would run it, with its JSON log parsed. */
export class Daemon {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters = new Set<() => void>();
  /** Exited, and its output read to the end. */
  #ended = false;

  constructor(readonly child: ChildProcess) {
    // A test process that dies takes its daemons with it.
    const kill = () => child.kill("SIGKILL");
    process.once("exit", kill);
    // "exit" may come before the last lines on stdout are read; "close" comes after them, unless
    // a process the daemon left behind still holds the pipe (then "exit" plus a moment).
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        process.off("exit", kill);
        let timer: NodeJS.Timeout | undefined;
        const drained = new Promise<void>((done) => (timer = setTimeout(done, 2_000)));
        void Promise.race([closed, drained]).then(() => {
          clearTimeout(timer);
          this.#ended = true;
          this.#notify();
          resolve({ code, signal });
        });
      }),
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.stderr.push(line);
      }
      this.#notify();
    });
    createInterface({ input: child.stderr! }).on("line", (line) => this.stderr.push(line));
  }

  static async start(stack: Stack, options: DaemonOptions = {}): Promise<Daemon> {
    const config = {
      component: {
        jid: options.componentJid ?? stack.componentJid,
        host: "127.0.0.1",
        port: options.componentPort ?? stack.prosody.componentPort,
        secret: options.secret ?? stack.secret,
      },
      database: { url: options.databaseUrl ?? stack.db.url },
      reconnect: options.reconnect ?? { initial_delay_ms: 100, max_delay_ms: 2_000 },
      log: { level: options.logLevel ?? "debug" },
      shutdown_timeout_ms: options.shutdownTimeoutMs ?? 5_000,
      ...options.extra,
    };
    const file = join(stack.prosody.dir, `concierge-${options.name ?? "daemon"}.yaml`);
    await writeFile(file, stringify(config));
    const [program, args] = options.fixture
      ? [
          process.execPath,
          ["--import", "tsx", options.fixture.script, file, ...options.fixture.args],
        ]
      : command(options.launcher ?? "node", ["start", "--config", file, ...(options.args ?? [])]);
    const child = spawn(program, args, {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DATABASE_URL: "" },
    });
    return new Daemon(child);
  }

  /** Waits for a log line matching `predicate` (seen before or after the call). */
  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(predicate);
      if (found) return found;
      if (this.#ended) {
        throw new Error(`daemon exited before the expected log line:\n${this.transcript()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a log line:\n${this.transcript()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
        function done() {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  }

  waitOnline(count = 1, timeoutMs = 15_000): Promise<LogLine> {
    let seen = 0;
    return this.waitForLog((line) => line.msg === "component online" && ++seen >= count, timeoutMs);
  }

  /** Sends a signal and waits for the exit; SIGKILL after `timeoutMs`. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10_000) {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  transcript(): string {
    return [...this.logs.map((line) => JSON.stringify(line)), ...this.stderr].join("\n");
  }

  #notify(): void {
    for (const waiter of this.#waiters) waiter();
    this.#waiters.clear();
  }
}
