import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { freePort, portAccepts } from "./ports.js";
import type { Account, PrivateServer, ServerOptions } from "./server.js";
import { PROSODY_SNIPPET, SNIPPET_NAMES, readSnippet } from "./snippets.js";

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
 * own ports on 127.0.0.1, the given components and accounts, no rate limits. The components and
 * the MUC service are those of the operators' snippet (config/prosody/concierge.cfg.lua), which
 * the generated config includes as an operator's conf.d would.
 */
export class PrivateProsody implements PrivateServer {
  readonly kind = "prosody";
  readonly domain: string;
  #mucDomain: string;
  #process: ChildProcess | undefined;

  private constructor(
    readonly dir: string,
    readonly c2sPort: number,
    readonly componentPort: number,
    readonly options: ProsodyOptions,
    private readonly ownsDir: boolean,
  ) {
    this.domain = options.domain ?? "localhost";
    this.#mucDomain = `conference.${this.domain}`;
  }

  /** The snippet's MUC service (conference.<domain>). */
  get mucDomain(): string {
    return this.#mucDomain;
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
    await writeFile(server.snippetPath, await server.#snippet());
    await writeFile(server.configPath, server.#config());
    await server.addAccounts(options.accounts ?? []);
    await server.#launch();
    return server;
  }

  get configPath(): string {
    return join(this.dir, "prosody.cfg.lua");
  }

  /** The operators' snippet with this server's names, ports and secrets; the config includes it. */
  get snippetPath(): string {
    return join(this.dir, "concierge.cfg.lua");
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
    return portAccepts(this.componentPort);
  }

  /**
   * The shipped snippet with this server's names: the first component in place of
   * concierge.example.org (its port and secret set), each further one declared by a copy of that
   * block. Throws if the snippet no longer has the parts the harness fills in.
   */
  async #snippet(): Promise<string> {
    const [first, ...others] = this.#components();
    let text = await readSnippet(PROSODY_SNIPPET, {
      domain: this.domain,
      component: first.jid,
      bot: this.options.bot ?? SNIPPET_NAMES.bot,
    });
    const fail: (what: string) => never = (what) => {
      throw new Error(`${PROSODY_SNIPPET}: ${what}; the Prosody harness cannot fill it in`);
    };
    const ports = /^component_ports = \{ \d+ \}/m;
    if (!ports.test(text)) fail("no `component_ports = { N }` line");
    text = text.replace(ports, `component_ports = { ${this.componentPort} }`);
    // The component's block: its Component line and the indented lines below it.
    const declaration = new RegExp(
      `^Component ${escapeRegExp(luaString(first.jid))}.*\\n(?:[ \\t]+.*\\n)*`,
      "m",
    );
    const secret = `component_secret = ${luaString(SNIPPET_NAMES.secret)}`;
    const block = declaration.exec(text)?.[0] ?? "";
    if (!block.includes(secret))
      fail(`no Component "${first.jid}" block with its component_secret`);
    const withSecret = (source: string, value: string) =>
      source.replace(secret, () => `component_secret = ${luaString(value)}`);
    text = withSecret(text, first.secret);
    if (this.options.activeStandby) {
      const commented = /^([ \t]*)-- (component_conflict_resolve = "kick_old")/m;
      if (!commented.test(text)) fail("no commented component_conflict_resolve line");
      text = text.replace(commented, "$1$2");
    }
    this.#mucDomain = /^Component "([^"]+)" "muc"/m.exec(text)?.[1] ?? fail("no MUC component");
    if (others.length) {
      text +=
        "\n---------- Test-only: further components, declared like the one above ----------\n\n";
      for (const { jid, secret: value } of others) {
        text +=
          withSecret(
            block.replace(luaString(first.jid), () => luaString(jid)),
            value,
          ) + "\n";
      }
    }
    return `-- Generated from ${PROSODY_SNIPPET} for a private test/demo server; rewritten at every start.\n\n${text}`;
  }

  /** The components to declare; with none, the snippet's own with a secret nobody knows. */
  #components(): [{ jid: string; secret: string }, ...{ jid: string; secret: string }[]] {
    const [first, ...others] = this.options.components ?? [];
    return first
      ? [first, ...others]
      : [{ jid: `concierge.${this.domain}`, secret: randomBytes(16).toString("hex") }];
  }

  /** Test-only global settings, the virtual host, then the snippet (as conf.d/ would be). */
  #config(): string {
    const { admins = [] } = this.options;
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
      "-- The operators' snippet: component port, components, MUC service.",
      `Include ${luaString(this.snippetPath)}`,
      "",
    ];
    return lines.join("\n");
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
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
