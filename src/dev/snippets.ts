/**
 * The configuration snippets shipped to operators (config/prosody/concierge.cfg.lua,
 * config/ejabberd/concierge.yml) are what the private servers run: each harness reads its
 * snippet, puts the test's names in place of the example ones, and adds only test-only settings.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { projectRoot } from "../paths.js";

/** The example values the snippets use for what an operator fills in. */
export const SNIPPET_NAMES = {
  domain: "example.org",
  component: "concierge.example.org",
  secret: "placeholder-shared-secret",
  bot: "concierge-bot",
  componentPort: 5347,
} as const;

export const PROSODY_SNIPPET = join(projectRoot, "config", "prosody", "concierge.cfg.lua");
export const EJABBERD_SNIPPET = join(projectRoot, "config", "ejabberd", "concierge.yml");

/**
 * The snippet's text with the example names replaced, as an operator would do it by hand:
 * concierge.example.org → `component`, concierge-bot → `bot`, example.org → `domain`.
 * Ports and secrets are set by each harness where the snippet's syntax puts them.
 */
export async function readSnippet(
  path: string,
  names: { domain: string; component: string; bot: string },
): Promise<string> {
  const text = await readFile(path, "utf8");
  for (const name of [SNIPPET_NAMES.component, SNIPPET_NAMES.secret]) {
    if (!text.includes(name)) throw new Error(`${path} no longer mentions ${name}`);
  }
  // The component's name contains the domain's: hold it aside while the domain is replaced.
  const held = "\u0000component\u0000";
  return text
    .replaceAll(SNIPPET_NAMES.component, held)
    .replaceAll(SNIPPET_NAMES.bot, names.bot)
    .replaceAll(SNIPPET_NAMES.domain, names.domain)
    .replaceAll(held, names.component);
}
