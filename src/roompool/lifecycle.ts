/**
 * A pool room's lifecycle as an explicit transition table, free of I/O. The pool manager feeds it
 * what the bot sees in a room (who joined, who left), claim timeouts, and on reconnection the
 * difference between what the table says and who is really there.
 */

export const ROOM_STATUSES = [
  "available",
  "staff_claimed",
  "staff_waiting",
  "client_claimed",
  "chatting",
  "closing",
  "closed",
] as const;

export type RoomStatus = (typeof ROOM_STATUSES)[number];

/** What the lifecycle needs to know about a room: its status and who is in it for the chat. */
export interface RoomState {
  status: RoomStatus;
  /** The nick of the staff member in the room, once they joined. */
  staff: string | undefined;
  /** The nick of the client in the room, once they joined. */
  client: string | undefined;
}

export type RoomEvent =
  | { kind: "joined"; nick: string }
  | { kind: "left"; nick: string }
  | { kind: "claim-timeout" }
  /** The room was gone from the MUC service when the bot came back. */
  | { kind: "vanished" }
  /** Someone else made a room of that name while the bot was away: it is not ours any more. */
  | { kind: "taken" };

export type RoomAction =
  | { kind: "kick"; nick: string; reason: string }
  | { kind: "destroy"; reason: string }
  | { kind: "recreate" };

export interface Transition {
  state: RoomState;
  /** Why, in words, for room_events; empty when nothing changed. */
  cause: string;
  actions: RoomAction[];
}

const stay = (state: RoomState, ...actions: RoomAction[]): Transition => ({
  state,
  cause: "",
  actions,
});

const move = (state: RoomState, cause: string, ...actions: RoomAction[]): Transition => ({
  state,
  cause,
  actions,
});

const close = (cause: string): Transition =>
  move({ status: "closed", staff: undefined, client: undefined }, cause, {
    kind: "destroy",
    reason: cause,
  });

const kick = (nick: string, reason: string): RoomAction => ({ kind: "kick", nick, reason });

/** The one transition function: the state after `event`, and what the bot must do. */
export function transition(state: RoomState, event: RoomEvent): Transition {
  switch (event.kind) {
    case "joined":
      return joined(state, event.nick);
    case "left":
      return left(state, event.nick);
    case "claim-timeout":
      if (state.status === "staff_claimed") {
        return move({ ...state, status: "available" }, "staff did not arrive in time");
      }
      if (state.status === "client_claimed") {
        return move({ ...state, status: "staff_waiting" }, "client did not arrive in time");
      }
      return stay(state);
    case "vanished":
      if (state.status === "closed") return stay(state);
      if (state.status === "available" || state.status === "staff_claimed") {
        return stay(state, { kind: "recreate" });
      }
      if (state.status === "staff_waiting") {
        // The staff member left an otherwise empty room: as if seen live, it is ready again.
        return move(
          { status: "available", staff: undefined, client: undefined },
          "staff left while the bot was away",
          { kind: "recreate" },
        );
      }
      return close("the room was gone from the MUC service");
    case "taken":
      if (state.status === "closed") return stay(state);
      // Not ours to destroy: the row says it is over, so that the web application sends the
      // person (who may be waiting in that unprotected room) to a new one.
      return move(
        { status: "closed", staff: undefined, client: undefined },
        "someone else made a room of this name while the bot was away; claim a new room",
      );
  }
}

function joined(state: RoomState, nick: string): Transition {
  if (nick === state.staff || nick === state.client) return stay(state);
  switch (state.status) {
    case "staff_claimed":
      return move({ ...state, status: "staff_waiting", staff: nick }, `staff ${nick} joined`);
    case "client_claimed":
      return move({ ...state, status: "chatting", client: nick }, `client ${nick} joined`);
    case "available":
      return stay(state, kick(nick, "this room has not been assigned to you"));
    case "staff_waiting":
      return stay(state, kick(nick, "no client has been sent to this room"));
    case "chatting":
      return stay(state, kick(nick, "this chat already has its two participants"));
    case "closing":
      // A participant whose connection dropped comes back: the chat resumes.
      return state.staff === undefined
        ? move({ ...state, status: "chatting", staff: nick }, `staff ${nick} rejoined`)
        : move({ ...state, status: "chatting", client: nick }, `client ${nick} rejoined`);
    case "closed":
      return stay(state, { kind: "destroy", reason: "this chat has ended" });
  }
}

function left(state: RoomState, nick: string): Transition {
  const isStaff = nick === state.staff;
  const isClient = nick === state.client;
  if (!isStaff && !isClient) return stay(state);
  const rest: RoomState = {
    ...state,
    staff: isStaff ? undefined : state.staff,
    client: isClient ? undefined : state.client,
  };
  switch (state.status) {
    case "staff_waiting":
      return move({ ...rest, status: "available" }, "staff left before a client was sent");
    case "client_claimed":
      return close("staff left while a client was on the way");
    case "chatting":
      return move({ ...rest, status: "closing" }, `${isStaff ? "staff" : "client"} ${nick} left`);
    case "closing":
      return close(`${isStaff ? "staff" : "client"} ${nick} left last`);
    default:
      return stay(rest);
  }
}

/**
 * After a restart or a lost connection: the events that turn what the table says into what the
 * room shows (`present`: the nicks really in the room, the bot excluded), applied in order —
 * first the occupants the table does not know, then the participants who are gone. Arrivals
 * first, so that a participant who came back while another left resumes the chat instead of
 * finding it closed, and a stranger in a chat is kicked instead of taking a seat.
 */
export function reconcile(state: RoomState, present: readonly string[]): Transition {
  const events: RoomEvent[] = [];
  for (const nick of present) {
    if (nick !== state.staff && nick !== state.client) events.push({ kind: "joined", nick });
  }
  for (const nick of [state.staff, state.client]) {
    if (nick !== undefined && !present.includes(nick)) events.push({ kind: "left", nick });
  }
  return applyAll(state, events);
}

/** Folds events through `transition`, keeping every action and joining the causes. */
export function applyAll(state: RoomState, events: readonly RoomEvent[]): Transition {
  let current = state;
  const causes: string[] = [];
  const actions: RoomAction[] = [];
  for (const event of events) {
    const step = transition(current, event);
    current = step.state;
    if (step.cause) causes.push(step.cause);
    for (const action of step.actions) {
      // One destroy is enough, however many events found the room closed.
      if (action.kind !== "destroy" || !actions.some((a) => a.kind === "destroy")) {
        actions.push(action);
      }
    }
  }
  return { state: current, cause: causes.join("; "), actions };
}
