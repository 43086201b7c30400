import { performance } from "node:perf_hooks";
import type { RawClient } from "./raw-client.js";

export interface ArrivalOptions {
  /** True for the stanza every client waits for. */
  match: (xml: string) => boolean;
  /** Default 10 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Arrivals {
  /** When each client's first matching stanza arrived (performance.now()), in client order. */
  times: Float64Array;
  /** Matching stanzas after a client's first, while the others were still awaited. */
  duplicates: number;
  /** Stanzas that did not match (including any queued before the watch began). */
  others: number;
  /** A few of those, for diagnostics. */
  otherSamples: string[];
  /** The first matching stanza, raw. */
  sample: string;
}

/**
 * Message counting for fan-outs: listens on every client until each has received one stanza that
 * `match`es, and records when. Call it right before causing the fan-out (the listeners are in
 * place when it returns), then await the promise. Rejects after the timeout with how many clients
 * were reached; every listener is removed either way.
 */
export function watchArrivals(
  clients: readonly RawClient[],
  options: ArrivalOptions,
): Promise<Arrivals> {
  const { match, timeoutMs = 10_000, signal } = options;
  const times = new Float64Array(clients.length).fill(Number.NaN);
  const result: Arrivals = { times, duplicates: 0, others: 0, otherSamples: [], sample: "" };
  let reached = 0;
  let done = false;
  return new Promise<Arrivals>((resolve, reject) => {
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      for (const client of clients) client.listen(undefined);
      if (error) reject(error);
      else resolve(result);
    };
    const onAbort = () => finish(signal!.reason as Error);
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `${reached} of ${clients.length} clients received the awaited stanza within ` +
              `${timeoutMs} ms (${result.others} other stanzas, e.g. ${result.otherSamples[0]})`,
          ),
        ),
      timeoutMs,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (clients.length === 0) return finish();
    clients.forEach((client, index) => {
      if (done) return;
      client.listen((xml) => {
        const now = performance.now();
        if (done) return;
        if (!match(xml)) {
          result.others += 1;
          if (result.otherSamples.length < 3) result.otherSamples.push(xml.slice(0, 300));
        } else if (!Number.isNaN(times[index]!)) {
          result.duplicates += 1;
        } else {
          times[index] = now;
          if (reached === 0) result.sample = xml;
          reached += 1;
          if (reached === clients.length) finish();
        }
      });
    });
  });
}
