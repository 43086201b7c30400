import xml from "@xmpp/xml";
import { Submission } from "../../src/adhoc/forms.js";
import { NS_DATA } from "../../src/xmpp/namespaces.js";

/** A data form submitted inside a `<command/>`, as a client sends it: field → its values. */
export function submitted(fields: Record<string, string | string[]>): Submission {
  const form = xml(
    "x",
    { xmlns: NS_DATA, type: "submit" },
    ...Object.entries(fields).map(([name, values]) =>
      xml("field", { var: name }, ...[values].flat().map((value) => xml("value", {}, value))),
    ),
  );
  const submission = Submission.from(xml("command", {}, form));
  if (!submission) throw new Error("not a submission");
  return submission;
}
