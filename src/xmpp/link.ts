import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { Element } from "@xmpp/xml";
import type { Logger } from "pino";
import {
  Backoff,
  watchAbort,
  sleep,
  within,
  type BackoffPolicy,
  type FailureLine,
} from "../backoff.js";
import { LoginTimeoutError, betterCause, type ConnectionOutcome } from "./link-failures.js";
import { redactXml } from "../log.js";
import { IqCaller } from "./iq-caller.js";

/**
 * idle → connecting → online → waiting → connecting … ; stop() from any of them → stopping →
 * stopped. `waiting` is the backoff pause between two attempts.
 */
export type LinkState = "idle" | "connecting" | "online" | "waiting" | "stopping" | "stopped";

export class NotConnectedError extends Error {
  constructor() {
    super("not connected to the XMPP server");
    this.name = "NotConnectedError";
  }
}

/** A stanza larger than the server takes from us: sending it would cost the whole connection. */
export class StanzaTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`a stanza of ${bytes} bytes is more than the ${limit} the server takes`);
    this.name = "StanzaTooLargeError";
  }
}

/** What a transport tells the link about its connection. */
export interface SessionHooks {
  stanza: (element: Element) => void;
  /** Raw input, for trace logging (only set when trace is on). */
  input?: (text: string) => void;
  /** An error the library reported; the link keeps the one that best explains the end. */
  cause: (error: unknown) => void;
  /** The socket has closed (or never opened). */
  closed: () => void;
}

/** One connection attempt of a transport. */
export interface Session {
  /** Connects and logs in; resolves once online. */
  readonly login: Promise<void>;
  /** The TCP socket once connected: for backpressure and for the hard stop. */
  readonly socket: Socket | null | undefined;
  /** Writes one stanza; `text` is its serialization, made once by the link. */
  write(element: Element, text: string): void;
  /** Closes the stream politely (the library bounds each step itself). */
  close(): Promise<void>;
}

/** A kind of XMPP connection (component, client): how to open one and how to explain its end. */
export interface Transport {
  /** What this connection is, for log lines: "component", "bot". */
  readonly name: string;
  /** The address this side connects as, for log lines. */
  readonly jid: string;
  open(hooks: SessionHooks): Session;
  describe(outcome: ConnectionOutcome): FailureLine;
}

export interface LinkOptions {
  policy: BackoffPolicy;
  /** The bound on connecting and logging in. */
  loginTimeoutMs: number;
  /**
   * The largest stanza the server takes from this connection (Prosody closes a component's
   * stream over 512 KiB). Larger ones are refused with StanzaTooLargeError, not written.
   */
  maxStanzaBytes?: number;
  /** Counts every stanza written, by kind (metrics). */
  sent?: (kind: string) => void;
  /**
   * Whether this instance may act now (active/standby: it still holds the lease). Asked before
   * each stanza is written or handled; false makes the link behave as offline.
   */
  acting?: () => boolean;
  log: Logger;
}

interface LinkEvents {
  state: [LinkState];
  online: [];
  offline: [];
  stanza: [Element];
  /** A connection failed or was lost: the log line's words (for /readyz). */
  failure: [message: string];
}

/** How long stop() waits for a polite close before it cuts the socket. */
const POLITE_CLOSE_MS = 1_500;

/**
 * One XMPP connection kept up until stop(): connect, log in (bounded), stay online, and after
 * each end one log line with the cause and a backoff wait. Outbound iqs go through `caller`,
 * whose pending requests are rejected the moment the connection drops.
 *
 * stop() works in every state and is bounded: a polite close while online, then the socket is
 * destroyed whatever the library is doing. Nothing here calls back into the library from its own
 * event listeners (xmpp.js re-enters itself from `disconnect` handlers in a loop that never
 * yields).
 */
export class Link extends EventEmitter<LinkEvents> {
  readonly caller: IqCaller;
  #state: LinkState = "idle";
  #session: Session | undefined;
  #loop: Promise<void> | undefined;
  readonly #stopping = new AbortController();
  #corked = false;
  #halted = false;

  constructor(
    private readonly transport: Transport,
    private readonly options: LinkOptions,
  ) {
    super();
    this.caller = new IqCaller((element) => this.send(element));
  }

  get state(): LinkState {
    return this.#state;
  }

  get online(): boolean {
    return this.#state === "online";
  }

  get jid(): string {
    return this.transport.jid;
  }

  /** Starts connecting in the background; the link keeps itself connected until stop(). */
  start(): void {
    if (this.#state === "idle") this.#loop = this.#run();
  }

  /** Resolves with true once online, or with false when the signal aborts or the link stops. */
  waitOnline(signal?: AbortSignal): Promise<boolean> {
    if (this.online) return Promise.resolve(true);
    if (signal?.aborted || this.#state === "stopped") return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (online: boolean) => {
        this.off("online", onOnline);
        this.off("state", onState);
        signal?.removeEventListener("abort", onAbort);
        resolve(online);
      };
      const onOnline = () => done(true);
      const onState = (state: LinkState) => state === "stopped" && done(false);
      const onAbort = () => done(false);
      this.on("online", onOnline);
      this.on("state", onState);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Writes a stanza; throws NotConnectedError unless online, and StanzaTooLargeError (writing
   * nothing) for one the server would close the stream over.
   */
  send(element: Element): void {
    const session = this.#session;
    if (this.#state !== "online" || !session || !this.#acting()) throw new NotConnectedError();
    const text = element.toString();
    const limit = this.options.maxStanzaBytes;
    // A UTF-8 character is at most 4 bytes: most stanzas need no byte count.
    if (limit !== undefined && text.length * 4 > limit) {
      const bytes = Buffer.byteLength(text);
      if (bytes > limit) throw new StanzaTooLargeError(bytes, limit);
    }
    if (this.options.log.isLevelEnabled("trace")) {
      this.options.log.trace({ xml: redactXml(text) }, "out");
    }
    const socket = session.socket;
    if (socket && !this.#corked) {
      // Stanzas produced in one turn of the event loop leave in one write, not one syscall each.
      this.#corked = true;
      socket.cork();
      setImmediate(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    session.write(element, text);
    this.options.sent?.(element.name);
  }

  /** Sends an iq get/set and resolves with the result; an error reply rejects with StanzaError. */
  request(iq: Element, timeoutMs?: number): Promise<Element> {
    return this.caller.request(iq, timeoutMs);
  }

  /** True when the socket's buffer is full: fan-outs await drained() before going on. */
  get congested(): boolean {
    return this.#session?.socket?.writableNeedDrain ?? false;
  }

  drained(): Promise<void> {
    const socket = this.#session?.socket;
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

  /**
   * Cuts the connection at once, with no goodbye, and stops reconnecting (the instance must stop
   * acting now: it no longer holds the lease). Synchronous: nothing read after it is handled.
   */
  halt(): void {
    this.#halted = true;
    this.#stopping.abort();
    this.#session?.socket?.destroy();
  }

  /** Stops in any state within about `timeoutMs`: polite close if online, then the socket is cut. */
  async stop(timeoutMs = POLITE_CLOSE_MS + 500): Promise<void> {
    if (this.#state === "stopped") return;
    const session = this.#session;
    const wasOnline = this.#state === "online" && !this.#halted;
    this.#setState("stopping");
    this.#stopping.abort();
    if (session && wasOnline) await within(session.close(), Math.min(POLITE_CLOSE_MS, timeoutMs));
    session?.socket?.destroy();
    if (this.#loop) await within(this.#loop, Math.max(0, timeoutMs - POLITE_CLOSE_MS));
    this.#setState("stopped");
  }

  async #run(): Promise<void> {
    const backoff = new Backoff(this.options.policy, this.options.log);
    const signal = this.#stopping.signal;
    while (!signal.aborted && this.#acting()) {
      this.#setState("connecting");
      const outcome = await this.#connectOnce();
      if (signal.aborted) break;
      if (outcome.wasOnline) backoff.succeeded();
      this.#setState("waiting");
      const line = this.transport.describe(outcome);
      this.emit("failure", line.message);
      await sleep(backoff.failed(line), signal);
    }
  }

  /** One connection, from TCP connect to its end. Resolves once its socket has closed. */
  async #connectOnce(): Promise<ConnectionOutcome> {
    const { log, loginTimeoutMs } = this.options;
    const outcome: ConnectionOutcome = { wasOnline: false, cause: undefined };
    let onClosed!: () => void;
    const closed = new Promise<void>((resolve) => (onClosed = resolve));
    const session = this.transport.open({
      stanza: (element) => this.#receive(element),
      cause: (error) => (outcome.cause = betterCause(outcome.cause, error)),
      closed: () => onClosed(),
      ...(log.isLevelEnabled("trace")
        ? { input: (text: string) => log.trace({ xml: redactXml(text) }, "in") }
        : {}),
    });
    this.#session = session;
    const stopWatch = watchAbort(this.#stopping.signal);
    const stop = stopWatch.promise;
    const loginTimer = new AbortController();
    try {
      const loggedIn = await Promise.race([
        session.login.then(() => true),
        stop.then(() => false),
        sleep(loginTimeoutMs, loginTimer.signal).then(() => {
          if (!loginTimer.signal.aborted) throw new LoginTimeoutError(loginTimeoutMs);
          return false;
        }),
      ]).finally(() => loginTimer.abort());
      if (loggedIn && !this.#stopping.signal.aborted) {
        outcome.wasOnline = true;
        this.#setState("online");
        log.info({ jid: this.transport.jid }, `${this.transport.name} online`);
        this.emit("online");
        await Promise.race([closed, stop]);
      }
    } catch (error) {
      outcome.cause = betterCause(outcome.cause, error);
    } finally {
      stopWatch.dispose();
    }
    // However it ended, the socket goes: a half-closed one would linger until the server's timeout.
    session.login.catch(() => undefined);
    if (!this.#stopping.signal.aborted || !outcome.wasOnline) session.socket?.destroy();
    await within(closed, 1_000);
    this.#session = undefined;
    if (outcome.wasOnline) {
      this.caller.rejectAll(new NotConnectedError());
      this.emit("offline");
    }
    return outcome;
  }

  #acting(): boolean {
    return this.options.acting?.() ?? true;
  }

  #receive(element: Element): void {
    if (this.#halted || !this.#acting()) return;
    if (
      element.name === "iq" &&
      (element.attrs.type === "result" || element.attrs.type === "error")
    ) {
      if (this.caller.accept(element)) return;
    }
    this.emit("stanza", element);
  }

  #setState(state: LinkState): void {
    if (this.#state === state || this.#state === "stopped") return;
    this.#state = state;
    this.emit("state", state);
  }
}
