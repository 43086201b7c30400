import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { projectRoot } from "../src/paths.js";

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "floor-component.ts");

export interface FloorOptions {
  host?: string;
  port: number;
  jid: string;
  secret: string;
  /** The child of every result, raw XML; default a disco#info query with one identity. */
  payload?: string;
  /** Other payloads for requests to node@jid, by node. */
  nodePayloads?: Record<string, string>;
  /**
   * Like nodePayloads, each payload read from a file: for payloads larger than the 128 KiB one
   * environment variable may hold (the others travel in the child's environment).
   */
  nodePayloadFiles?: Record<string, string>;
  /** An iq to node@jid makes the floor send these messages first (see floor-component.ts). */
  fanout?: FloorFanout;
  /** Presence from the trigger user makes the floor fan presence out (see floor-component.ts). */
  presence?: FloorPresenceFanout & {
    /** Where to write it: thousands of JIDs do not fit the environment. */
    file: string;
  };
  timeoutMs?: number;
}

/** One headline message per recipient, `payload` being the message's children as raw XML. */
export interface FloorFanout {
  node: string;
  recipients: string[];
  payload: string;
}

/**
 * For each show ("online" for none), one presence per recipient from `from`, `payloads[show]` being
 * its children as raw XML, when the trigger user's device sends the floor presence with that show.
 */
export interface FloorPresenceFanout {
  /** A bare JID. */
  trigger: string;
  from: string;
  recipients: string[];
  payloads: Record<string, string>;
}

/** Linux refuses to start a process with an environment string longer than this (MAX_ARG_STRLEN). */
const MAX_ENV_VALUE = 128 * 1024 - 1;

/** bench/floor-component.ts as a child process, connected and online. */
export class FloorProcess {
  readonly exited: Promise<number | null>;
  readonly #stderr: string[] = [];

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    createInterface({ input: child.stderr! }).on("line", (line) => this.#stderr.push(line));
  }

  static async start(options: FloorOptions): Promise<FloorProcess> {
    const settings: Record<string, string> = {
      FLOOR_HOST: options.host ?? "127.0.0.1",
      FLOOR_PORT: String(options.port),
      FLOOR_JID: options.jid,
      FLOOR_SECRET: options.secret,
      FLOOR_PAYLOAD: options.payload ?? "",
      FLOOR_NODE_PAYLOADS: JSON.stringify(options.nodePayloads ?? {}),
      FLOOR_NODE_PAYLOAD_FILES: JSON.stringify(options.nodePayloadFiles ?? {}),
      FLOOR_FANOUT: options.fanout ? JSON.stringify(options.fanout) : "",
      FLOOR_PRESENCE_FILE: options.presence?.file ?? "",
    };
    if (options.presence) {
      const { trigger, from, recipients, payloads } = options.presence;
      const fanout: FloorPresenceFanout = { trigger, from, recipients, payloads };
      await writeFile(options.presence.file, JSON.stringify(fanout));
    }
    for (const [name, value] of Object.entries(settings)) {
      const length = name.length + 1 + Buffer.byteLength(value);
      if (length > MAX_ENV_VALUE) {
        throw new Error(
          `${name} would be ${length} bytes, too long for the environment (large payloads: nodePayloadFiles)`,
        );
      }
    }
    const child = spawn(process.execPath, ["--import", "tsx", SCRIPT], {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...settings },
    });
    const floor = new FloorProcess(child);
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
      throw new Error(`the floor component did not come online:\n${floor.transcript()}`);
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
