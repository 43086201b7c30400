/**
 * The task board's rules, free of I/O: what a task is, who may change what, and which status
 * fits which task type. Everything here is tested exhaustively in test/unit/neerc-rules.test.ts.
 */

export const TASK_TYPES = ["todo", "confirm", "okfail", "question", "todofail"] as const;
export const STATUS_TYPES = ["none", "running", "success", "fail", "acknowledged"] as const;

export type TaskType = (typeof TASK_TYPES)[number];
export type StatusType = (typeof STATUS_TYPES)[number];

export interface Status {
  /** The user's name (the localpart of their JID). */
  for: string;
  type: StatusType;
  value?: string;
}

export interface Task {
  id: string;
  title: string;
  type: TaskType;
  /** Creation time in milliseconds since the epoch, as the clients expect. */
  timestamp: number;
  statuses: Status[];
}

export interface User {
  name: string;
  group: string;
  power: boolean;
}

/**
 * Statuses a user may report for each task type, following the clients' own actions. "none"
 * takes a report back; "acknowledged" is "done" pressed again on a finished task.
 *   todo      a job to do:            running → success → acknowledged
 *   todofail  a job that may fail:    running → success | fail (value: why)
 *   confirm   "are you there?":       success → acknowledged
 *   okfail    a check:                success | fail (value: what is wrong)
 *   question  a question:             success with the answer as value
 */
const ALLOWED: Record<TaskType, readonly StatusType[]> = {
  todo: ["none", "running", "success", "acknowledged"],
  todofail: ["none", "running", "success", "fail", "acknowledged"],
  confirm: ["none", "success", "acknowledged"],
  okfail: ["none", "success", "fail", "acknowledged"],
  question: ["none", "success"],
};

export const MAX_TITLE_LENGTH = 1_000;
export const MAX_VALUE_LENGTH = 4_000;
export const MAX_STATUSES = 10_000;

export function isTaskType(value: unknown): value is TaskType {
  return typeof value === "string" && (TASK_TYPES as readonly string[]).includes(value);
}

export function isStatusType(value: unknown): value is StatusType {
  return typeof value === "string" && (STATUS_TYPES as readonly string[]).includes(value);
}

/** Why a status does not fit a task, or undefined if it does. */
export function statusProblem(
  taskType: TaskType,
  status: StatusType,
  value: string | undefined,
): string | undefined {
  if (!ALLOWED[taskType].includes(status)) {
    return `status '${status}' does not fit a '${taskType}' task (allowed: ${ALLOWED[taskType].join(", ")})`;
  }
  if (value !== undefined && value.length > MAX_VALUE_LENGTH) {
    return `value longer than ${MAX_VALUE_LENGTH} characters`;
  }
  if (taskType === "question" && status === "success" && !value?.trim()) {
    return "the answer to a question goes in 'value'";
  }
  return undefined;
}

/**
 * Expands group names in the statuses of a task an admin sends: `for="Halls"` becomes one status
 * per member of the group (each with the group's status type), users named directly keep theirs,
 * and a user named twice keeps the first entry. Unknown names are returned as problems.
 */
export function expandAssignees(
  statuses: readonly Status[],
  users: readonly User[],
): { statuses: Status[]; unknown: string[] } {
  const byName = new Map(users.map((user) => [user.name, user]));
  const result: Status[] = [];
  const seen = new Set<string>();
  const unknown: string[] = [];
  const add = (status: Status) => {
    if (seen.has(status.for)) return;
    seen.add(status.for);
    result.push(status);
  };
  for (const status of statuses) {
    if (byName.has(status.for)) {
      add(status);
      continue;
    }
    const members = users.filter((user) => user.group === status.for);
    if (members.length === 0) unknown.push(status.for);
    for (const member of members) add({ ...status, for: member.name });
  }
  return { statuses: result, unknown };
}

/** The task with one user's status replaced; undefined if the user is not assigned to it. */
export function withStatus(task: Task, status: Status): Task | undefined {
  const index = task.statuses.findIndex((s) => s.for === status.for);
  if (index < 0) return undefined;
  const statuses = task.statuses.slice();
  statuses[index] = status;
  return { ...task, statuses };
}

/** Tasks in the order the clients show them: by creation time, then id. */
export function compareTasks(a: Task, b: Task): number {
  return a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Users in the order the clients show them: by name. */
export function compareUsers(a: User, b: User): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function notificationBody(task: Pick<Task, "id" | "title">): string {
  return `Task '${task.title}' (${task.id}) changed`;
}
