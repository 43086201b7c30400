import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy between the daemon and a real server, which a test can cut, make silent, or
 * restore — the faults an operator meets: the server gone (connections reset, new ones
 * refused), or unreachable (a partition: connections open, nothing gets through).
 */
export class TcpProxy {
  #mode: "open" | "refuse" | "silent" = "open";
  readonly #pairs = new Set<{ client: Socket; upstream: Socket | undefined }>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {
    server.on("connection", (client) => this.#accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    return new TcpProxy(server, port, target);
  }

  /** The server is gone: every connection is reset, new ones are closed at once. */
  cut(): void {
    this.#mode = "refuse";
    for (const pair of this.#pairs) this.#drop(pair);
  }

  /** A partition: connections stay open but nothing gets through, either way. */
  silence(): void {
    this.#mode = "silent";
    for (const { client, upstream } of this.#pairs) {
      client.pause();
      upstream?.pause();
    }
  }

  /** Back to normal; connections left silent are dropped (their peer has long given up). */
  restore(): void {
    if (this.#mode === "silent") for (const pair of this.#pairs) this.#drop(pair);
    this.#mode = "open";
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    client.on("error", () => undefined);
    if (this.#mode === "refuse") {
      client.destroy();
      return;
    }
    const pair: { client: Socket; upstream: Socket | undefined } = { client, upstream: undefined };
    this.#pairs.add(pair);
    client.on("close", () => this.#drop(pair));
    if (this.#mode === "silent") {
      client.pause();
      return;
    }
    const upstream = connect(this.target);
    pair.upstream = upstream;
    upstream.on("error", () => undefined);
    upstream.on("close", () => this.#drop(pair));
    client.pipe(upstream);
    upstream.pipe(client);
  }

  #drop(pair: { client: Socket; upstream: Socket | undefined }): void {
    if (!this.#pairs.delete(pair)) return;
    pair.client.resetAndDestroy();
    pair.upstream?.resetAndDestroy();
  }
}
