import client from "prom-client";

/** What a metric family's values are read from at scrape time (pool levels, open streams). */
export type Collector = () => void | Promise<void>;

/**
 * The daemon's Prometheus metrics (the README lists them). Counters and histograms are updated
 * where things happen; levels (rooms by status, open streams, database connections) are read
 * by collectors when Prometheus scrapes.
 */
export class Metrics {
  readonly registry = new client.Registry();
  readonly #collectors: Collector[] = [];

  readonly stanzasIn = new client.Counter({
    name: "concierge_stanzas_received_total",
    help: "Stanzas received from the XMPP server, by kind and the namespace they were routed by",
    labelNames: ["kind", "ns"] as const,
    registers: [this.registry],
  });

  readonly stanzasOut = new client.Counter({
    name: "concierge_stanzas_sent_total",
    help: "Stanzas written to the XMPP server, by link and kind",
    labelNames: ["link", "kind"] as const,
    registers: [this.registry],
  });

  readonly handlerSeconds = new client.Histogram({
    name: "concierge_iq_handler_seconds",
    help: "Time from an iq request's arrival to its answer, by namespace",
    labelNames: ["ns"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly errors = new client.Counter({
    name: "concierge_stanza_errors_total",
    help: "Error replies sent, by condition",
    labelNames: ["condition"] as const,
    registers: [this.registry],
  });

  readonly linkUp = new client.Gauge({
    name: "concierge_link_up",
    help: "1 while a connection to the XMPP server is online (link: component, bot)",
    labelNames: ["link"] as const,
    registers: [this.registry],
  });

  readonly reconnects = new client.Counter({
    name: "concierge_link_reconnects_total",
    help: "Connection attempts after the first, by link",
    labelNames: ["link"] as const,
    registers: [this.registry],
  });

  readonly poolRooms = new client.Gauge({
    name: "concierge_pool_rooms",
    help: "Pool rooms by status (closed rooms not counted)",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });

  readonly claimTimeouts = new client.Counter({
    name: "concierge_pool_claim_timeouts_total",
    help: "Claims released because the person did not arrive in time",
    registers: [this.registry],
  });

  readonly webStreams = new client.Gauge({
    name: "concierge_webchat_streams",
    help: "Open browser streams (SSE) and waiting long polls",
    registers: [this.registry],
  });

  readonly dbConnections = new client.Gauge({
    name: "concierge_db_connections",
    help: "Database pool connections, by state (total, idle, waiting requests)",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });

  readonly dbUp = new client.Gauge({
    name: "concierge_db_up",
    help: "1 while the database answers",
    registers: [this.registry],
  });

  readonly leader = new client.Gauge({
    name: "concierge_leader",
    help: "1 while this instance holds the lease and acts (always 1 without active/standby)",
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: "concierge_" });
  }

  onCollect(collector: Collector): void {
    this.#collectors.push(collector);
  }

  /** The exposition text, after every collector ran (a failing collector leaves its old values). */
  async scrape(): Promise<string> {
    await Promise.all(
      this.#collectors.map((collect) => Promise.resolve(collect()).catch(() => undefined)),
    );
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
