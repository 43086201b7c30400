import { randomUUID } from "node:crypto";
import { HttpError } from "../http/errors.js";
import type { TokenRequest } from "./protocol.js";
import type { Session, WebchatStore } from "./store.js";
import { newToken, tokenHash } from "./tokens.js";

export interface Minted {
  token: string;
  session: Session;
  expiresAt: Date;
}

const UNIQUE_VIOLATION = "23505";

/**
 * A token for the web application's request, in one transaction: the person's open session in
 * that room continues (a new token, the same thread), or a new session starts in the room the web
 * app claimed, or in one the pool's own claim function gives now (`claim`).
 */
export async function mint(
  store: WebchatStore,
  request: TokenRequest,
  lifetimeS: number,
): Promise<Minted> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await store.transaction(async (q) => {
        const { person, name, role, contacts } = request;
        let session = await store.findOpen(q, person, role, request.room);
        if (session) {
          await store.setContacts(q, session.id, contacts);
          session = { ...session, contacts };
        } else {
          const room = request.room ?? (await store.claim(q, role, person, name));
          if (room === undefined) {
            throw new HttpError(
              "NO_ROOM_AVAILABLE",
              role === "client"
                ? "no staff member is free; try again in a moment"
                : "no room is ready; try again in a moment",
              undefined,
              { "Retry-After": "10" },
            );
          }
          if (request.room !== undefined) await checkClaim(store, q, request);
          session = await store.createSession(q, {
            personId: person,
            displayName: name,
            role,
            room,
            thread: randomUUID(),
            contacts,
          });
        }
        const token = newToken();
        const expiresAt = await store.insertToken(q, tokenHash(token), session.id, lifetimeS);
        return { token, session, expiresAt };
      });
    } catch (error) {
      // Two requests for one person at once: the second finds the first's session next time.
      if ((error as { code?: unknown }).code === UNIQUE_VIOLATION && attempt < 2) continue;
      throw error;
    }
  }
}

/** A room the web app names must be one of the pool's, open, and claimed for this person. */
async function checkClaim(
  store: WebchatStore,
  q: Parameters<WebchatStore["poolRoom"]>[0],
  request: TokenRequest,
): Promise<void> {
  const room = await store.poolRoom(q, request.room!);
  if (!room) throw new HttpError("ROOM_NOT_CLAIMED", "not a room of the pool", "room");
  if (room.status === "closed") throw new HttpError("ROOM_CLOSED", "the room is closed", "room");
  const claimedBy = request.role === "staff" ? room.staffId : room.clientId;
  if (claimedBy !== request.person) {
    throw new HttpError(
      "ROOM_NOT_CLAIMED",
      `the room is not claimed for this ${request.role === "staff" ? "staff member" : "client"}`,
      "room",
    );
  }
}
