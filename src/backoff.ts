import type { Logger } from "pino";

export interface BackoffPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * Exponential backoff with jitter: attempt 0 waits about `initialDelayMs`, each later attempt
 * about twice as long, capped at `maxDelayMs`. The jitter takes up to a quarter off so that many
 * daemons restarted together do not reconnect in step.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random = Math.random): number {
  const exponential = policy.initialDelayMs * 2 ** Math.min(attempt, 30);
  const capped = Math.min(policy.maxDelayMs, exponential);
  return Math.round(capped * (1 - 0.25 * random()));
}

/** What a failed step logs: its level and the cause in words an operator can act on. */
export interface FailureLine {
  level: "error" | "warn";
  message: string;
}

/**
 * The one retry policy of the daemon, for one thing that is retried (a connection, the database,
 * room creation): each failure waits longer than the one before, a success starts again from the
 * shortest wait, and every failure is one log line that says why and when the next try is.
 */
export class Backoff {
  #attempt = 0;

  constructor(
    readonly policy: BackoffPolicy,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failures since the last success. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Counts one more failure, logs it, and returns how long to wait before the next try. */
  failed({ level, message }: FailureLine, fields: Record<string, unknown> = {}): number {
    const delay = backoffDelay(this.#attempt++, this.policy, this.random);
    this.log[level](
      { ...fields, retryInMs: delay, attempt: this.#attempt },
      `${message}; retrying in ${formatDelay(delay)}`,
    );
    return delay;
  }

  succeeded(): void {
    this.#attempt = 0;
  }
}

/** Resolves after `ms`, or at once (without rejecting) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Resolves when the signal aborts (at once if it has). For a signal that outlives the wait, use
 * `watchAbort` and dispose of it, or listeners pile up on the signal. */
export function aborted(signal: AbortSignal): Promise<void> {
  return watchAbort(signal).promise;
}

/** A promise that resolves when the signal aborts, and a way to stop listening. */
export function watchAbort(signal: AbortSignal): { promise: Promise<void>; dispose(): void } {
  let dispose = () => {};
  const promise = new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => resolve();
    signal.addEventListener("abort", done, { once: true });
    dispose = () => signal.removeEventListener("abort", done);
  });
  return { promise, dispose };
}

/** `promise`, or `undefined` once `ms` have passed, whichever comes first. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>(
    (resolve) => (timer = setTimeout(() => resolve(undefined), ms)),
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
