import type { Socket } from "node:net";
import { client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import type { Logger } from "pino";
import type { BackoffPolicy, FailureLine } from "../backoff.js";
import { Link, type Transport } from "./link.js";
import {
  Diagnosis,
  describeCommon,
  isStreamError,
  streamErrorText,
  type ConnectionOutcome,
} from "./link-failures.js";

export interface ClientLinkOptions {
  /** The c2s endpoint, e.g. xmpp://127.0.0.1:5222. */
  service: string;
  /** The account's bare JID, e.g. concierge-bot@example.org. */
  jid: string;
  password: string;
  resource: string;
  /** What this connection is, for log lines: "bot" (messages say "the bot"). */
  name: string;
  reconnect: BackoffPolicy;
  loginTimeoutMs: number;
  /** Counts every stanza written, by kind (metrics). */
  sent?: (kind: string) => void;
  /** See LinkOptions.acting. */
  acting?: () => boolean;
  log: Logger;
}

/** A normal account's connection (c2s), kept up like the component's. */
export function clientLink(options: ClientLinkOptions): Link {
  return new Link(clientTransport(options), {
    policy: options.reconnect,
    loginTimeoutMs: options.loginTimeoutMs,
    ...(options.sent ? { sent: options.sent } : {}),
    ...(options.acting ? { acting: options.acting } : {}),
    log: options.log,
  });
}

function clientTransport(options: ClientLinkOptions): Transport {
  const { service, jid, password, resource } = options;
  const [username, domain] = jid.split("@") as [string, string];
  const server = service.replace(/^xmpp:\/\//, "");
  return {
    name: options.name,
    jid,
    open(hooks) {
      const xmpp = client({ service, domain, username, password, resource });
      // The link decides when to reconnect, not xmpp.js's fixed one-second retry.
      xmpp.reconnect.stop();
      // STARTTLS replaces the socket: keep the newest one, which xmpp.js forgets once closed.
      let socket: Socket | null = null;
      xmpp.on("status", () => (socket = (xmpp.socket as Socket | null) ?? socket));
      xmpp.on("error", hooks.cause);
      xmpp.on("stanza", hooks.stanza);
      xmpp.on("disconnect", hooks.closed);
      xmpp.on("close", () => socket?.destroy());
      if (hooks.input) xmpp.on("input", hooks.input);
      const login = xmpp.start().then(() => undefined);
      return {
        login,
        get socket() {
          return socket;
        },
        // Through send(): xmpp.js counts what it sends for stream management (XEP-0198).
        write: (element: Element) => void xmpp.send(element).catch(() => undefined),
        close: () =>
          xmpp.stop().then(
            () => undefined,
            () => undefined,
          ),
      };
    },
    describe: (outcome) => describeFailure(outcome, options, server),
  };
}

function describeFailure(
  outcome: ConnectionOutcome,
  { jid, name }: ClientLinkOptions,
  server: string,
): FailureLine {
  const who = `the ${name}`;
  const { cause } = outcome;
  if (cause instanceof Diagnosis) return { level: "error", message: cause.message };
  const condition = (cause as { condition?: unknown } | undefined)?.condition;
  if (condition === "not-authorized" || condition === "account-disabled") {
    return {
      level: "error",
      message: `the server refused ${who}'s login as ${jid} (${String(condition)}: check the password and that the account exists)`,
    };
  }
  if (isStreamError(cause)) {
    switch (cause.condition) {
      case "conflict":
        return {
          level: "error",
          message: `another session replaced ${who}'s (${jid}): is a second Concierge using this account?`,
        };
      case "host-unknown":
        return {
          level: "error",
          message: `the server at ${server} does not serve ${jid.slice(jid.indexOf("@") + 1)}`,
        };
      case "system-shutdown":
        return { level: "warn", message: `the XMPP server at ${server} is shutting down` };
      default:
        return {
          level: "warn",
          message: `the server closed ${who}'s stream (${streamErrorText(cause)})`,
        };
    }
  }
  const common = describeCommon(outcome, server);
  if (common) return { level: "warn", message: `${who}: ${common}` };
  const reason = cause instanceof Error && cause.message ? cause.message : "the connection closed";
  return { level: "warn", message: `${who} could not log in as ${jid} (${reason})` };
}
