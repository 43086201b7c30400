/**
 * What tests, benchmarks and the demo need from a private XMPP server, whichever it is: a
 * Prosody (./prosody.ts) or an ejabberd (./ejabberd.ts), each built from the configuration
 * snippet shipped to operators (config/prosody, config/ejabberd).
 */
import { PrivateEjabberd } from "./ejabberd.js";
import { PrivateProsody } from "./prosody.js";

export type ServerKind = "prosody" | "ejabberd";

export const SERVER_KINDS: readonly ServerKind[] = ["prosody", "ejabberd"];

export interface Account {
  username: string;
  password: string;
}

export interface ServerOptions {
  /** The virtual host; default "localhost". */
  domain?: string;
  /**
   * Components (XEP-0114) the server accepts, on one component port; each gets its own secret.
   * The first takes the place of the snippet's concierge.example.org.
   */
  components?: { jid: string; secret: string }[];
  accounts?: Account[];
  /** Bare JIDs made server admins (on Prosody they own every MUC room). */
  admins?: string[];
  /** The room-pool bot's username, put in the snippet's place of concierge-bot; default that. */
  bot?: string;
  /** A folder to keep the server's data in (the demo); default a new temp folder, removed at stop. */
  dir?: string;
  c2sPort?: number;
  componentPort?: number;
  /**
   * Set the server up for Concierge's active/standby, as the snippet tells operators to (Prosody:
   * its `component_conflict_resolve = "kick_old"` line uncommented).
   */
  activeStandby?: boolean;
}

/** A private server on 127.0.0.1 with its own folder, ports, components and accounts. */
export interface PrivateServer {
  readonly kind: ServerKind;
  /** The virtual host, e.g. "localhost". */
  readonly domain: string;
  /** The MUC service, conference.<domain>. */
  readonly mucDomain: string;
  readonly c2sPort: number;
  readonly componentPort: number;
  /** xmpp://127.0.0.1:<c2sPort>, for @xmpp/client. */
  readonly service: string;
  /** The server's folder: configuration, data, logs. */
  readonly dir: string;
  /** The main configuration file (generated at every start). */
  readonly configPath: string;
  /** Creates the accounts, or sets the password of those that exist. */
  addAccounts(accounts: Account[]): Promise<void>;
  /** The server's log so far ("" if there is none yet). */
  log(): Promise<string>;
  /** Stops the server (bounded); removes its folder if `remove` (default: if it made the folder). */
  stop(options?: { remove?: boolean }): Promise<void>;
  /** Stops and starts again on the same ports with the same data. */
  restart(): Promise<void>;
}

/** Starts a private server of that kind. */
export function startServer(kind: ServerKind, options: ServerOptions = {}): Promise<PrivateServer> {
  return kind === "prosody" ? PrivateProsody.start(options) : PrivateEjabberd.start(options);
}
