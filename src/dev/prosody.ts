import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { freePort, portAccepts } from "./ports.js";
import type { Account, PrivateServer, ServerOptions } from "./server.js";

export type { Account } from "./server.js";
export type ProsodyOptions = ServerOptions;

export class ProsodyMissingError extends Error {
  constructor() {
    super("Prosody is not installed: run `apt-get install -y prosody` (as root)");
    this.name = "ProsodyMissingError";
  }
}

export function prosodyInstalled(): boolean {
  return spawnSync("sh", ["-c", "command -v prosody"], { stdio: "ignore" }).status === 0;
}

/**
 * A private Prosody for tests, benchmarks and the demo: generated config in its own folder, its
 * own ports on 127.0.0.1, a MUC service, the given components and accounts, no rate limits.
 */
export class PrivateProsody implements PrivateServer {
  readonly kind = "prosody";
  readonly domain: string;
  readonly mucDomain: string;
  #process: ChildProcess | undefined;

  private constructor(
    readonly dir: string,
    readonly c2sPort: number,
    readonly componentPort: number,
    readonly options: ProsodyOptions,
    private readonly ownsDir: boolean,
  ) {
    this.domain = options.domain ?? "localhost";
    this.mucDomain = `conference.${this.domain}`;
  }

  static async start(options: ProsodyOptions = {}): Promise<PrivateProsody> {
    if (!prosodyInstalled()) throw new ProsodyMissingError();
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "concierge-prosody-")));
    const server = new PrivateProsody(
      dir,
      options.c2sPort ?? (await freePort()),
      options.componentPort ?? (await freePort()),
      options,
      options.dir === undefined,
    );
    await mkdir(join(dir, "data"), { recursive: true });
    await mkdir(join(dir, "certs"), { recursive: true });
    await writeFile(server.configPath, server.#config());
    await server.addAccounts(options.accounts ?? []);
    await server.#launch();
    return server;
  }

  get configPath(): string {
    return join(this.dir, "prosody.cfg.lua");
  }

  get service(): string {
    return `xmpp://127.0.0.1:${this.c2sPort}`;
  }

  /** Writes accounts straight into the internal storage (plain passwords); instant, even for 1000s. */
  async addAccounts(accounts: Account[]): Promise<void> {
    const folder = join(this.dir, "data", encodePath(this.domain), "accounts");
    await mkdir(folder, { recursive: true });
    await Promise.all(
      accounts.map(({ username, password }) =>
        writeFile(
          join(folder, `${encodePath(username)}.dat`),
          `return {\n\t["password"] = ${luaString(password)};\n};\n`,
        ),
      ),
    );
  }

  async log(): Promise<string> {
    return readFile(join(this.dir, "prosody.log"), "utf8").catch(() => "");
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s); the data stays until stop({ remove }). */
  async stop({ remove = this.ownsDir }: { remove?: boolean } = {}): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (remove) await rm(this.dir, { recursive: true, force: true });
  }

  /** Stops and starts again on the same ports with the same data. */
  async restart(): Promise<void> {
    await this.stop({ remove: false });
    await this.#launch();
  }

  async #launch(): Promise<void> {
    const child = spawn("prosody", ["--config", this.configPath, "-F"], {
      cwd: this.dir,
      stdio: ["ignore", "ignore", "pipe"],
      // Its own process group: a terminal's Ctrl-C reaches us, and we stop the server in order.
      detached: true,
    });
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    child.once("exit", () => process.off("exit", killOnExit));
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    this.#process = child;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      if (await this.#listening()) return;
      await delay(50);
    }
    await this.stop({ remove: false });
    throw new Error(`Prosody did not start (${this.configPath}):\n${stderr}\n${await this.log()}`);
  }

  async #listening(): Promise<boolean> {
    if (!(await portAccepts(this.c2sPort))) return false;
    // The component port opens only when a component is configured.
    return !this.options.components?.length || portAccepts(this.componentPort);
  }

  #config(): string {
    const { components = [], admins = [] } = this.options;
    const lines = [
      "-- Generated for a private Concierge test/demo server. Do not edit: it is rewritten.",
      "run_as_root = true",
      `data_path = ${luaString(join(this.dir, "data"))}`,
      `log = { { levels = { min = ${luaString(process.env.PROSODY_LOG_LEVEL ?? "info")} }, to = "file", filename = ${luaString(join(this.dir, "prosody.log"))} } }`,
      `modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "pep"; "private"; "vcard"; "version"; "uptime"; "time" }`,
      `modules_disabled = { "s2s"; "s2s_auth_certs" }`,
      `c2s_ports = { ${this.c2sPort} }`,
      `c2s_interfaces = { "127.0.0.1" }`,
      `c2s_direct_tls_ports = { }`,
      `component_ports = { ${this.componentPort} }`,
      `component_interfaces = { "127.0.0.1" }`,
      `s2s_ports = { }`,
      `http_ports = { }`,
      `https_ports = { }`,
      `admins = { ${admins.map(luaString).join("; ")} }`,
      `authentication = "internal_plain"`,
      `storage = "internal"`,
      `c2s_require_encryption = false`,
      `allow_unencrypted_plain_auth = true`,
      `limits = { c2s = { rate = "1000mb/s" }; s2sin = { rate = "1000mb/s" } }`,
      `certificates = ${luaString(join(this.dir, "certs"))}`,
      "",
      `VirtualHost ${luaString(this.domain)}`,
      "",
      `Component ${luaString(this.mucDomain)} "muc"`,
      `  restrict_room_creation = false`,
      `  muc_tombstones = false`,
      "",
      ...components.flatMap(({ jid, secret }) => [
        `Component ${luaString(jid)}`,
        `  component_secret = ${luaString(secret)}`,
        "",
      ]),
    ];
    return lines.join("\n");
  }
}

/** Prosody's datamanager escapes every non-alphanumeric byte of a path part as %xx. */
function encodePath(part: string): string {
  return [...Buffer.from(part, "utf8")]
    .map((byte) =>
      /[A-Za-z0-9]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, "0")}`,
    )
    .join("");
}

/** A Lua string literal; every byte outside printable ASCII is written as a decimal escape. */
function luaString(value: string): string {
  const escaped = [...Buffer.from(value, "utf8")]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      if (byte < 0x20 || byte > 0x7e || char === '"' || char === "\\") return `\\${byte}`;
      return char;
    })
    .join("");
  return `"${escaped}"`;
}
