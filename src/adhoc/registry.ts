import type { Logger } from "pino";
import { parseJid, type BareJid } from "../xmpp/jid.js";
import { NS_COMMANDS, NS_DATA } from "../xmpp/namespaces.js";
import type { Router } from "../xmpp/router.js";
import type { Inbound } from "../xmpp/stanza.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import type { AdminCommand, Caller, CommandRegistry, Outcome } from "./command.js";
import { FieldProblem, Submission } from "./forms.js";
import {
  commandError,
  commandReplyElement,
  parseCommandRequest,
  type CommandRequest,
} from "./protocol.js";
import { SessionTable, type Session, type SessionLimits } from "./sessions.js";

export interface AdHocOptions extends SessionLimits {
  componentJid: string;
  /** Bare JIDs, as configured: normalised here. */
  admins: readonly string[];
  log: Logger;
  now?: () => number;
}

/**
 * XEP-0050 at the component JID for the configured admins: the commands the services add, their
 * disco items (listed to admins only; anyone else sees an empty list and gets `forbidden` on
 * execute), and the sessions of multi-step commands.
 */
export class AdHocCommands implements CommandRegistry {
  readonly #commands = new Map<string, AdminCommand>();
  readonly #admins: ReadonlySet<string>;
  readonly #sessions: SessionTable;
  /** Sessions whose step is running now. */
  readonly #busy = new Set<string>();

  constructor(
    private readonly router: Router,
    private readonly options: AdHocOptions,
  ) {
    this.#admins = new Set(options.admins.map((jid) => parseJid(jid)?.bare ?? jid));
    this.#sessions = new SessionTable(options, options.now);
    router.feature(NS_COMMANDS);
    router.node(NS_COMMANDS, { items: (request) => this.#items(request) });
    router.iq("set", NS_COMMANDS, "command", (request) => this.#handle(request));
  }

  add<S>(command: AdminCommand<S>): void {
    if (this.#commands.has(command.node)) throw new Error(`command ${command.node} exists`);
    this.#commands.set(command.node, command);
    this.router.node(command.node, {
      info: () => ({
        identities: [{ category: "automation", type: "command-node", name: command.name }],
        features: [NS_COMMANDS, NS_DATA],
      }),
    });
  }

  isAdmin(user: BareJid): boolean {
    return this.#admins.has(user);
  }

  #items(request: Inbound) {
    if (!this.isAdmin(request.user)) return [];
    const jid = this.options.componentJid;
    return [...this.#commands.values()].map(({ node, name }) => ({ jid, node, name }));
  }

  async #handle(request: Inbound) {
    if (!this.isAdmin(request.user)) {
      throw new StanzaError("forbidden", "only the server's admins may run commands here");
    }
    const parsed = parseCommandRequest(request.payload);
    const command = this.#commands.get(parsed.node);
    if (!command) throw new StanzaError("item-not-found", `no command ${parsed.node}`);
    const caller: Caller = { admin: request.user };
    const requester = request.from.full;
    if (parsed.sessionid === undefined) {
      if (parsed.action !== "execute") {
        throw commandError("bad-request", "bad-sessionid", `'${parsed.action}' needs a sessionid`);
      }
      const outcome = await command.start(caller);
      return this.#reply(parsed, this.#sessions.id(), outcome, requester, undefined);
    }
    const session = this.#session(parsed, requester);
    // A double-clicked "Finish" must not run a step twice (e.g. remove tasks twice).
    if (this.#busy.has(session.id)) {
      throw new StanzaError(
        "unexpected-request",
        "the previous step of this session is still running",
      );
    }
    if (parsed.action === "cancel") {
      this.#sessions.close(session.id);
      return commandReplyElement({ node: command.node, sessionid: session.id, status: "canceled" });
    }
    const action = parsed.action === "execute" ? session.actions.at(-1) : parsed.action;
    if (action === undefined || action === "prev" || !session.actions.includes(action)) {
      const offered = session.actions.join(", ");
      throw commandError(
        "bad-request",
        "bad-action",
        `'${parsed.action}' is not offered here (${offered})`,
      );
    }
    const form = Submission.from(request.payload);
    if (!form) throw commandError("bad-request", "bad-payload", "the submitted form is missing");
    let outcome: Outcome<unknown>;
    this.#busy.add(session.id);
    try {
      outcome = await command.submit(caller, form, session.state);
    } catch (error) {
      if (error instanceof FieldProblem)
        throw commandError("bad-request", "bad-payload", error.message);
      throw error;
    } finally {
      this.#busy.delete(session.id);
    }
    return this.#reply(parsed, session.id, outcome, requester, session);
  }

  #session(request: CommandRequest, requester: string): Session {
    const found = this.#sessions.lookup(request.sessionid!, request.node, requester);
    if ("found" in found) return found.found;
    if (found.missing === "expired") {
      throw commandError(
        "not-allowed",
        "session-expired",
        "the command session has expired; start again",
      );
    }
    throw commandError("bad-request", "bad-sessionid", "no such command session");
  }

  #reply(
    request: CommandRequest,
    sessionid: string,
    outcome: Outcome<unknown>,
    requester: string,
    session: Session | undefined,
  ) {
    const { node } = request;
    if (outcome.status === "completed") {
      if (session) this.#sessions.close(session.id);
      this.options.log.info({ node, admin: requester }, "admin command completed");
      return commandReplyElement({ node, sessionid, ...outcome });
    }
    const { actions, state, form } = outcome;
    if (session) {
      this.#sessions.advance(session, actions, state);
    } else if (!this.#sessions.open({ id: sessionid, node, owner: requester, actions, state })) {
      throw new StanzaError(
        "resource-constraint",
        "too many command sessions are open; try again later",
      );
    }
    return commandReplyElement({
      node,
      sessionid,
      status: "executing",
      form,
      actions,
      ...(outcome.notes ? { notes: outcome.notes } : {}),
    });
  }
}

/** Where commands go when the configuration has no `commands` section: nowhere. */
export const noCommands: CommandRegistry = { add: () => undefined };
