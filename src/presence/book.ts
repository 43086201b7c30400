import { applyReport, combine, type Device, type DeviceReport, type Show } from "./rules.js";

/** Where the component learned of a device: its own presence, or a MUC room it is in. */
export const DIRECT = "direct";

interface Session extends Device {
  status: string | undefined;
  /** Every source that currently says the device is online. */
  sources: Set<string>;
}

/** One online device, as admins see it. */
export interface DeviceView {
  device: string;
  show: Device["show"];
  idle: boolean;
  status: string | undefined;
  /** Where the component sees it: `direct` (its own presence) or the rooms that show it. */
  sources: string[];
}

export interface PresenceChange {
  user: string;
  previous: Show;
  current: Show;
}

export interface ReportOutcome {
  change: PresenceChange | undefined;
  /** The device had not sent presence to the component itself before this report. */
  newListener: boolean;
}

/**
 * Every user's online devices and combined presence. Pure bookkeeping: the hub feeds it with what
 * the stanzas say and acts on the changes it returns. A device stays online while any source
 * (the device's own presence to the component, or a room that shows it) says so.
 */
export class SessionBook {
  readonly #users = new Map<string, Map<string, Session>>();
  readonly #combined = new Map<string, Show>();
  #seq = 0;

  report(user: string, device: string, report: DeviceReport, source: string): ReportOutcome {
    let sessions = this.#users.get(user);
    if (!sessions) this.#users.set(user, (sessions = new Map<string, Session>()));
    const previous = sessions.get(device);
    const newListener = source === DIRECT && !previous?.sources.has(DIRECT);
    const sources = previous?.sources ?? new Set<string>();
    sources.add(source);
    // Field by field, not `{ ...applyReport(…), sources }`: V8 builds that object on a slow path
    // and every later read of it (listeners(), combine()) is slow too, 5× on report() alone.
    const { show, idle, handSet, chosenAt } = applyReport(previous, report, ++this.#seq);
    sessions.set(device, { show, idle, handSet, chosenAt, status: report.status, sources });
    return { change: this.#recombine(user), newListener };
  }

  /** `source` no longer shows the device; it goes offline when no source is left. */
  leave(user: string, device: string, source: string): PresenceChange | undefined {
    const session = this.#users.get(user)?.get(device);
    if (!session?.sources.delete(source)) return undefined;
    if (session.sources.size > 0) return undefined;
    return this.drop(user, device);
  }

  /** The device is gone, whatever its sources said (an error showed it, or it stopped answering). */
  drop(user: string, device: string): PresenceChange | undefined {
    const sessions = this.#users.get(user);
    if (!sessions?.delete(device)) return undefined;
    if (sessions.size === 0) this.#users.delete(user);
    return this.#recombine(user);
  }

  /** Every device `source` showed leaves it (a room the bot is no longer in). */
  leaveSource(source: string): Array<{ user: string; device: string; change?: PresenceChange }> {
    const left: Array<{ user: string; device: string; change?: PresenceChange }> = [];
    for (const [user, sessions] of [...this.#users]) {
      for (const [device, session] of [...sessions]) {
        if (!session.sources.has(source)) continue;
        const change = this.leave(user, device, source);
        if (!this.has(user, device)) left.push({ user, device, ...(change ? { change } : {}) });
      }
    }
    return left;
  }

  has(user: string, device: string): boolean {
    return this.#users.get(user)?.has(device) ?? false;
  }

  combined(user: string): Show {
    return this.#combined.get(user) ?? "offline";
  }

  /** The user's online devices (full JIDs). */
  devices(user: string): string[] {
    return [...(this.#users.get(user)?.keys() ?? [])];
  }

  /** The user's online devices with what they last said, by device address. */
  deviceViews(user: string): DeviceView[] {
    const sessions = this.#users.get(user);
    if (!sessions) return [];
    return [...sessions]
      .map(([device, s]) => ({
        device,
        show: s.show,
        idle: s.idle,
        status: s.status,
        sources: [...s.sources].sort(),
      }))
      .sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  }

  /** The devices that sent presence to the component themselves: they receive presence from it. */
  listeners(user: string): string[] {
    const sessions = this.#users.get(user);
    if (!sessions) return [];
    const found: string[] = [];
    for (const [device, session] of sessions) if (session.sources.has(DIRECT)) found.push(device);
    return found;
  }

  /** Every device known directly, as [user, device] pairs. */
  *directDevices(): Generator<[string, string]> {
    for (const [user, sessions] of this.#users) {
      for (const [device, session] of sessions) {
        if (session.sources.has(DIRECT)) yield [user, device];
      }
    }
  }

  get userCount(): number {
    return this.#users.size;
  }

  #recombine(user: string): PresenceChange | undefined {
    const previous = this.#combined.get(user) ?? "offline";
    const sessions = this.#users.get(user);
    const current = sessions ? combine(sessions.values()) : "offline";
    if (current === "offline") this.#combined.delete(user);
    else this.#combined.set(user, current);
    return current === previous ? undefined : { user, previous, current };
  }
}
