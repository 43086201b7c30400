import cors from "@fastify/cors";
import formbody from "@fastify/formbody";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { within } from "../backoff.js";
import type { HttpOptions } from "../config.js";
import type { Service } from "../service.js";
import { HttpError, standingBy, toHttpError } from "./errors.js";

export interface HttpServerOptions {
  host: string;
  /** 0: any free port (the log line and `port` say which). */
  port: number;
  /** Take the client's address from X-Forwarded-For (behind a reverse proxy). */
  trustProxy: boolean;
  bodyLimit: number;
  /** Origins whose pages may call the endpoints (CORS); a request from any other is refused. */
  allowedOrigins: readonly string[];
  log: Logger;
}

/** The routes a service adds, inside its own plugin (so that the server's plugins are loaded). */
export type RoutePlugin = (scope: FastifyInstance) => Promise<void>;

/**
 * The daemon's HTTP server, shared by every service that has endpoints. One error path: every
 * failure is answered as `{statusCode, code, error, message[, field]}` (src/http/errors.ts).
 * Request lines are logged by route pattern, never by URL: URLs may carry tokens.
 */
export class HttpServer {
  readonly app: FastifyInstance;
  readonly #stopHooks: Array<() => void> = [];
  readonly #log: Logger;
  #stopping = false;
  #unrouted = () => new HttpError("NOT_FOUND", "no such endpoint");
  #admits: () => boolean = () => true;

  constructor(private readonly options: HttpServerOptions) {
    this.#log = options.log;
    this.app = Fastify({
      logger: false,
      trustProxy: options.trustProxy,
      bodyLimit: options.bodyLimit,
      forceCloseConnections: "idle",
      return503OnClosing: false,
    });
    const allowed = new Set(options.allowedOrigins);
    this.app.addHook("onRequest", (request, _reply, done) => {
      const origin = request.headers.origin;
      if (this.#stopping) done(new HttpError("SHUTTING_DOWN", "the service is shutting down"));
      else if (!this.#admits()) done(standingBy());
      else if (origin !== undefined && !allowed.has(origin)) {
        done(new HttpError("ORIGIN_NOT_ALLOWED", "this origin may not use the service", "origin"));
      } else done();
    });
    void this.app.register(cors, {
      origin: [...allowed],
      methods: ["GET", "POST", "DELETE"],
      allowedHeaders: ["Content-Type", "Last-Event-ID", "Authorization"],
      maxAge: 600,
    });
    void this.app.register(formbody, { bodyLimit: options.bodyLimit });
    this.app.setErrorHandler((failure, request, reply) => this.#fail(failure, request, reply));
    this.app.setNotFoundHandler((request, reply) => this.#fail(this.#unrouted(), request, reply));
    this.app.addHook("onResponse", async (request, reply) => {
      if (this.#log.isLevelEnabled("debug")) {
        this.#log.debug(
          {
            method: request.method,
            route: request.routeOptions.url ?? "(none)",
            status: reply.statusCode,
            ms: Math.round(reply.elapsedTime),
          },
          "http request",
        );
      }
    });
  }

  /** Adds a service's routes (call during install, before start). */
  routes(plugin: RoutePlugin): void {
    void this.app.register(plugin);
  }

  /** Asked for each request: false answers 503 STANDBY (this instance no longer leads). */
  admit(admits: () => boolean): void {
    this.#admits = admits;
  }

  /** What a request for a path no route serves is answered (default: 404 NOT_FOUND). */
  answerUnrouted(error: () => HttpError): void {
    this.#unrouted = error;
  }

  /** Runs at stop, before the server waits for its connections: end long-lived responses here. */
  onStop(hook: () => void): void {
    this.#stopHooks.push(hook);
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Takes no more requests (503 SHUTTING_DOWN) and ends long-lived responses, at once. */
  halt(): void {
    this.#stopping = true;
    this.#runStopHooks();
  }

  /** The port listened on (after start). */
  get port(): number {
    const address = this.app.server.address();
    return typeof address === "object" && address ? address.port : this.options.port;
  }

  async start(): Promise<void> {
    await this.app.listen({ host: this.options.host, port: this.options.port });
    this.#log.info({ host: this.options.host, port: this.port }, "http listening");
  }

  /** Stops taking requests, ends long-lived responses, and closes within `budgetMs`. */
  async stop(budgetMs: number): Promise<void> {
    this.#stopping = true;
    this.#runStopHooks();
    const closed = await within(
      this.app.close().then(() => true),
      budgetMs,
    );
    if (!closed) {
      this.app.server.closeAllConnections();
      this.#log.warn("http connections cut at shutdown");
    }
  }

  #runStopHooks(): void {
    for (const hook of this.#stopHooks.splice(0)) {
      try {
        hook();
      } catch (error) {
        this.#log.warn({ err: error }, "an http stop hook failed");
      }
    }
  }

  #fail(failure: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const { error, internal } = toHttpError(failure);
    if (internal) {
      this.#log.error(
        { err: failure, method: request.method, route: request.routeOptions.url ?? "(none)" },
        "http handler failed",
      );
    }
    return reply.code(error.statusCode).headers(error.headers).send(error.body());
  }
}

/** The server as a service: it listens once every other service has added its routes. */
export function httpService(server: HttpServer): Service {
  return {
    name: "http",
    install: () => undefined,
    start: () => server.start(),
    stop: (budgetMs) => server.stop(budgetMs),
    halt: () => server.halt(),
  };
}

/** The server of the configuration's http section. */
export function httpServerFor(http: HttpOptions, log: Logger): HttpServer {
  return new HttpServer({
    host: http.host,
    port: http.port,
    trustProxy: http.trustProxy,
    bodyLimit: http.maxBodyBytes,
    allowedOrigins: http.allowedOrigins,
    log: log.child({ svc: "http" }),
  });
}
