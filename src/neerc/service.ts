import xml, { type Element } from "@xmpp/xml";
import type { NeercOptions } from "../config.js";
import type { PresencePort } from "../presence/port.js";
import type { Service, ServiceContext } from "../service.js";
import type { Jid } from "../xmpp/jid.js";
import type { Inbound } from "../xmpp/stanza.js";
import { StanzaError } from "../xmpp/stanza-error.js";
import { TaskBoard } from "./board.js";
import { addNeercCommands } from "./commands.js";
import { RoomDirectory } from "./directory.js";
import {
  NS_PING,
  NS_TASK,
  NS_TASKS,
  NS_TASKSTATUS,
  NS_USERS,
  Serialized,
  echo,
  parseStatusRequest,
  parseTaskRequest,
  removedTaskElement,
  taskElement,
  userElement,
} from "./protocol.js";
import {
  MAX_STATUSES,
  expandAssignees,
  notificationBody,
  statusProblem,
  type Task,
  type User,
} from "./rules.js";
import { TaskStore } from "./store.js";

/**
 * The NEERC task board (wire-compatible with NEERC's Openfire plugin and its clients): users from
 * the MUC room of the same name, tasks in Postgres, a notification to every user after a change.
 * The component JID itself is room `default_room`; `room@component` is room `room`.
 */
export function neercService(settings: NeercOptions): Service {
  let directory: RoomDirectory;
  let board: TaskBoard;
  let presence: PresencePort;
  let componentJid: string;
  let timer: NodeJS.Timeout | undefined;

  const roomOf = (to: Jid) => to.local ?? settings.defaultRoom;
  const roomAddress = (room: string) =>
    room === settings.defaultRoom ? componentJid : `${room}@${componentJid}`;

  async function member(
    request: Inbound,
    needsPower = false,
  ): Promise<{ room: string; user: User }> {
    const room = roomOf(request.to);
    const accept = needsPower ? (u?: User) => u?.power === true : undefined;
    const user = await directory.find(room, request.user, accept);
    if (!user) throw new StanzaError("forbidden", `you are not a member of room ${room}`);
    if (needsPower && !user.power) {
      throw new StanzaError("forbidden", "only the room's owners and admins change tasks");
    }
    return { room, user };
  }

  /**
   * One headline per online device of every user of the room (the clients ignore delayed copies,
   * and servers never store headlines offline), sent after the reply.
   */
  async function announce(room: string, task: Pick<Task, "id" | "title">, element: Element) {
    const recipients = await directory.jids(room);
    const from = roomAddress(room);
    const body = xml("body", {}, notificationBody(task));
    const extension = xml("x", { xmlns: NS_TASKS }, element);
    presence.toUsers(recipients, (to) =>
      xml("message", { from, to, type: "headline" }, body, extension),
    );
  }

  return {
    name: "neerc",

    install(context: ServiceContext) {
      const { router, link, db, log, config, muc } = context;
      presence = context.presence;
      componentJid = config.component.jid;
      directory = new RoomDirectory({
        muc,
        componentJid,
        mucService: settings.mucService,
        groups: settings.groups,
        // Everyone on a room's task board sees the others' presence.
        onRead: (roomJid, jids) => presence.setGroup(roomJid, jids),
        onGone: (roomJid) => presence.forgetGroup(roomJid),
        retry: config.reconnect,
        request: (iq) => link.request(iq, 10_000),
        log,
      });
      // Read the default room as soon as we are connected, so that its members see each other's
      // presence before anyone has asked for the task board.
      link.on("online", () => void directory.refresh(settings.defaultRoom).catch(() => undefined));
      // Room for the answer's envelope (the iq and its query) within one stanza.
      const maxBoardBytes = config.component.maxStanzaBytes - 4_096;
      board = new TaskBoard(new TaskStore(db), settings.maxTasks, maxBoardBytes);
      router.feature(NS_USERS, NS_TASKS, NS_TASK, NS_TASKSTATUS, NS_PING);
      addNeercCommands(context.commands, {
        board,
        defaultRoom: settings.defaultRoom,
        announceRemoval: (room, task) => announce(room, task, removedTaskElement(task)),
      });

      router.iqGetOrSet(NS_USERS, "query", async (request) => {
        const { room } = await member(request);
        const users = await directory.users(room);
        return echo(request.payload, ...users.map(userElement));
      });

      router.iqGetOrSet(NS_TASKS, "query", async (request) => {
        const { room } = await member(request);
        return echo(request.payload, new Serialized(await board.serialized(room)));
      });

      router.iqGetOrSet(NS_TASK, "task", async (request) => {
        const { room } = await member(request, true);
        const change = parseTaskRequest(request.payload);
        if (change.kind === "remove") {
          const removed = await board.remove(room, change.id);
          await announce(room, removed, removedTaskElement(removed));
          return echo(request.payload);
        }
        const { statuses, unknown } = expandAssignees(change.statuses, await directory.users(room));
        if (unknown.length) {
          throw new StanzaError("bad-request", `no user or group named ${unknown.join(", ")}`);
        }
        if (statuses.length > MAX_STATUSES) {
          throw new StanzaError("policy-violation", `at most ${MAX_STATUSES} statuses per task`);
        }
        for (const status of statuses) {
          const problem = statusProblem(change.type, status.type, status.value);
          if (problem) throw new StanzaError("bad-request", `${status.for}: ${problem}`);
        }
        const task = await board.save(room, { ...change, statuses });
        await announce(room, task, taskElement(task));
        return taskElement(task, { xmlns: NS_TASK });
      });

      router.iqGetOrSet(NS_TASKSTATUS, "taskstatus", async (request) => {
        const { room, user } = await member(request);
        const report = parseStatusRequest(request.payload);
        const status = {
          for: user.name,
          type: report.type,
          ...(report.value ? { value: report.value } : {}),
        };
        const task = await board.setStatus(room, report.id, status, (current) => {
          const problem = statusProblem(current.type, report.type, report.value);
          if (problem) throw new StanzaError("bad-request", problem);
        });
        await announce(room, task, taskElement(task));
        return echo(request.payload);
      });

      router.iqGetOrSet(NS_PING, "query", async (request) => {
        await member(request);
        return echo(request.payload);
      });
    },

    start() {
      timer = setInterval(() => void directory.refreshAll(), settings.refreshIntervalMs);
      timer.unref();
      return Promise.resolve();
    },

    stop() {
      clearInterval(timer);
      return Promise.resolve();
    },
  };
}
