import xml, { type Element } from "@xmpp/xml";
import { NS_COMMANDS } from "../xmpp/namespaces.js";
import { StanzaError, type StanzaErrorCondition } from "../xmpp/stanza-error.js";
import type { Note, StageAction } from "./command.js";
import { formElement, type Form } from "./forms.js";

/** XEP-0050's wire format, apart from sessions and commands. Pure. */

export type Action = "execute" | "next" | "prev" | "complete" | "cancel";
const ACTIONS: ReadonlySet<string> = new Set(["execute", "next", "prev", "complete", "cancel"]);

export interface CommandRequest {
  node: string;
  sessionid: string | undefined;
  action: Action;
}

/** Reads a `<command/>` request; a missing action is `execute` (XEP-0050 §3.4). */
export function parseCommandRequest(command: Element): CommandRequest {
  const { node, sessionid, action } = command.attrs as Record<string, string | undefined>;
  if (node === undefined || node === "") {
    throw new StanzaError("bad-request", "the command has no node");
  }
  if (action !== undefined && !ACTIONS.has(action)) {
    throw commandError("bad-request", "malformed-action", `unknown action '${action}'`);
  }
  if (sessionid !== undefined && sessionid === "") {
    throw commandError("bad-request", "bad-sessionid", "the sessionid is empty");
  }
  return { node, sessionid, action: (action as Action | undefined) ?? "execute" };
}

export type ReplyStatus = "executing" | "completed" | "canceled";

export interface CommandReply {
  node: string;
  sessionid: string;
  status: ReplyStatus;
  form?: Form;
  /** While executing: the actions offered; the last one is what `execute` means. */
  actions?: readonly StageAction[];
  notes?: readonly Note[];
}

export function commandReplyElement(reply: CommandReply): Element {
  const { node, sessionid, status } = reply;
  const command = xml("command", { xmlns: NS_COMMANDS, node, sessionid, status });
  const actions = reply.actions ?? [];
  if (status === "executing" && actions.length > 0) {
    const execute = actions[actions.length - 1]!;
    command.append(xml("actions", { execute }, ...actions.map((action) => xml(action))));
  }
  for (const note of reply.notes ?? []) {
    command.append(xml("note", { type: note.type }, note.text));
  }
  if (reply.form) command.append(formElement(reply.form));
  return command;
}

/** XEP-0050 §4.6: a defined condition with the command's own condition beside it. */
export type CommandCondition =
  | "malformed-action"
  | "bad-action"
  | "bad-locale"
  | "bad-payload"
  | "bad-sessionid"
  | "session-expired";

export function commandError(
  condition: StanzaErrorCondition,
  specific: CommandCondition,
  text: string,
): StanzaError {
  return new StanzaError(condition, text, undefined, xml(specific, { xmlns: NS_COMMANDS }));
}
