import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP relay to a local port that a test can cut (every connection dropped, new ones refused
 * at once) and restore: a database or XMPP server going away, without stopping the real one
 * (which other test files share).
 */
export class TcpProxy {
  readonly #sockets = new Set<Socket>();
  #up = true;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const state = { proxy: undefined as TcpProxy | undefined };
    const server = createServer((client) => {
      const proxy = state.proxy!;
      if (!proxy.#up) {
        client.destroy();
        return;
      }
      const upstream = connect({ port: targetPort, host: "127.0.0.1" });
      for (const socket of [client, upstream]) {
        proxy.#sockets.add(socket);
        socket.on("close", () => proxy.#sockets.delete(socket));
        socket.on("error", () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    state.proxy = new TcpProxy(server, typeof address === "object" && address ? address.port : 0);
    return state.proxy;
  }

  /** Drops every connection and refuses new ones until restore(). */
  cut(): void {
    this.#up = false;
    for (const socket of this.#sockets) socket.destroy();
  }

  restore(): void {
    this.#up = true;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
