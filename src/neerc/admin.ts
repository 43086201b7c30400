import { FieldProblem, type Form, type Submission } from "../adhoc/forms.js";
import { parseJid } from "../xmpp/jid.js";
import type { Status, Task } from "./rules.js";

/** The NEERC board's admin forms: a room to pick, its tasks as a table, tasks to remove. Pure. */

export const ROOM_FIELD = "room";
export const TASKS_FIELD = "tasks";

export function roomForm(title: string, defaultRoom: string): Form {
  return {
    type: "form",
    title,
    instructions: ["The board's room: the name of its MUC room (the localpart)."],
    fields: [
      {
        type: "text-single",
        var: ROOM_FIELD,
        label: "Room",
        required: true,
        values: [defaultRoom],
      },
    ],
  };
}

export function parseRoom(form: Submission): string {
  const room = form.required(ROOM_FIELD);
  // The room is the localpart of `room@component`: the same rule as for requests to it.
  const local = room.includes("@") ? undefined : parseJid(`${room}@room.invalid`)?.local;
  if (local === undefined) {
    throw new FieldProblem(ROOM_FIELD, `'${room}' is not a room name (a JID localpart)`);
  }
  return local;
}

function statusText(status: Status): string {
  return status.value
    ? `${status.for}: ${status.type} (${status.value})`
    : `${status.for}: ${status.type}`;
}

export function tasksForm(room: string, tasks: readonly Task[]): Form {
  return {
    type: "result",
    title: `Tasks of room ${room}`,
    instructions: [tasks.length === 1 ? "1 task." : `${tasks.length} tasks.`],
    table: {
      columns: [
        { var: "id", label: "Id" },
        { var: "title", label: "Title" },
        { var: "type", label: "Type" },
        { var: "created", label: "Created" },
        { var: "statuses", label: "Statuses" },
      ],
      rows: tasks.map((task) => ({
        id: task.id,
        title: task.title,
        type: task.type,
        created: new Date(task.timestamp).toISOString(),
        statuses: task.statuses.map(statusText).join(", "),
      })),
    },
  };
}

/** Titles can be long: an option's label keeps the start of one. */
const MAX_LABEL = 120;

export function removalForm(room: string, tasks: readonly Task[]): Form {
  return {
    type: "form",
    title: `Remove tasks of room ${room}`,
    instructions: ["The room's members are told of each removal, as when a client removes one."],
    fields: [
      {
        type: "list-multi",
        var: TASKS_FIELD,
        label: "Tasks to remove",
        required: true,
        options: tasks.map((task) => ({
          value: task.id,
          label: `${task.title.length > MAX_LABEL ? `${task.title.slice(0, MAX_LABEL)}…` : task.title} (${task.type})`,
        })),
      },
    ],
  };
}

/** The ids chosen, each one of the tasks offered. */
export function parseRemoval(form: Submission, offered: readonly string[]): string[] {
  return form.choices(TASKS_FIELD, new Set(offered));
}
