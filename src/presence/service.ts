import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Pool } from "../db/pool.js";
import type { ComponentLink } from "../xmpp/component-link.js";
import type { Router } from "../xmpp/router.js";
import { CallFlags } from "./calls.js";
import { ContactStore } from "./contacts.js";
import { PresenceHub } from "./hub.js";
import { Liveness } from "./liveness.js";

/** What every service shares about presence: the hub (sessions, visibility, addressing) and calls. */
export interface Presence {
  hub: PresenceHub;
  calls: CallFlags;
}

/**
 * Builds the presence core and ties it to the component connection: each time the link comes
 * online the component tells its subscribers it is there and probes them; after a reconnect it
 * also checks every device it knew, since any of them may have gone while it was away.
 */
export class PresenceCore implements Presence {
  readonly hub: PresenceHub;
  readonly calls: CallFlags;
  readonly #liveness: Liveness;
  #timer: NodeJS.Timeout | undefined;
  #wasOnline = false;

  constructor(
    private readonly config: Config,
    private readonly link: ComponentLink,
    router: Router,
    db: Pool,
    private readonly log: Logger,
  ) {
    const componentJid = config.component.jid;
    this.hub = new PresenceHub({ wire: link, componentJid, contacts: new ContactStore(db), log });
    this.calls = new CallFlags({
      hub: this.hub,
      componentJid,
      timeoutMs: config.presence.in_call_timeout_ms,
      log,
    });
    this.#liveness = new Liveness({
      caller: router.caller,
      devices: () => [...this.hub.book.directDevices()].map(([, device]) => device),
      gone: (device) => this.hub.dropDevice(device),
      from: componentJid,
      timeoutMs: config.presence.liveness_timeout_ms,
      log,
    });
    this.hub.install(router);
    this.calls.install(router);
    link.on("online", () => this.#online());
  }

  start(): void {
    const interval = this.config.presence.liveness_interval_ms;
    if (interval > 0) {
      this.#timer = setInterval(() => void this.#liveness.check(), interval);
      this.#timer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.calls.stop();
    if (this.link.state === "online") await this.hub.farewell();
  }

  #online(): void {
    const reconnect = this.#wasOnline;
    this.#wasOnline = true;
    this.hub
      .announce()
      .catch((error: unknown) =>
        this.log.warn({ err: error }, "could not announce presence to subscribers"),
      );
    if (reconnect) void this.#liveness.check();
  }
}
