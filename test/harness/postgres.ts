import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/dev/ports.js";

/** The newest PostgreSQL server binaries Debian installed. */
function binDir(): string {
  const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(a) - Number(b));
  return `/usr/lib/postgresql/${versions.at(-1)}/bin`;
}

/**
 * A private PostgreSQL cluster of the machine's own server binaries, for what the shared one
 * cannot show: password authentication (the shared one trusts 127.0.0.1), and a server that
 * really stops and starts. As root it runs as the `postgres` user, as PostgreSQL insists.
 */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly password: string,
  ) {}

  static async start(password = "cluster-secret"): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), "concierge-pg-"));
    const server = new PrivatePostgres(dir, await freePort(), password);
    const pwfile = join(dir, "pwfile");
    writeFileSync(pwfile, `${password}\n`);
    server.#own();
    server.#run("initdb", [
      "-D",
      server.data,
      "-U",
      "postgres",
      "-A",
      "scram-sha-256",
      `--pwfile=${pwfile}`,
      "--no-sync",
    ]);
    server.start();
    return server;
  }

  get data(): string {
    return join(this.dir, "data");
  }

  url(database = "postgres", password = this.password): string {
    return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${database}`;
  }

  start(): void {
    this.#run("pg_ctl", [
      "-D",
      this.data,
      "-l",
      join(this.dir, "server.log"),
      "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "-w",
      "start",
    ]);
  }

  /** Stops the server; `immediate` is a crash (no goodbye to the clients). */
  stop(mode: "fast" | "immediate" = "fast"): void {
    this.#run("pg_ctl", ["-D", this.data, "-m", mode, "-w", "stop"]);
  }

  remove(): void {
    try {
      this.stop("immediate");
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  #own(): void {
    chmodSync(this.dir, 0o755);
    if (userInfo().uid === 0) {
      const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }));
      const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }));
      chownSync(this.dir, uid, gid);
      chownSync(join(this.dir, "pwfile"), uid, gid);
    }
  }

  #run(program: string, args: string[]): void {
    const path = join(binDir(), program);
    if (userInfo().uid === 0)
      execFileSync("runuser", ["-u", "postgres", "--", path, ...args], { stdio: "pipe" });
    else execFileSync(path, args, { stdio: "pipe" });
  }
}
