import type { FailureLine } from "../backoff.js";
import { IqTimeoutError } from "../xmpp/iq-caller.js";
import { StanzaError } from "../xmpp/stanza-error.js";

/**
 * Why the bot could not make a room, in words that point at the setting to fix. Pure: the
 * error from the join or the configuration in, the log line out.
 */
export function creationFailure(
  error: unknown,
  { mucService }: { mucService: string },
  bot: string,
): FailureLine {
  const prefix = `room creation on ${mucService} failed`;
  if (error instanceof StanzaError) {
    const said = error.text ? `${error.condition}: ${error.text}` : error.condition;
    switch (error.condition) {
      case "remote-server-not-found":
      case "remote-server-timeout":
      case "service-unavailable":
      case "item-not-found":
        return {
          level: "error",
          message: `${prefix} (${said}): is roompool.muc_service the server's MUC service?`,
        };
      case "not-allowed":
      case "forbidden":
        return {
          level: "error",
          message:
            `${prefix} (${said}): check that roompool.muc_service is the server's MUC service ` +
            `and that the server lets ${bot} create rooms there (Prosody: restrict_room_creation; ` +
            `ejabberd: access_create)`,
        };
      case "resource-constraint":
      case "policy-violation":
        return {
          level: "error",
          message: `${prefix} (${said}): the server limits the bot's rooms (ejabberd: raise mod_muc's max_user_conferences)`,
        };
      default:
        return { level: "warn", message: `${prefix} (${said})` };
    }
  }
  if (error instanceof IqTimeoutError) {
    return { level: "warn", message: `${prefix}: the MUC service did not answer in time` };
  }
  const reason = error instanceof Error ? error.message : String(error);
  return { level: "warn", message: `${prefix} (${reason})` };
}
