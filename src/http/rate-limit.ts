import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import { HttpError } from "./errors.js";

type Hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/**
 * A fixed-window request limit by key (an address, an API key, a token): at most `max` requests
 * per window, then 429 RATE_LIMITED with Retry-After until the window ends. A route may carry
 * several (@fastify/rate-limit runs only one per request, so it cannot limit by address and by
 * token at once). Memory: one entry per key seen in the current window; old ones are pruned.
 */
export class RateLimit {
  readonly #windows = new Map<string, { count: number; resetAt: number }>();
  #nextPrune = 0;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly what: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request for `key`; throws once the key is over its limit. */
  take(key: string): void {
    const now = this.now();
    if (now >= this.#nextPrune) this.#prune(now);
    let window = this.#windows.get(key);
    if (!window || now >= window.resetAt) {
      window = { count: 0, resetAt: now + this.windowMs };
      this.#windows.set(key, window);
    }
    window.count++;
    if (window.count > this.max) {
      const seconds = Math.max(1, Math.ceil((window.resetAt - now) / 1000));
      throw new HttpError("RATE_LIMITED", `${this.what}; retry in ${seconds} s`, undefined, {
        "Retry-After": String(seconds),
      });
    }
  }

  /** An onRequest hook counting by `key(request)`. */
  hook(key: (request: FastifyRequest) => string): Hook {
    return (request, _reply, done) => {
      try {
        this.take(key(request));
        done();
      } catch (error) {
        done(error as Error);
      }
    };
  }

  #prune(now: number): void {
    this.#nextPrune = now + this.windowMs;
    for (const [key, window] of this.#windows) if (now >= window.resetAt) this.#windows.delete(key);
  }
}
