/**
 * The combined presence of one user over all of their devices. Pure: no clock, no I/O.
 *
 * The rule (the README's "Presence" section says the same in words):
 * 1. A user with no device online is offline.
 * 2. A device's state is either chosen by the user ("hand-set") or set by the device's idle timer
 *    (it carries XEP-0319 `<idle/>`). A device keeps the hand-set state it had while it is idle.
 * 3. If at least one device is not idle, the user shows the hand-set state that was chosen last
 *    among the devices that are not idle. A device coming back from idle to the state it had
 *    before is not a new choice; re-sending the same state is not one either.
 * 4. If every device is idle, the user shows the most chatty of their states.
 * States go from least to most chatty: offline < dnd < xa < away < online < chat.
 */

export const SHOWS = ["offline", "dnd", "xa", "away", "online", "chat"] as const;
export type Show = (typeof SHOWS)[number];
/** What a connected device can report: a device that reports offline is gone. */
export type DeviceShow = Exclude<Show, "offline">;

export const DEVICE_SHOWS: readonly DeviceShow[] = ["dnd", "xa", "away", "online", "chat"];

export function chattiness(show: Show): number {
  return SHOWS.indexOf(show);
}

/** What one presence stanza from a device says. */
export interface DeviceReport {
  show: DeviceShow;
  /** Set by the device's idle timer rather than by the user. */
  idle: boolean;
  /** The presence's `<status/>` text, if it had one (shown to admins; no rule reads it). */
  status?: string;
}

/** One device as the aggregation remembers it. */
export interface Device {
  show: DeviceShow;
  idle: boolean;
  /** The last state the user chose on this device, if any yet. */
  handSet: DeviceShow | undefined;
  /** When that choice was made, as an increasing sequence number (0 if never). */
  chosenAt: number;
}

/** The device after `report`; `seq` must be larger than any sequence number given before. */
export function applyReport(
  previous: Device | undefined,
  report: DeviceReport,
  seq: number,
): Device {
  if (report.idle) {
    return {
      show: report.show,
      idle: true,
      handSet: previous?.handSet,
      chosenAt: previous?.chosenAt ?? 0,
    };
  }
  const sameChoice = previous?.handSet === report.show;
  return {
    show: report.show,
    idle: false,
    handSet: report.show,
    chosenAt: sameChoice ? previous.chosenAt : seq,
  };
}

export function combine(devices: Iterable<Device>): Show {
  let latestActive: Device | undefined;
  let chattiestIdle: DeviceShow | undefined;
  for (const device of devices) {
    if (device.idle) {
      if (chattiestIdle === undefined || chattiness(device.show) > chattiness(chattiestIdle)) {
        chattiestIdle = device.show;
      }
    } else if (latestActive === undefined || laterChoice(device, latestActive)) {
      latestActive = device;
    }
  }
  return latestActive?.show ?? chattiestIdle ?? "offline";
}

/** Later choice first; equal times (never produced by applyReport) go to the chattier state. */
function laterChoice(a: Device, b: Device): boolean {
  if (a.chosenAt !== b.chosenAt) return a.chosenAt > b.chosenAt;
  return chattiness(a.show) > chattiness(b.show);
}
