import type { Socket } from "node:net";
import { Component } from "@xmpp/component-core";
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

export { NotConnectedError } from "./link.js";
export type { LinkState } from "./link.js";

/** The XEP-0114 connection is a Link over the component transport. */
export type ComponentLink = Link;

export interface ComponentLinkOptions {
  host: string;
  port: number;
  /** The component's JID, a domain such as concierge.example.org. */
  domain: string;
  secret: string;
  reconnect: BackoffPolicy;
  loginTimeoutMs: number;
  maxStanzaBytes: number;
  /** Counts every stanza written, by kind (metrics). */
  sent?: (kind: string) => void;
  /** See LinkOptions.acting. */
  acting?: () => boolean;
  log: Logger;
}

const NS_COMPONENT = "jabber:component:accept";

export function componentLink(options: ComponentLinkOptions): ComponentLink {
  return new Link(componentTransport(options), {
    policy: options.reconnect,
    loginTimeoutMs: options.loginTimeoutMs,
    maxStanzaBytes: options.maxStanzaBytes,
    ...(options.sent ? { sent: options.sent } : {}),
    ...(options.acting ? { acting: options.acting } : {}),
    log: options.log,
  });
}

/** Connects as an external component (XEP-0114): stream header, then the secret's handshake. */
function componentTransport(options: ComponentLinkOptions): Transport {
  const { host, port, domain, secret } = options;
  const server = `${host}:${port}`;
  const service = `xmpp://${server}`;
  return {
    name: "component",
    jid: domain,
    open(hooks) {
      const entity = new Component({ service, domain });
      entity.on("error", hooks.cause);
      entity.on("stanza", hooks.stanza);
      entity.on("disconnect", hooks.closed);
      // The server ended the stream: end the socket too (xmpp.js leaves that to the server).
      entity.on("close", () => socket?.destroy());
      if (hooks.input) entity.on("input", hooks.input);
      const connecting = entity.connect(service);
      // Kept from the start: xmpp.js forgets the socket when it closes, even half-way.
      const socket: Socket | null = entity.socket;
      const login = (async () => {
        await connecting;
        const header = await entity.open({ domain });
        if (header.attrs.xmlns !== NS_COMPONENT) {
          throw new Diagnosis(clientPortMessage(server, header.attrs.xmlns));
        }
        await entity.authenticate(String(header.attrs.id), secret);
      })();
      return {
        login,
        socket,
        write: (_element, text) => void socket?.write(text),
        close: () =>
          entity.stop().then(
            () => undefined,
            () => undefined,
          ),
      };
    },
    describe: (outcome) => describeFailure(outcome, options, server),
  };
}

function clientPortMessage(server: string, xmlns: unknown): string {
  const what = xmlns === "jabber:client" ? "a client (c2s) port" : "not a component listener";
  return (
    `${server} is ${what}: point component.port at the server's component listener ` +
    `(Prosody component_ports, ejabberd's ejabberd_service listener; usually 5347)`
  );
}

function describeFailure(
  outcome: ConnectionOutcome,
  { domain }: ComponentLinkOptions,
  server: string,
): FailureLine {
  const { cause } = outcome;
  if (cause instanceof Diagnosis) return { level: "error", message: cause.message };
  if (isStreamError(cause)) {
    switch (cause.condition) {
      case "not-authorized":
        return {
          level: "error",
          message:
            "component secret rejected by the server (compare component.secret with its component_secret)",
        };
      case "conflict":
        return { level: "error", message: `another process is connected as ${domain}` };
      case "host-unknown":
        return {
          level: "error",
          message: `the server at ${server} has no component ${domain} configured`,
        };
      case "invalid-namespace":
        return { level: "error", message: clientPortMessage(server, undefined) };
      case "system-shutdown":
        return { level: "warn", message: `the XMPP server at ${server} is shutting down` };
      default:
        return {
          level: "warn",
          message: `the server closed the stream (${streamErrorText(cause)})`,
        };
    }
  }
  const common = describeCommon(outcome, server);
  if (common) return { level: "warn", message: common };
  const reason = cause instanceof Error && cause.message ? cause.message : "connection closed";
  return { level: "warn", message: `could not connect as ${domain} (${reason})` };
}
