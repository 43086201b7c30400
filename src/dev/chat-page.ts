import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";

export interface ChatPageOptions {
  host: string;
  port: number;
  /** Where the daemon's web chat listens, as the browser reaches it. */
  api: string;
  apiKey: string;
}

/**
 * The demo's web application: a chat page (plain HTML and JS, src/dev/chat-page.html) and the
 * one thing its backend does for the chat, `POST /start`, which asks the daemon for a token
 * with the API key (a visitor is a client claimed into the room of a waiting staff member).
 * The browser never sees the API key or the room's password.
 */
export async function startChatPage(
  options: ChatPageOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const page = await readFile(new URL("chat-page.html", import.meta.url), "utf8");
  const server: Server = createServer((request, response) => {
    if (request.method === "GET" && (request.url === "/" || request.url?.startsWith("/?"))) {
      response.writeHead(200, {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
      });
      response.end(page);
      return;
    }
    if (request.method === "POST" && request.url === "/start") {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => {
        body += chunk;
        if (body.length > 4_096) request.destroy();
      });
      request.on("end", () => {
        void start(body).then(
          ({ status, json }) => {
            response.writeHead(status, { "Content-Type": "application/json" });
            response.end(JSON.stringify(json));
          },
          (error: unknown) => {
            response.writeHead(502, { "Content-Type": "application/json" });
            response.end(
              JSON.stringify({ message: `the chat service did not answer (${String(error)})` }),
            );
          },
        );
      });
      return;
    }
    response.writeHead(404, { "Content-Type": "text/plain" });
    response.end("not found\n");
  });

  async function start(text: string): Promise<{ status: number; json: unknown }> {
    let name = "Visitor";
    try {
      const parsed = JSON.parse(text) as { name?: unknown };
      if (typeof parsed.name === "string" && parsed.name.trim() !== "")
        name = parsed.name.trim().slice(0, 40);
    } catch {
      // a visitor without a name
    }
    const reply = await fetch(`${options.api}/nereid-chat/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${options.apiKey}` },
      body: JSON.stringify({
        person: `visitor-${randomBytes(6).toString("hex")}`,
        name,
        role: "client",
        claim: true,
      }),
    });
    const json = (await reply.json()) as { token?: string; thread?: string; message?: string };
    if (!reply.ok) return { status: reply.status, json: { message: json.message } };
    return { status: 200, json: { token: json.token, thread: json.thread, api: options.api } };
  }

  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  return {
    url: `http://${options.host}:${options.port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
