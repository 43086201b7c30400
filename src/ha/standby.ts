import type { Logger } from "pino";
import type { Config } from "../config.js";
import { standingBy } from "../http/errors.js";
import { httpServerFor } from "../http/server.js";
import { opsRoutes, type Ops } from "../ops/wiring.js";
import type { Lease, Term } from "./lease.js";

/**
 * Standing by: no XMPP connection, no bot, no web chat; /healthz answers 200 and /readyz 503
 * ("standby: … holds the lease"), so that a load balancer sends browsers to the leader. Resolves
 * with the term once this instance takes the lease, or undefined when `signal` aborts.
 */
export async function standby(
  config: Config,
  log: Logger,
  ops: Ops,
  lease: Lease,
  signal: AbortSignal,
): Promise<Term | undefined> {
  ops.health.clear();
  ops.health.register("leader", () => ({
    ok: false,
    detail: `standby: ${lease.otherHolder ?? "another instance"} holds the lease`,
  }));
  const http = config.http ? httpServerFor(config.http, log) : undefined;
  if (http) {
    opsRoutes(http, ops);
    // A browser or the web application sent here by mistake learns where to go, not "no such".
    http.answerUnrouted(() => standingBy(lease.otherHolder));
    await http.start();
  }
  try {
    return await lease.acquire(signal);
  } finally {
    await http?.stop(1_000);
  }
}
