import { performance } from "node:perf_hooks";
import type { RawClient } from "./raw-client.js";
import { attr, startTag } from "./xml-scan.js";

export interface IqLoadOptions {
  /** The address every request goes to. */
  to: string;
  /** The iq's child element, e.g. `<query xmlns='http://jabber.org/protocol/disco#info'/>`. */
  payload: string;
  /** iq type of the requests; default "get". */
  type?: "get" | "set";
  /** Requests each client keeps in flight. */
  window: number;
  /** How long requests are issued; replies to them are awaited afterwards. */
  durationMs: number;
  /** How long to wait for the last replies before counting them as lost; default 5 s. */
  drainTimeoutMs?: number;
  /** A substring every correct result must contain (e.g. the payload namespace). */
  expect?: string;
  /** Keep every round-trip time (ms) of the measured interval. */
  recordLatency?: boolean;
  /** Stops issuing requests early. */
  signal?: AbortSignal;
}

export interface IqLoadResult {
  /** Correct results received while requests were being issued. */
  completed: number;
  /** Length of that interval, ms. */
  elapsedMs: number;
  /** completed / elapsed, per second. */
  throughput: number;
  /** Every reply received, including those after the interval (what the processes worked for). */
  replies: number;
  /** Replies that were wrong: not a result, wrong id, wrong sender, or missing `expect`. */
  errors: number;
  /** Requests never answered within the drain timeout. */
  lost: number;
  /** A few wrong replies, for the report. */
  errorSamples: string[];
  latenciesMs: number[];
}

let runCounter = 0;

/**
 * Pipelined iq round trips: each client keeps `window` requests in flight, sending a new request
 * for every reply, for `durationMs`; then waits for the outstanding replies. Every reply is
 * checked (type result, an id this client is waiting for, from the address asked).
 */
export async function runIqLoad(
  clients: readonly RawClient[],
  options: IqLoadOptions,
): Promise<IqLoadResult> {
  const run = ++runCounter;
  const { to, payload, window, expect, recordLatency = false } = options;
  const type = options.type ?? "get";
  const result: IqLoadResult = {
    completed: 0,
    elapsedMs: 0,
    throughput: 0,
    replies: 0,
    errors: 0,
    lost: 0,
    errorSamples: [],
    latenciesMs: [],
  };
  let issuing = true;
  let outstanding = 0;
  let drained: (() => void) | undefined;

  const wrong = (xml: string) => {
    result.errors += 1;
    if (result.errorSamples.length < 5) result.errorSamples.push(xml.slice(0, 500));
  };

  const states = clients.map((client, index) => {
    const sent = new Map<string, number>();
    const prefix = `b${run}c${index}-`;
    let seq = 0;
    const request = () => {
      const id = `${prefix}${++seq}`;
      sent.set(id, performance.now());
      outstanding += 1;
      return `<iq type='${type}' id='${id}' to='${to}'>${payload}</iq>`;
    };
    client.listen((xml) => {
      const now = performance.now();
      const tag = startTag(xml);
      const id = attr(tag, "id");
      const at = id === undefined ? undefined : sent.get(id);
      if (at === undefined || !tag.startsWith("<iq ")) return wrong(xml);
      sent.delete(id!);
      outstanding -= 1;
      result.replies += 1;
      if (
        attr(tag, "type") !== "result" ||
        attr(tag, "from") !== to ||
        (expect !== undefined && !xml.includes(expect))
      ) {
        wrong(xml);
      } else if (issuing) {
        result.completed += 1;
        if (recordLatency) result.latenciesMs.push(now - at);
      }
      if (issuing) client.send(request());
      else if (outstanding === 0) drained?.();
    });
    return { client, sent, request };
  });

  const started = performance.now();
  for (const { client, request } of states) {
    let burst = "";
    for (let i = 0; i < window; i += 1) burst += request();
    client.send(burst);
  }
  await abortableDelay(options.durationMs, options.signal);
  issuing = false;
  result.elapsedMs = performance.now() - started;
  result.throughput = (result.completed * 1000) / result.elapsedMs;

  if (outstanding > 0) {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      drained = resolve;
      timer = setTimeout(resolve, options.drainTimeoutMs ?? 5_000);
    });
    clearTimeout(timer);
  }
  result.lost = states.reduce((total, { sent }) => total + sent.size, 0);
  for (const { client } of states) client.listen(undefined);
  return result;
}

function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** One request and its reply (raw text), whatever its type; rejects after `timeoutMs`. */
export async function requestOnce(
  client: RawClient,
  to: string,
  payload: string,
  timeoutMs = 5_000,
): Promise<string> {
  const id = `once${++runCounter}`;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no reply from ${to} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      client.listen((xml) => {
        if (attr(startTag(xml), "id") === id) resolve(xml);
      });
      client.send(`<iq type='get' id='${id}' to='${to}'>${payload}</iq>`);
    });
  } finally {
    clearTimeout(timer);
    client.listen(undefined);
  }
}
