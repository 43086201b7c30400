import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, portAccepts } from "../../src/dev/ports.js";

/**
 * A private nginx (Debian's package) as a reverse proxy in front of `upstreamPort`, with the
 * distribution's default proxy settings: a plain `proxy_pass` plus /etc/nginx/proxy_params, so
 * HTTP/1.0 to the backend and proxy_buffering on.
 */
export class PrivateNginx {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async start(upstreamPort: number): Promise<PrivateNginx> {
    const dir = await mkdtemp(join(tmpdir(), "concierge-nginx-"));
    await mkdir(join(dir, "tmp"));
    const port = await freePort();
    const config = `
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      include /etc/nginx/proxy_params;
    }
  }
}
`;
    await writeFile(join(dir, "nginx.conf"), config);
    const binary = existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
    const child = spawn(binary, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await portAccepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`nginx did not start: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return new PrivateNginx(child, dir, port);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGTERM");
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
