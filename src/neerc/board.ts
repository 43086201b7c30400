import { randomUUID } from "node:crypto";
import { KeyedQueue } from "../keyed-queue.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import { taskElement } from "./protocol.js";
import { compareTasks, withStatus, type Status, type Task, type TaskType } from "./rules.js";
import type { TaskStore } from "./store.js";

interface RoomTasks {
  tasks: Map<string, Task>;
  /** Each task's `<task/>` element in bytes, and their sum: the size of a #tasks answer. */
  bytes: Map<string, number>;
  totalBytes: number;
  /** The `<task/>` elements of a #tasks answer, serialized once per change. */
  serialized: string | undefined;
}

const taskBytes = (task: Task) => Buffer.byteLength(taskElement(task).toString());

export interface TaskDraft {
  id: string | undefined;
  title: string;
  type: TaskType;
  statuses: Status[];
}

/**
 * The rooms' task lists: Postgres is the truth, memory a cache loaded on first use. Changes to one
 * room run one at a time, so the cache follows the database's order of commits.
 *
 * A room's whole board goes out in one #tasks answer, so a change that would make it larger
 * than one stanza may be (`maxBoardBytes`) is refused: the server would drop the component's
 * connection over the answer.
 */
export class TaskBoard {
  readonly #rooms = new Map<string, Promise<RoomTasks>>();
  readonly #queue = new KeyedQueue();

  constructor(
    private readonly store: TaskStore,
    private readonly maxTasks: number,
    private readonly maxBoardBytes: number = Number.POSITIVE_INFINITY,
    private readonly now: () => number = Date.now,
  ) {}

  async list(room: string): Promise<Task[]> {
    return [...(await this.#load(room)).tasks.values()].sort(compareTasks);
  }

  async serialized(room: string): Promise<string> {
    const state = await this.#load(room);
    state.serialized ??= [...state.tasks.values()]
      .sort(compareTasks)
      .map((task) => taskElement(task).toString())
      .join("");
    return state.serialized;
  }

  /** Creates (no id, or an id not seen before) or replaces a task; edits keep the creation time. */
  save(room: string, draft: TaskDraft): Promise<Task> {
    return this.#exclusive(room, async (state) => {
      const existing = draft.id === undefined ? undefined : state.tasks.get(draft.id);
      if (!existing && state.tasks.size >= this.maxTasks) {
        throw new StanzaError("resource-constraint", `a room holds at most ${this.maxTasks} tasks`);
      }
      const task: Task = {
        id: draft.id ?? randomUUID(),
        title: draft.title,
        type: draft.type,
        timestamp: existing?.timestamp ?? this.now(),
        statuses: draft.statuses,
      };
      this.#checkFits(state, task);
      const saved = await this.store.save(room, task);
      this.#put(state, saved);
      return saved;
    });
  }

  remove(room: string, id: string): Promise<Task> {
    return this.#exclusive(room, async (state) => {
      const task = state.tasks.get(id);
      if (!task) throw new StanzaError("item-not-found", `no task ${id}`);
      await this.store.remove(room, id);
      state.tasks.delete(id);
      state.totalBytes -= state.bytes.get(id) ?? 0;
      state.bytes.delete(id);
      state.serialized = undefined;
      return task;
    });
  }

  /** Sets one user's status after `check` accepted it against the task as it is now. */
  setStatus(room: string, id: string, status: Status, check: (task: Task) => void): Promise<Task> {
    return this.#exclusive(room, async (state) => {
      const task = state.tasks.get(id);
      if (!task) throw new StanzaError("item-not-found", `no task ${id}`);
      const next = withStatus(task, status);
      if (!next) throw new StanzaError("forbidden", "you are not assigned to this task");
      check(task);
      this.#checkFits(state, next);
      await this.store.setStatus(room, id, status);
      this.#put(state, next);
      return next;
    });
  }

  #checkFits(state: RoomTasks, task: Task): void {
    const after = state.totalBytes - (state.bytes.get(task.id) ?? 0) + taskBytes(task);
    if (after > this.maxBoardBytes) {
      throw new StanzaError(
        "resource-constraint",
        `the room's task board would be ${after} bytes, more than one answer may carry (${this.maxBoardBytes}): remove tasks or shorten them`,
      );
    }
  }

  #put(state: RoomTasks, task: Task): void {
    const bytes = taskBytes(task);
    state.totalBytes += bytes - (state.bytes.get(task.id) ?? 0);
    state.bytes.set(task.id, bytes);
    state.tasks.set(task.id, task);
    state.serialized = undefined;
  }

  #load(room: string): Promise<RoomTasks> {
    let loading = this.#rooms.get(room);
    if (!loading) {
      loading = this.store.list(room).then((tasks) => {
        const state: RoomTasks = {
          tasks: new Map(),
          bytes: new Map(),
          totalBytes: 0,
          serialized: undefined,
        };
        for (const task of tasks) this.#put(state, task);
        return state;
      });
      // A failed load (database down) is not cached: the next request tries again.
      loading.catch(() => this.#rooms.delete(room));
      this.#rooms.set(room, loading);
    }
    return loading;
  }

  #exclusive<T>(room: string, work: (state: RoomTasks) => Promise<T>): Promise<T> {
    return this.#queue.run(room, async () => work(await this.#load(room)));
  }
}
