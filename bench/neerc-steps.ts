/** The NEERC benchmark's parts: constants, room and task set-up, one fan-out trial, the report. */
import type { Account } from "../src/dev/prosody.js";
import { TestClient, xml } from "../test/harness/client.js";
import { createRoom, letComponentReadLists } from "../test/harness/muc.js";
import type { Stack } from "../test/harness/stack.js";
import { requestOnce } from "./iq-load.js";
import type { RawClient } from "./raw-client.js";
import { progress } from "./stats.js";
import {
  fanoutTrial as sharedTrial,
  messageFrom,
  reportFanouts,
  reportLoad,
  reportLoadRatio,
  type FanoutTally,
  type LoadTally,
  type TrialResult,
  type TrialRun,
} from "./tally.js";
import { attr, startTag } from "./xml-scan.js";
import type { ServerKind } from "../src/dev/server.js";

export const BENCH = "neerc";
export const NS = "http://neerc.ifmo.ru/protocol/neerc";
export const NS_TASKS = `${NS}#tasks`;
export const NS_TASK = `${NS}#task`;
export const NS_TASKSTATUS = `${NS}#taskstatus`;
export const NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin";
export const TASKS_QUERY = `<query xmlns='${NS_TASKS}'/>`;
/** Minimum share of the floor's #tasks throughput Concierge should reach (reported only). */
export const GOAL = 0.8;
/** The default room, served at the component JID itself. */
export const TASKS_ROOM = "neerc";
/** The fan-out room, served at fanout@component; the floor fans out for iqs to fanout@floor. */
export const FANOUT_ROOM = "fanout";
/** The floor node answering with Concierge's #tasks payload: tasks@floor.localhost. */
export const TASKS_NODE = "tasks";
export const TASK_TYPES = ["todo", "confirm", "okfail", "question", "todofail"] as const;
export const ADMIN: Account = { username: "admin", password: "pw-admin" };

export interface Settings {
  /** --server: the private XMPP server. */
  server: ServerKind;
  tasks: number;
  assignees: number;
  clients: number;
  window: number;
  seconds: number;
  rounds: number;
  warmup: number;
  users: number;
  trials: number;
  readSize: number;
}

/** A members-only room owned by `owner` and the component, with `members`. */
export async function setUpRoom(
  owner: TestClient,
  stack: Stack,
  room: string,
  members: string[],
): Promise<void> {
  const roomJid = `${room}@${stack.prosody.mucDomain}`;
  await createRoom(owner, roomJid);
  await letComponentReadLists(owner, roomJid, stack);
  // Prosody applies one item per request: all of them in flight at once (setAffiliation waits for
  // each reply in turn, and its 5 s bound is too short for hundreds queued behind each other).
  const replies = await Promise.all(
    members.map((jid) =>
      owner.request(
        xml(
          "iq",
          { type: "set", to: roomJid },
          xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { jid, affiliation: "member" })),
        ),
        60_000,
      ),
    ),
  );
  const failed = replies.find((reply) => reply.attrs.type !== "result");
  if (failed) throw new Error(`making a member of ${roomJid} failed: ${failed.toString()}`);
}

/** Creates a task through the admin's client; resolves with its id. */
export async function createTask(
  admin: TestClient,
  to: string,
  title: string,
  type: string,
  assignees: string[],
): Promise<string> {
  const reply = await admin.request(
    xml(
      "iq",
      { type: "set", to },
      xml(
        "task",
        { xmlns: NS_TASK, title, type },
        ...assignees.map((name) => xml("status", { for: name, type: "none" })),
      ),
    ),
    60_000,
  );
  const id = reply.getChild("task", NS_TASK)?.attrs.id as string | undefined;
  if (reply.attrs.type !== "result" || !id) {
    throw new Error(`creating task '${title}' failed: ${reply.toString()}`);
  }
  return id;
}

export function checkTasksReply(reply: string, settings: Settings): void {
  const tasks = reply.split("<task ").length - 1;
  const statuses = reply.split("<status ").length - 1;
  if (
    attr(startTag(reply), "type") !== "result" ||
    tasks !== settings.tasks ||
    statuses !== settings.tasks * settings.assignees
  ) {
    throw new Error(
      `expected ${settings.tasks} tasks with ${settings.assignees} statuses each, got ` +
        `${tasks} tasks and ${statuses} statuses: ${reply.slice(0, 500)}`,
    );
  }
}

/** The admin's report on the fan-out task; its value tells the trials' notifications apart. */
export function statusReport(taskId: string, trial: number): string {
  const type = trial % 2 === 0 ? "success" : "running";
  return `<taskstatus xmlns='${NS_TASKSTATUS}' id='${taskId}' type='${type}' value='${marker(trial)}'/>`;
}

export function marker(trial: number): string {
  return `trial-${String(trial).padStart(4, "0")}`;
}

export interface TrialOptions extends TrialRun {
  trigger: RawClient;
  online: readonly RawClient[];
  /** The status report (statusReport) and its marker. */
  payload: string;
  marker: string;
}

/**
 * One change and its fan-out: the trigger sends the report; resolves once every online member has
 * received the target's notification (Concierge's must carry this trial's marker; the floor sends
 * the same captured payload every time, told apart by its sender), with the reply as `caused`.
 */
export async function fanoutTrial(
  target: FanoutTally,
  options: TrialOptions,
): Promise<TrialResult<string>> {
  const { trigger, online, payload, marker, ...run } = options;
  const result = await sharedTrial(target, {
    ...run,
    recipients: online,
    match: messageFrom(target.jid, NS_TASKS, target.name === "concierge" ? marker : undefined),
    cause: () => requestOnce(trigger, target.jid, payload, 20_000),
  });
  if (attr(startTag(result.caused), "type") !== "result") {
    throw new Error(`${target.name} refused the status report: ${result.caused}`);
  }
  return result;
}

export function report(
  loads: [LoadTally, LoadTally],
  fanouts: [FanoutTally, FanoutTally],
  facts: { replyBytes: number; readSize: number; recipients: number; online: number },
): number {
  const readSize = String(facts.readSize || 4096);
  const figures = {
    bench: BENCH,
    prefix: "tasks",
    digits: 1,
    details: { reply_bytes: String(facts.replyBytes), prosody_read_size: readSize },
  };
  let failed = false;
  for (const target of loads) failed = reportLoad(target, figures) || failed;
  reportLoadRatio({ ...figures, goal: GOAL }, ...loads);
  const duplicated = reportFanouts(fanouts, {
    bench: BENCH,
    prefix: "fanout",
    label: "fan-out",
    recipients: "members",
    reached: facts.online,
    details: (target) => ({
      online: String(facts.online),
      recipients: String(facts.recipients),
      message_bytes: String(target.messageBytes),
      prosody_read_size: readSize,
    }),
    reply: true,
  });
  if (!failed && !duplicated) return 0;
  progress("some replies or notifications were wrong or missing: exiting 1");
  return 1;
}
