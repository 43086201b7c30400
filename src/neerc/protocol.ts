import xml, { Element } from "@xmpp/xml";
import { childElements } from "../xmpp/stanza.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import {
  MAX_STATUSES,
  MAX_TITLE_LENGTH,
  MAX_VALUE_LENGTH,
  isStatusType,
  isTaskType,
  type Status,
  type Task,
  type TaskType,
  type User,
} from "./rules.js";

const NS = "http://neerc.ifmo.ru/protocol/neerc";
export const NS_USERS = `${NS}#users`;
export const NS_TASKS = `${NS}#tasks`;
export const NS_TASK = `${NS}#task`;
export const NS_TASKSTATUS = `${NS}#taskstatus`;
export const NS_PING = `${NS}#ping`;

const MAX_ID_LENGTH = 200;

/** A `<task/>` as an admin sends it: no id means a new task, type "remove" a deletion. */
export type TaskRequest =
  | { kind: "remove"; id: string }
  | { kind: "save"; id: string | undefined; title: string; type: TaskType; statuses: Status[] };

export interface StatusRequest {
  id: string;
  type: Status["type"];
  value: string | undefined;
}

export function parseTaskRequest(element: Element): TaskRequest {
  const id = optionalText(element.attrs.id, "id", MAX_ID_LENGTH);
  if (id === "") throw new StanzaError("bad-request", "an id must not be empty");
  const type: unknown = element.attrs.type;
  if (type === "remove") {
    if (id === undefined) throw new StanzaError("bad-request", "a removal needs the task's id");
    return { kind: "remove", id };
  }
  if (!isTaskType(type)) {
    throw new StanzaError(
      "bad-request",
      "type must be todo, confirm, okfail, question, todofail or remove",
    );
  }
  const title = optionalText(element.attrs.title, "title", MAX_TITLE_LENGTH);
  if (!title?.trim()) throw new StanzaError("bad-request", "a task needs a title");
  const statusElements = childElements(element);
  if (statusElements.length > MAX_STATUSES) {
    throw new StanzaError("policy-violation", `at most ${MAX_STATUSES} statuses per task`);
  }
  const statuses = statusElements.map((child) => {
    if (child.name !== "status")
      throw new StanzaError("bad-request", `unexpected <${child.name}/>`);
    const name = optionalText(child.attrs.for, "for", MAX_ID_LENGTH);
    if (!name) throw new StanzaError("bad-request", "a status needs 'for'");
    const statusType: unknown = child.attrs.type ?? "none";
    if (!isStatusType(statusType)) {
      throw new StanzaError(
        "bad-request",
        `${name}: unknown status type (none, running, success, fail or acknowledged)`,
      );
    }
    const value = optionalText(child.attrs.value, "value", MAX_VALUE_LENGTH);
    return { for: name, type: statusType, ...(value ? { value } : {}) };
  });
  return { kind: "save", id, title, type, statuses };
}

export function parseStatusRequest(element: Element): StatusRequest {
  const id = optionalText(element.attrs.id, "id", MAX_ID_LENGTH);
  if (!id) throw new StanzaError("bad-request", "taskstatus needs the task's id");
  const type: unknown = element.attrs.type;
  if (!isStatusType(type)) {
    throw new StanzaError(
      "bad-request",
      "type must be none, running, success, fail or acknowledged",
    );
  }
  const value = optionalText(element.attrs.value, "value", MAX_VALUE_LENGTH);
  return { id, type, value: value || undefined };
}

/** `<task/>` as the clients read it; its namespace comes from the parent unless `xmlns` is given. */
export function taskElement(task: Task, attrs: Record<string, string> = {}): Element {
  return xml(
    "task",
    {
      ...attrs,
      id: task.id,
      title: task.title,
      type: task.type,
      timestamp: String(task.timestamp),
    },
    ...task.statuses.map((status) =>
      xml("status", {
        for: status.for,
        type: status.type,
        ...(status.value !== undefined ? { value: status.value } : {}),
      }),
    ),
  );
}

/** What a removal notification carries: the clients delete the task when they see this type. */
export function removedTaskElement(task: Pick<Task, "id" | "title" | "timestamp">): Element {
  return xml("task", {
    id: task.id,
    title: task.title,
    type: "remove",
    timestamp: String(task.timestamp),
  });
}

export function userElement(user: User): Element {
  return xml("user", { name: user.name, group: user.group, power: user.power ? "yes" : "no" });
}

/** The request's element again (same name and attributes), as the replies of the original did. */
export function echo(request: Element, ...children: Element[]): Element {
  return xml(request.name, { ...(request.attrs as Record<string, string>) }, ...children);
}

/**
 * Already-serialized XML inside an element tree. A #tasks answer for a busy room is thousands of
 * elements; it is serialized once per change instead of once per query.
 */
export class Serialized extends Element {
  readonly #xml: string;

  constructor(serialized: string) {
    super("serialized");
    this.#xml = serialized;
  }

  override write(writer: (chunk: string) => void): void {
    writer(this.#xml);
  }

  override toString(): string {
    return this.#xml;
  }
}

function optionalText(value: unknown, name: string, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new StanzaError("bad-request", `'${name}' must be text`);
  if (value.length > max) throw new StanzaError("bad-request", `'${name}' is longer than ${max}`);
  return value;
}
