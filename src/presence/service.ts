import type { Config } from "../config.js";
import type { Service, ServiceContext } from "../service.js";
import type { BareJid, FullJid } from "../xmpp/jid.js";
import type { MucRoom } from "../xmpp/muc.js";
import type { PresenceChange } from "./book.js";
import { onlineForm, parseUser, userForm } from "./admin.js";
import { CallFlags } from "./calls.js";
import { ContactStore } from "./contacts.js";
import { PresenceHub } from "./hub.js";
import { Liveness } from "./liveness.js";
import type { Build, CallRecorder, PresencePort } from "./port.js";
import type { DeviceReport, Show } from "./rules.js";

/**
 * Presence across devices as a service: the hub (sessions, visibility, addressing), the in-call
 * flags and the liveness pings, tied to the component connection. Each time the link comes
 * online the component tells its subscribers it is there and probes them; after a reconnect it
 * also checks every device it knew, since any of them may have gone while it was away.
 *
 * It is installed before the other services, which reach it only through `port`.
 */
export class PresenceService implements Service, PresencePort {
  readonly name = "presence";
  #hub!: PresenceHub;
  #calls!: CallFlags;
  #liveness!: Liveness;
  #context!: ServiceContext;
  #timer: NodeJS.Timeout | undefined;
  #wasOnline = false;

  constructor(private readonly config: Config["presence"]) {}

  install(context: ServiceContext): void {
    this.#context = context;
    const { link, router, db, log } = context;
    const componentJid = context.config.component.jid;
    this.#hub = new PresenceHub({ wire: link, componentJid, contacts: new ContactStore(db), log });
    this.#calls = new CallFlags({
      hub: this.#hub,
      componentJid,
      timeoutMs: this.config.inCallTimeoutMs,
      log,
    });
    this.#liveness = new Liveness({
      link,
      devices: () => this.#hub.checkedDevices(),
      gone: (device) => this.#hub.dropDevice(device),
      from: componentJid,
      timeoutMs: this.config.livenessTimeoutMs,
      log,
    });
    this.#hub.install(router);
    this.#calls.install(router);
    context.commands.add<null>({
      node: "who-is-online",
      name: "Who is online (a user's devices)",
      start: () => ({ status: "executing", form: userForm, actions: ["complete"], state: null }),
      submit: (_caller, form) => {
        const user = parseUser(form);
        const answer = onlineForm(user, this.#hub.combined(user), this.#hub.devices(user));
        return { status: "completed", form: answer };
      },
    });
    link.on("online", () => this.#online());
  }

  start(): Promise<void> {
    const interval = this.config.livenessIntervalMs;
    if (interval > 0) {
      this.#timer = setInterval(() => void this.#liveness.check(), interval);
      this.#timer.unref();
    }
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#calls.stop();
    if (this.#context.link.online) await this.#hub.farewell();
  }

  #online(): void {
    const reconnect = this.#wasOnline;
    this.#wasOnline = true;
    this.#hub
      .announce()
      .catch((error: unknown) =>
        this.#context.log.warn(
          { err: (error as Error).message },
          "could not announce presence to subscribers",
        ),
      );
    if (reconnect) void this.#liveness.check();
  }

  // ---- the port ----

  combined(user: BareJid): Show {
    return this.#hub.combined(user);
  }
  setGroup(key: string, members: Iterable<BareJid>): void {
    this.#hub.setGroup(key, members);
  }
  forgetGroup(key: string): void {
    this.#hub.forgetGroup(key);
  }
  addViewer(key: string, viewer: BareJid, targets: Iterable<BareJid>): void {
    this.#hub.addViewer(key, viewer, targets);
  }
  removeViewer(key: string, viewer: BareJid): void {
    this.#hub.removeViewer(key, viewer);
  }
  setTargets(key: string, targets: Iterable<BareJid>): void {
    this.#hub.setTargets(key, targets);
  }
  followRoom(room: MucRoom): void {
    this.#hub.followRoom(room);
  }
  track(device: FullJid): void {
    this.#hub.track(device);
  }
  untrack(device: FullJid): void {
    this.#hub.untrack(device);
  }
  seenIn(source: string, device: FullJid, report: DeviceReport | "left"): void {
    this.#hub.seenIn(source, device, report);
  }
  sourceGone(source: string): void {
    this.#hub.sourceGone(source);
  }
  toDevice(device: string, build: Build): void {
    this.#hub.toDevice(device, build);
  }
  toUsers(users: Iterable<BareJid>, build: Build): void {
    this.#hub.toUsers(users, build);
  }
  toGroup(key: string, build: Build): void {
    this.#hub.toGroup(key, build);
  }
  greet(users: Iterable<BareJid>): void {
    this.#hub.greet(users);
  }
  onChange(listener: (change: PresenceChange) => void): void {
    this.#hub.on("change", listener);
  }
  onDeviceGone(listener: (user: BareJid, device: FullJid) => void): void {
    this.#hub.on("deviceGone", listener);
  }
  onContact(listener: (user: BareJid, subscribed: boolean) => void): void {
    this.#hub.on("contact", listener);
  }
  recordCalls(recorder: CallRecorder): void {
    this.#calls.addRecorder(recorder);
  }
}
