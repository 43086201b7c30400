import { within } from "../backoff.js";
import type { Database } from "../db/database.js";
import type { HttpServer } from "../http/server.js";
import type { Link, LinkState } from "../xmpp/link.js";
import { Health } from "./health.js";
import { Metrics } from "./metrics.js";

/** What outlives one term of an active/standby instance: the metrics and the health checks. */
export interface Ops {
  metrics: Metrics;
  health: Health;
}

export function newOps(): Ops {
  return { metrics: new Metrics(), health: new Health() };
}

/**
 * GET /healthz (the process runs: always 200), /readyz (200 when every check passes, else 503
 * with each check's state), /metrics (Prometheus text).
 */
export function opsRoutes(http: HttpServer, { health, metrics }: Ops): void {
  http.routes((scope) => {
    scope.get("/healthz", () => ({ status: "ok" }));
    scope.get("/readyz", async (_request, reply) => {
      const status = await health.status();
      return reply.code(status.ready ? 200 : 503).send(status);
    });
    scope.get("/metrics", async (_request, reply) =>
      reply.type(metrics.contentType).send(await metrics.scrape()),
    );
    return Promise.resolve();
  });
}

const STATE_WORDS: Record<LinkState, string> = {
  idle: "not started",
  connecting: "connecting",
  online: "online",
  waiting: "waiting to reconnect",
  stopping: "stopping",
  stopped: "stopped",
};

/** A connection's state as a readiness check, a gauge and a count of reconnects. */
export function watchLink({ health, metrics }: Ops, name: string, link: Link): void {
  let attempts = 0;
  let lastFailure: string | undefined;
  metrics.linkUp.set({ link: name }, 0);
  // A series from the start: a rate over it is zero, not missing, until the first reconnect.
  metrics.reconnects.inc({ link: name }, 0);
  link.on("state", (state) => {
    metrics.linkUp.set({ link: name }, state === "online" ? 1 : 0);
    if (state === "connecting" && attempts++ > 0) metrics.reconnects.inc({ link: name });
  });
  link.on("failure", (message) => (lastFailure = message));
  link.on("online", () => (lastFailure = undefined));
  health.register(name, () => ({
    ok: link.online,
    detail: link.online
      ? "online"
      : `${STATE_WORDS[link.state]}${lastFailure ? ` (${lastFailure})` : ""}`,
  }));
}

/** How long /readyz waits for the database to answer. */
const READY_QUERY_MS = 2_000;

/**
 * The database as a readiness check (asked each time: a quiet daemon would not notice an outage
 * otherwise, and the answer tells the database class too) and its pool's use.
 */
export function watchDatabase({ health, metrics }: Ops, db: Database): void {
  const unreachable = () => ({ ok: false, detail: `unreachable (${db.downReason ?? "unknown"})` });
  health.register("database", async () => {
    if (!db.available) return unreachable();
    const answered = await within(
      db.query("SELECT 1").then(
        () => true,
        () => false,
      ),
      READY_QUERY_MS,
    );
    if (answered === undefined)
      return { ok: false, detail: `no answer within ${READY_QUERY_MS} ms` };
    return answered ? { ok: true, detail: "reachable" } : unreachable();
  });
  metrics.onCollect(() => {
    metrics.dbUp.set(db.available ? 1 : 0);
    metrics.dbConnections.set({ state: "total" }, db.pool.totalCount);
    metrics.dbConnections.set({ state: "idle" }, db.pool.idleCount);
    metrics.dbConnections.set({ state: "waiting" }, db.pool.waitingCount);
  });
}
