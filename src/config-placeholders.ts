import type { ConfigFile } from "./config.js";

/** The examples' stand-ins for secrets ("placeholder-…", "replace-with-…") and "changeme". */
const PLACEHOLDER = /placeholder|replace-with|change-?me/i;

const urlPassword = (url: string): string => {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return "";
  }
};

/**
 * Every secret that still holds a placeholder, as a problem naming the key and the variable
 * that can supply it. A placeholder is public (it is in the example), so it is never a secret.
 */
export function placeholderProblems(file: ConfigFile): string[] {
  const secrets: [key: string, variable: string, value: string][] = [
    ["component.secret", "CONCIERGE_COMPONENT__SECRET", file.component.secret],
    ["database.url", "DATABASE_URL", urlPassword(file.database.url)],
    ["roompool.password", "CONCIERGE_ROOMPOOL__PASSWORD", file.roompool?.password ?? ""],
    ...(file.webchat?.api_keys ?? []).map(
      (key) => ["webchat.api_keys", "CONCIERGE_WEBCHAT__API_KEYS", key] as [string, string, string],
    ),
  ];
  const problems = secrets
    .filter(([, , value]) => PLACEHOLDER.test(value))
    .map(
      ([key, variable]) =>
        `${key}: still holds the example's placeholder; set the real value here or in ${variable}`,
    );
  return [...new Set(problems)];
}
