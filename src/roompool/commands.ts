import type { AdminCommand, CommandRegistry } from "../adhoc/command.js";
import {
  drainForm,
  drainedNote,
  parseResize,
  resizeForm,
  resizedNote,
  statusForm,
} from "./admin.js";
import type { PoolLimits } from "./sizing.js";
import type { RoomStore } from "./store.js";

/** How many waiting staff members the status shows. */
const WAITING_SHOWN = 10;

/**
 * The room pool's admin commands: status, resize, drain and resume. The last three write
 * roompool_control, which the pool reads before each fill; `changed` makes it fill at once.
 */
export function addPoolCommands(
  registry: CommandRegistry,
  store: RoomStore,
  limits: PoolLimits,
  changed: () => void,
): void {
  const status: AdminCommand<never> = {
    node: "pool-status",
    name: "Room pool: status",
    async start() {
      const [counts, waiting, control] = await Promise.all([
        store.countsByStatus(),
        store.waitingStaff(WAITING_SHOWN),
        store.control(),
      ]);
      const snapshot = { counts: new Map(counts), waiting, control, limits };
      return { status: "completed", form: statusForm(snapshot, new Date()) };
    },
    submit() {
      throw new Error("pool-status has no form to submit");
    },
  };

  const resize: AdminCommand<null> = {
    node: "pool-resize",
    name: "Room pool: resize",
    async start() {
      const form = resizeForm(await store.control(), limits);
      return { status: "executing", form, actions: ["complete"], state: null };
    },
    async submit({ admin }, form) {
      const target = parseResize(form, limits);
      await store.setControl({ minAvailable: target }, admin);
      changed();
      return { status: "completed", notes: [{ type: "info", text: resizedNote(target, limits) }] };
    },
  };

  const drainCommand = (draining: boolean): AdminCommand<null> => ({
    node: draining ? "pool-drain" : "pool-resume",
    name: draining ? "Room pool: drain (stop making rooms)" : "Room pool: resume (undo drain)",
    async start() {
      const form = drainForm(await store.control(), draining);
      return { status: "executing", form, actions: ["complete"], state: null };
    },
    async submit({ admin }) {
      const before = await store.control();
      if (before.draining !== draining) await store.setControl({ draining }, admin);
      changed();
      return { status: "completed", notes: [drainedNote(before.draining, draining)] };
    },
  });

  for (const command of [status, resize, drainCommand(true), drainCommand(false)]) {
    registry.add(command);
  }
}
