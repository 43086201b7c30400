import { EventEmitter } from "node:events";
import { Component } from "@xmpp/component-core";
import type { Element } from "@xmpp/xml";
import type { Logger } from "pino";
import type { BackoffPolicy } from "../backoff.js";
import { redactXml } from "../log.js";
import { keepConnected, type ConnectionOutcome } from "./reconnect-loop.js";

export type LinkState = "idle" | "connecting" | "online" | "waiting" | "stopped";

export interface ComponentLinkOptions {
  host: string;
  port: number;
  /** The component's JID, a domain such as concierge.example.org. */
  domain: string;
  secret: string;
  reconnect: BackoffPolicy;
  log: Logger;
}

export class NotConnectedError extends Error {
  constructor() {
    super("the component is not connected to the server");
    this.name = "NotConnectedError";
  }
}

interface LinkEvents {
  state: [LinkState];
  online: [];
  offline: [];
  stanza: [Element];
}

/**
 * The XEP-0114 connection, with a reconnect policy of our own: exponential backoff with jitter
 * whatever the cause, and one log line per attempt that says what went wrong in words an operator
 * can act on (wrong secret, another process already connected, server unreachable).
 */
export class ComponentLink extends EventEmitter<LinkEvents> {
  #state: LinkState = "idle";
  #corked = false;
  #entity: Component | undefined;
  #loop: Promise<void> | undefined;
  readonly #stopping = new AbortController();

  constructor(private readonly options: ComponentLinkOptions) {
    super();
  }

  get state(): LinkState {
    return this.#state;
  }

  get jid(): string {
    return this.options.domain;
  }

  /** Starts connecting in the background; the link keeps itself connected until stop(). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Resolves once online, or when the signal aborts (then with false). */
  async waitOnline(signal?: AbortSignal): Promise<boolean> {
    if (this.#state === "online") return true;
    if (signal?.aborted) return false;
    return new Promise((resolve) => {
      const done = (online: boolean) => {
        this.off("online", onOnline);
        signal?.removeEventListener("abort", onAbort);
        resolve(online);
      };
      const onOnline = () => done(true);
      const onAbort = () => done(false);
      this.on("online", onOnline);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Writes a stanza; throws NotConnectedError while offline. */
  send(element: Element): void {
    const socket = this.#entity?.socket;
    if (this.#state !== "online" || !socket) throw new NotConnectedError();
    const text = element.toString();
    if (this.options.log.isLevelEnabled("trace")) {
      this.options.log.trace({ xml: redactXml(text) }, "out");
    }
    if (!this.#corked) {
      // Replies produced in one turn of the event loop leave in one write, not one syscall each.
      this.#corked = true;
      socket.cork();
      setImmediate(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    socket.write(text);
  }

  /** True when the socket's buffer is full: fan-outs should await drained() before going on. */
  get congested(): boolean {
    return this.#entity?.socket?.writableNeedDrain ?? false;
  }

  drained(): Promise<void> {
    const socket = this.#entity?.socket;
    if (!socket?.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        socket.off("drain", done);
        socket.off("close", done);
        resolve();
      };
      socket.on("drain", done);
      socket.on("close", done);
    });
  }

  /** Closes the stream politely (bounded by xmpp.js's 2 s close timeout) and stops reconnecting. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    const entity = this.#entity;
    if (entity && entity.status !== "disconnect" && entity.status !== "offline") {
      try {
        await entity.stop();
      } catch {
        entity.socket?.destroy();
      }
    }
    await this.#loop;
    this.#setState("stopped");
  }

  #run(): Promise<void> {
    return keepConnected({
      connectOnce: () => this.#connectOnce(),
      describe: (outcome) => describeFailure(outcome, this.options),
      policy: this.options.reconnect,
      log: this.options.log,
      signal: this.#stopping.signal,
      onConnecting: () => this.#setState("connecting"),
      onWaiting: () => this.#setState("waiting"),
    });
  }

  /** One connection, from TCP connect to its end. Resolves when the socket has closed. */
  async #connectOnce(): Promise<ConnectionOutcome> {
    const { host, port, domain, secret, log } = this.options;
    const service = `xmpp://${host}:${port}`;
    const entity = new Component({ service, domain });
    this.#entity = entity;
    const outcome: ConnectionOutcome = { wasOnline: false, cause: undefined };
    const note = (error: unknown) => {
      // A stream error names the real cause; the generic failures that follow it do not.
      if (outcome.cause === undefined || isStreamError(error)) {
        if (!isStreamError(outcome.cause)) outcome.cause = error;
      }
    };
    const closed = new Promise<void>((resolve) => entity.once("disconnect", () => resolve()));

    entity.on("error", note);
    entity.on("stanza", (stanza: Element) => this.emit("stanza", stanza));
    entity.on("open", (header: Element) => {
      entity.authenticate(String(header.attrs.id), secret).catch(note);
    });
    entity.on("online", () => {
      outcome.wasOnline = true;
      this.#setState("online");
      log.info({ jid: domain, server: service }, "component online");
      this.emit("online");
    });
    if (log.isLevelEnabled("trace")) {
      entity.on("input", (text: string) => log.trace({ xml: redactXml(text) }, "in"));
    }

    try {
      await entity.connect(service);
      await entity.open({ domain });
    } catch (error) {
      note(error);
      entity.socket?.destroy();
    }
    await closed;
    entity.removeAllListeners();
    entity.on("error", () => {});
    this.#entity = undefined;
    if (outcome.wasOnline) this.emit("offline");
    return outcome;
  }

  #setState(state: LinkState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit("state", state);
  }
}

function isStreamError(error: unknown): error is Error & { condition: string } {
  return error instanceof Error && error.name === "StreamError" && "condition" in error;
}

function describeFailure(
  { wasOnline, cause }: ConnectionOutcome,
  { domain, host, port }: ComponentLinkOptions,
): { level: "error" | "warn"; message: string } {
  if (isStreamError(cause)) {
    switch (cause.condition) {
      case "not-authorized":
        return {
          level: "error",
          message:
            "component secret rejected by the server (compare component.secret with its component_secret)",
        };
      case "conflict":
        return { level: "error", message: `another process is connected as ${domain}` };
      case "host-unknown":
        return { level: "error", message: `the server has no component ${domain} configured` };
      default:
        return { level: "warn", message: `the server closed the stream (${cause.condition})` };
    }
  }
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") {
    return { level: "warn", message: `cannot reach the XMPP server at ${host}:${port} (${code})` };
  }
  if (wasOnline) return { level: "warn", message: "connection to the XMPP server lost" };
  const reason = cause instanceof Error ? cause.message : "connection closed";
  return { level: "warn", message: `could not connect as ${domain} (${reason})` };
}
