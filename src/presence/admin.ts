import type { Form, Submission } from "../adhoc/forms.js";
import type { BareJid } from "../xmpp/jid.js";
import { DIRECT, type DeviceView } from "./book.js";
import type { Show } from "./rules.js";

/** "Who is online" for admins: the form asking for a user and the answer. Pure. */

export const USER_FIELD = "user";

export const userForm: Form = {
  type: "form",
  title: "Who is online",
  instructions: ["A user's devices as the component sees them, each with its show and status."],
  fields: [{ type: "jid-single", var: USER_FIELD, label: "User (user@domain)", required: true }],
};

export function parseUser(form: Submission): BareJid {
  return form.userJid(USER_FIELD);
}

/** `direct` reads as what it is: the device's own presence to the component. */
function sourceText(source: string): string {
  return source === DIRECT ? "its presence to the component" : `room ${source}`;
}

export function onlineForm(user: BareJid, combined: Show, devices: readonly DeviceView[]): Form {
  return {
    type: "result",
    title: `${user}: ${combined}`,
    instructions: [
      devices.length === 0
        ? `${user} has no device online that the component can see.`
        : `${user} shows ${combined} over ${devices.length} device${devices.length === 1 ? "" : "s"}.`,
    ],
    fields: [
      { type: "text-single", var: "combined", label: "Combined presence", values: [combined] },
    ],
    table: {
      columns: [
        { var: "device", label: "Device" },
        { var: "show", label: "Show" },
        { var: "status", label: "Status" },
        { var: "seen", label: "Seen through" },
      ],
      rows: devices.map((d) => ({
        device: d.device,
        show: d.idle ? `${d.show} (idle)` : d.show,
        status: d.status ?? "",
        seen: d.sources.map(sourceText).join(", "),
      })),
    },
  };
}
