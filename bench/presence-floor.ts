import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { projectRoot } from "../src/paths.js";
import type { PresenceFloorConfig } from "./presence-floor-component.js";

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "presence-floor-component.ts");

export interface PresenceFloorOptions extends PresenceFloorConfig {
  host?: string;
  port: number;
  jid: string;
  secret: string;
  /** Where to write the fan-out's configuration (thousands of JIDs do not fit the environment). */
  configFile: string;
  timeoutMs?: number;
}

/** bench/presence-floor-component.ts as a child process, connected and online. */
export class PresenceFloorProcess {
  readonly exited: Promise<number | null>;
  readonly #stderr: string[] = [];

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    createInterface({ input: child.stderr! }).on("line", (line) => this.#stderr.push(line));
  }

  static async start(options: PresenceFloorOptions): Promise<PresenceFloorProcess> {
    const config: PresenceFloorConfig = {
      trigger: options.trigger,
      from: options.from,
      recipients: options.recipients,
      payloads: options.payloads,
    };
    await writeFile(options.configFile, JSON.stringify(config));
    const child = spawn(process.execPath, ["--import", "tsx", SCRIPT], {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        FLOOR_HOST: options.host ?? "127.0.0.1",
        FLOOR_PORT: String(options.port),
        FLOOR_JID: options.jid,
        FLOOR_SECRET: options.secret,
        FLOOR_PRESENCE_FILE: options.configFile,
      },
    });
    const floor = new PresenceFloorProcess(child);
    const online = new Promise<boolean>((resolve) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        if (line === "online") resolve(true);
      });
      void floor.exited.then(() => resolve(false));
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), options.timeoutMs ?? 10_000);
    });
    const ok = await Promise.race([online, timeout]);
    clearTimeout(timer);
    if (!ok) {
      await floor.stop();
      throw new Error(`the presence floor did not come online:\n${floor.transcript()}`);
    }
    return floor;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code. */
  async stop(timeoutMs = 5_000): Promise<number | null> {
    if (this.running) this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  transcript(): string {
    return this.#stderr.join("\n");
  }
}
