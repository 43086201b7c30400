import { randomUUID } from "node:crypto";
import { HttpError } from "../http/errors.js";
import type { OutgoingMessage } from "./protocol.js";
import type { Session, WebchatStore } from "./store.js";

/**
 * Where a browser's message goes: its room (no peer, the session's thread), or a one-to-one
 * thread with an XMPP user the session may write to, named by `to` (a new thread unless the
 * message continues one) or by the thread itself.
 */
export async function destinationOf(
  store: WebchatStore,
  session: Session,
  message: OutgoingMessage,
): Promise<{ peer: string | undefined; thread: string }> {
  if (message.to !== undefined) {
    allowed(session, message.to, "to");
    const thread = await store.threadWith(session.id, message.to, message.thread ?? randomUUID());
    return { peer: message.to, thread };
  }
  if (message.thread === undefined || message.thread === session.thread) {
    return { peer: undefined, thread: session.thread };
  }
  const peer = await store.peerOfThread(session.id, message.thread);
  if (!peer) throw new HttpError("BAD_REQUEST", "no such thread in this session", "thread");
  allowed(session, peer, "thread");
  return { peer, thread: message.thread };
}

function allowed(session: Session, peer: string, field: string): void {
  if (!session.contacts.includes(peer)) {
    throw new HttpError("CONTACT_NOT_ALLOWED", "this session may not write to that address", field);
  }
}
