export type SignalHandler = (signal: NodeJS.Signals) => void;

/**
 * SIGTERM and SIGINT, caught from the process's first moment and handed on to whoever runs the
 * daemon. The listeners are never removed and re-added: a signal that arrives while the main
 * thread is busy is only read by the event loop later, and a listener removed in between would
 * lose it (the process would neither stop nor die).
 */
export class Signals {
  #pending: NodeJS.Signals | undefined;
  #handler: SignalHandler | undefined;
  readonly #relay = (signal: NodeJS.Signals) => {
    if (this.#handler) this.#handler(signal);
    else this.#pending ??= signal;
  };

  constructor() {
    process.on("SIGTERM", this.#relay);
    process.on("SIGINT", this.#relay);
  }

  /** Hands signals to `handler` (one that came meanwhile at once) until the returned call. */
  take(handler: SignalHandler): () => void {
    this.#handler = handler;
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending) handler(pending);
    return () => {
      if (this.#handler === handler) this.#handler = undefined;
    };
  }

  /** For commands without a graceful stop: the runtime's default, for a signal that came too. */
  release(): void {
    process.off("SIGTERM", this.#relay);
    process.off("SIGINT", this.#relay);
    if (this.#pending) process.kill(process.pid, this.#pending);
  }
}
