/** The room pool benchmark's MUC side: a plain client peer and the floor of pool filling. */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { client, xml, type Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { roomConfigSubmission, type RoomSettings } from "../src/roompool/room-config.js";
import { IqCaller } from "../src/xmpp/iq-caller.js";
import type { Stack } from "../test/harness/stack.js";

export const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";
export const MAX_OCCUPANTS = 3;
export const HISTORY_LENGTH = 20;

export const account = (name: string) => ({ username: name, password: `pw-${name}` });
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects after `ms` with a message naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** An @xmpp/client connection with waiters for presences from MUC occupants. */
export class MucPeer {
  readonly #waiters = new Set<{
    match: (stanza: Element) => boolean;
    resolve: (stanza: Element) => void;
  }>();

  /** The daemon's own iq caller (xmpp.js's has no usable types here). */
  readonly caller: IqCaller;

  private constructor(readonly xmpp: Client) {
    this.caller = new IqCaller((element) => void xmpp.send(element).catch(() => undefined));
    xmpp.on("error", () => {});
    xmpp.on("stanza", (stanza: Element) => {
      if (stanza.name === "iq") {
        const type = stanza.attrs.type as string | undefined;
        if (type === "result" || type === "error") this.caller.accept(stanza);
        return;
      }
      if (stanza.name !== "presence") return;
      for (const waiter of this.#waiters) {
        if (waiter.match(stanza)) {
          this.#waiters.delete(waiter);
          waiter.resolve(stanza);
        }
      }
    });
  }

  static async connect(stack: Stack, name: string): Promise<MucPeer> {
    const { username, password } = account(name);
    const xmpp = client({
      service: stack.prosody.service,
      domain: stack.prosody.domain,
      username,
      password,
      resource: "bench",
    });
    xmpp.reconnect.stop();
    const peer = new MucPeer(xmpp);
    await xmpp.start();
    return peer;
  }

  /** Resolves with the next presence matching `match` (register before sending). */
  presence(match: (stanza: Element) => boolean, timeoutMs = 10_000): Promise<Element> {
    let waiter: { match: (stanza: Element) => boolean; resolve: (stanza: Element) => void };
    const found = new Promise<Element>((resolve) => {
      waiter = { match, resolve };
      this.#waiters.add(waiter);
    });
    return within(found, timeoutMs, "a MUC presence").finally(() => this.#waiters.delete(waiter));
  }

  /** Self-presence (or error) from `occupant` (room/nick), of the given availability. */
  self(occupant: string, available: boolean): Promise<Element> {
    return this.presence(
      (s) =>
        s.attrs.from === occupant &&
        (s.attrs.type === "error" ||
          ((s.attrs.type === "unavailable") === !available && statusCodes(s).includes("110"))),
    );
  }

  async stop(): Promise<void> {
    await this.xmpp.stop().catch(() => undefined);
  }
}

export function statusCodes(presence: Element): string[] {
  return (presence.getChild("x", NS_MUC_USER)?.getChildren("status") ?? []).map((status) =>
    String(status.attrs.code),
  );
}

/** The floor of pool filling: the daemon's MUC work for each room, without the database. */
export async function floorFill(
  stack: Stack,
  name: string,
  rooms: number,
  concurrency: number,
): Promise<number> {
  const peer = await MucPeer.connect(stack, name);
  try {
    const nick = "floor";
    const createRoom = async () => {
      const room = `${randomBytes(16).toString("hex")}@${stack.prosody.mucDomain}`;
      const joined = peer.self(`${room}/${nick}`, true);
      await peer.xmpp.send(xml("presence", { to: `${room}/${nick}` }, xml("x", { xmlns: NS_MUC })));
      const self = await joined;
      if (self.attrs.type === "error" || !statusCodes(self).includes("201")) {
        throw new Error(`floor: ${room} was not created: ${self.toString()}`);
      }
      const reply = await peer.caller.request(
        xml("iq", { type: "get", to: room }, xml("query", { xmlns: NS_MUC_OWNER })),
      );
      const form = reply.getChild("query", NS_MUC_OWNER)?.getChild("x", "jabber:x:data");
      if (!form) throw new Error(`floor: ${room} offered no configuration form`);
      await peer.caller.request(
        xml(
          "iq",
          { type: "set", to: room },
          xml("query", { xmlns: NS_MUC_OWNER }, roomConfigSubmission(form, roomSettings())),
        ),
      );
    };
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < rooms) {
          next += 1;
          await createRoom();
        }
      }),
    );
    const elapsed = performance.now() - started;
    return (rooms * 1000) / elapsed;
  } finally {
    // Leaving the server empties the floor's rooms, and Prosody removes them (temporary rooms).
    await peer.stop();
  }
}

function roomSettings(): RoomSettings {
  return {
    password: randomBytes(18).toString("base64url"),
    maxOccupants: MAX_OCCUPANTS,
    historyLength: HISTORY_LENGTH,
    persistent: false,
  };
}
