/**
 * The presence benchmark's server part: one user's presence change reaching the devices of the
 * members of a NEERC room through Prosody, from Concierge and from the presence floor.
 */
import { performance } from "node:perf_hooks";
import { escapeLocal } from "../src/presence/stanzas.js";
import type { RawClient } from "./raw-client.js";
import { progress } from "./stats.js";
import {
  fanoutTally,
  fanoutTrial,
  type FanoutTally,
  type TargetName,
  type TrialResult,
  type TrialRun,
} from "./tally.js";
import { attr, startTag } from "./xml-scan.js";

export const NS_PRESENCE = "urn:concierge:presence:0";
export const NS_IDLE = "urn:xmpp:idle:1";

/** The two states a trial alternates between: idle away (XEP-0319) and plain available. */
export type TrialShow = "away" | "online";

/** A fan-out target: where the changing device sends its presence (`jid`), and more. */
export interface PresenceTally extends FanoutTally {
  /** The sender of the presence the observers receive. */
  from: string;
  /** Bytes of one presence as an observer received it, by show. */
  stanzaBytes: Partial<Record<TrialShow, number>>;
}

export function presenceTally(name: TargetName, jid: string, from: string): PresenceTally {
  return { ...fanoutTally(name, jid, undefined), from, stanzaBytes: {} };
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

export interface TrialOptions extends TrialRun {
  changer: RawClient;
  observers: readonly RawClient[];
  show: TrialShow;
}

/**
 * One change: the changing device sends its presence to the target; resolves once every observer
 * has received the target's presence for the changing user with the new show.
 */
export async function presenceTrial(
  target: PresenceTally,
  options: TrialOptions,
): Promise<TrialResult<void>> {
  const { changer, observers, show, ...run } = options;
  const result = await fanoutTrial(target, {
    ...run,
    recipients: observers,
    match: (xml) =>
      xml.startsWith("<presence") &&
      attr(startTag(xml), "from") === target.from &&
      markerShow(xml) === show,
    cause: () => {
      changer.send(changeStanza(target.jid, show));
      return Promise.resolve();
    },
    timeoutMs: 30_000,
  });
  target.stanzaBytes[show] = target.messageBytes;
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
