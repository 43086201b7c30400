import { done, type AdminCommand, type CommandRegistry, type Note } from "../adhoc/command.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import { parseRemoval, parseRoom, removalForm, roomForm, tasksForm } from "./admin.js";
import type { TaskBoard } from "./board.js";
import type { Task } from "./rules.js";

export interface NeercCommandDeps {
  board: TaskBoard;
  defaultRoom: string;
  /** Tells the room's members, as a removal through the protocol does. */
  announceRemoval(room: string, task: Task): Promise<void>;
}

type RemovalState = { room: string; offered: string[] } | null;

/** The NEERC board's admin commands: a room's task list, and removing tasks from a room. */
export function addNeercCommands(registry: CommandRegistry, deps: NeercCommandDeps): void {
  const { board, defaultRoom } = deps;

  const list: AdminCommand<null> = {
    node: "neerc-tasks",
    name: "NEERC: a room's tasks",
    start: () => ({
      status: "executing",
      form: roomForm("A room's tasks", defaultRoom),
      actions: ["complete"],
      state: null,
    }),
    async submit(_caller, form) {
      const room = parseRoom(form);
      const tasks = await board.list(room);
      const notes: Note[] = tasks.length
        ? []
        : [{ type: "info", text: `Room ${room} has no tasks.` }];
      return { status: "completed", form: tasksForm(room, tasks), notes };
    },
  };

  const remove: AdminCommand<RemovalState> = {
    node: "neerc-remove",
    name: "NEERC: remove tasks",
    start: () => ({
      status: "executing",
      form: roomForm("Remove tasks", defaultRoom),
      actions: ["next"],
      state: null,
    }),
    async submit(_caller, form, state) {
      if (state === null) {
        const room = parseRoom(form);
        const tasks = await board.list(room);
        if (tasks.length === 0) return done(`Room ${room} has no tasks.`);
        const offered = tasks.map((task) => task.id);
        return {
          status: "executing",
          form: removalForm(room, tasks),
          actions: ["complete"],
          state: { room, offered },
        };
      }
      const { room } = state;
      const notes: Note[] = [];
      let removed = 0;
      for (const id of parseRemoval(form, state.offered)) {
        let task: Task;
        try {
          task = await board.remove(room, id);
        } catch (error) {
          if (!(error instanceof StanzaError) || error.condition !== "item-not-found") throw error;
          notes.push({ type: "warn", text: `Task ${id} was removed meanwhile.` });
          continue;
        }
        removed++;
        await deps.announceRemoval(room, task).catch((error: unknown) => {
          const why = error instanceof Error ? error.message : String(error);
          notes.push({
            type: "warn",
            text: `The members of ${room} were not told of '${task.title}': ${why}`,
          });
        });
      }
      notes.unshift({
        type: "info",
        text: `Removed ${removed} task${removed === 1 ? "" : "s"} from room ${room}.`,
      });
      return { status: "completed", notes };
    },
  };

  registry.add(list);
  registry.add(remove);
}
