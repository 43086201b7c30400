import type { Logger } from "pino";
import { backoffDelay, formatDelay, sleep, type BackoffPolicy } from "../backoff.js";

/** How one connection ended: whether it had been online, and the first error that explains it. */
export interface ConnectionOutcome {
  wasOnline: boolean;
  cause: unknown;
}

export interface ReconnectLoopOptions {
  /** Opens one connection and resolves when it has closed again. */
  connectOnce(): Promise<ConnectionOutcome>;
  /** The one log line for a failed or lost connection, in words an operator can act on. */
  describe(outcome: ConnectionOutcome): { level: "error" | "warn"; message: string };
  policy: BackoffPolicy;
  log: Logger;
  signal: AbortSignal;
  onConnecting?(): void;
  onWaiting?(): void;
}

/**
 * Keeps a connection up until the signal aborts: after each end, one log line and a wait that
 * doubles (with jitter, capped) while attempts keep failing, and starts again from the shortest
 * wait once a connection had come online.
 */
export async function keepConnected(options: ReconnectLoopOptions): Promise<void> {
  const { policy, log, signal } = options;
  let attempt = 0;
  while (!signal.aborted) {
    options.onConnecting?.();
    const outcome = await options.connectOnce();
    if (signal.aborted) break;
    if (outcome.wasOnline) attempt = 0;
    const delay = backoffDelay(attempt++, policy);
    options.onWaiting?.();
    const { level, message } = options.describe(outcome);
    log[level]({ retryInMs: delay, attempt }, `${message}; retrying in ${formatDelay(delay)}`);
    await sleep(delay, signal);
  }
}
