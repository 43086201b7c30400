/**
 * The presence benchmark's server part: one user's presence change reaching the devices of the
 * members of a NEERC room through Prosody, from Concierge and from the presence floor.
 */
import { performance } from "node:perf_hooks";
import { escapeLocal } from "../src/presence/stanzas.js";
import { watchArrivals } from "./arrivals.js";
import { CpuMeter } from "./proc-cpu.js";
import type { RawClient } from "./raw-client.js";
import { addCpu } from "./neerc-steps.js";
import { progress } from "./stats.js";
import { attr, startTag } from "./xml-scan.js";

export const NS_PRESENCE = "urn:concierge:presence:0";
export const NS_IDLE = "urn:xmpp:idle:1";

/** The two states a trial alternates between: idle away (XEP-0319) and plain available. */
export type TrialShow = "away" | "online";

export type TargetName = "floor" | "concierge";

export interface FanoutTarget {
  name: TargetName;
  /** Where the changing device sends its presence. */
  jid: string;
  /** The sender of the presence the observers receive. */
  from: string;
  pid: number | undefined;
  lastMs: number[];
  firstMs: number[];
  cpuMs: Record<string, number>;
  /** Bytes of one presence as an observer received it, by show. */
  stanzaBytes: Partial<Record<TrialShow, number>>;
  others: number;
  duplicates: number;
}

export function fanoutTarget(name: TargetName, jid: string, from: string): FanoutTarget {
  return {
    name,
    jid,
    from,
    pid: undefined,
    lastMs: [],
    firstMs: [],
    cpuMs: {},
    stanzaBytes: {},
    others: 0,
    duplicates: 0,
  };
}

/** Where a user's combined presence comes from at a component: `user\40domain@component`. */
export function mirrorAt(user: string, component: string): string {
  return `${escapeLocal(user)}@${component}`;
}

/** The presence the changing device sends to `to` for `show`. */
export function changeStanza(to: string, show: TrialShow): string {
  if (show === "online") return `<presence to='${to}'/>`;
  return (
    `<presence to='${to}'><show>away</show>` +
    `<idle xmlns='${NS_IDLE}' since='${new Date(Date.now() - 300_000).toISOString()}'/></presence>`
  );
}

/** The `show` of a combined presence's `<x xmlns='urn:concierge:presence:0'/>`, if any. */
export function markerShow(xml: string): string | undefined {
  const at = xml.indexOf("<x ");
  return at < 0 ? undefined : attr(startTag(xml.slice(at)), "show");
}

/** The children of a presence stanza, as raw XML. */
export function presencePayload(stanza: string): string {
  const end = stanza.lastIndexOf("</presence>");
  if (end < 0) throw new Error(`a presence without children: ${stanza}`);
  return stanza.slice(startTag(stanza).length, end);
}

export interface TrialOptions {
  changer: RawClient;
  observers: RawClient[];
  show: TrialShow;
  pids: Record<string, number | undefined>;
  measured: boolean;
  signal: AbortSignal;
}

export interface TrialResult {
  lastMs: number;
  firstMs: number;
  sample: string;
}

/**
 * One change: the changing device sends its presence to the target; resolves once every observer
 * has received the target's presence for the changing user with the new show.
 */
export async function fanoutTrial(
  target: FanoutTarget,
  options: TrialOptions,
): Promise<TrialResult> {
  const { changer, observers, show, signal } = options;
  const meter = new CpuMeter(options.pids);
  const before = meter.snapshot();
  const arrivals = watchArrivals(observers, {
    match: (xml) =>
      xml.startsWith("<presence") &&
      attr(startTag(xml), "from") === target.from &&
      markerShow(xml) === show,
    timeoutMs: 30_000,
    signal,
  });
  const start = performance.now();
  changer.send(changeStanza(target.jid, show));
  const { times, others, duplicates, otherSamples, sample } = await arrivals;
  const used = CpuMeter.since(before, meter.snapshot());
  if (others > 0) progress(`${target.name}: ${others} unexpected stanzas, e.g. ${otherSamples[0]}`);
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const time of times) {
    first = Math.min(first, time);
    last = Math.max(last, time);
  }
  const result = { lastMs: last - start, firstMs: first - start, sample };
  target.stanzaBytes[show] = Buffer.byteLength(sample);
  target.others += others;
  target.duplicates += duplicates;
  if (options.measured) {
    target.lastMs.push(result.lastMs);
    target.firstMs.push(result.firstMs);
    addCpu(target.cpuMs, used);
  }
  // Let the changing device's own copy (Concierge sends it one) pass before the next trial.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return result;
}

/**
 * Counts the combined presences reaching a set of clients while they come online, so that the
 * set-up can wait until every device has seen every other one (n × (n − 1) stanzas and more)
 * before anything is measured. Nothing is kept: thousands of clients × thousands of stanzas.
 */
export class PresenceCounter {
  count = 0;
  #lastAt = performance.now();

  constructor(private readonly component: string) {}

  /** A listener for RawClient.listen(). */
  readonly listener = (xml: string): void => {
    if (!xml.startsWith("<presence")) return;
    const from = attr(startTag(xml), "from");
    if (from?.endsWith(`@${this.component}`)) {
      this.count += 1;
      this.#lastAt = performance.now();
    }
  };

  /**
   * Resolves once `expected` presences have arrived; after `quietMs` without any it gives up
   * (returning what it has) rather than wait for ever. Reports progress every 5 s.
   */
  async settle(expected: number, quietMs: number, signal: AbortSignal): Promise<number> {
    let reported = performance.now();
    while (this.count < expected) {
      signal.throwIfAborted();
      const now = performance.now();
      if (now - this.#lastAt > quietMs) break;
      if (now - reported > 5_000) {
        reported = now;
        progress(`  … ${this.count} of ${expected} presences delivered`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.count;
  }
}
