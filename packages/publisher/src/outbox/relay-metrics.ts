import { Counter, Gauge, Registry } from 'prom-client';

export interface OutboxBacklog {
  unsent: number;
  /** Seconds since the oldest unsent row was written; 0 when none is waiting. */
  oldestUnsentAgeSeconds: number;
}

/** The relay's Prometheus metrics; the backlog gauges ask the database once per scrape. */
export class RelayMetrics {
  readonly registry: Registry;
  readonly published: Counter;
  readonly failures: Counter;
  readonly retained: Counter;

  constructor(readBacklog: () => Promise<OutboxBacklog>, registry = new Registry()) {
    this.registry = registry;
    let scrape: Promise<OutboxBacklog> | null = null;
    // The registry collects both gauges at once: they share the query in flight, one per scrape.
    const backlog = () => {
      scrape ??= readBacklog().finally(() => (scrape = null));
      return scrape;
    };
    new Gauge({
      name: 'hookstream_outbox_unsent_rows',
      help: 'Outbox rows committed and not yet published (the relay lag, in rows)',
      registers: [registry],
      async collect() {
        this.set((await backlog()).unsent);
      },
    });
    new Gauge({
      name: 'hookstream_outbox_oldest_unsent_age_seconds',
      help: 'Age of the oldest unpublished outbox row (the relay lag, in time); 0 when none waits',
      registers: [registry],
      async collect() {
        this.set((await backlog()).oldestUnsentAgeSeconds);
      },
    });
    this.published = new Counter({
      name: 'hookstream_outbox_published_total',
      help: 'Outbox rows published and marked sent (a row published again after a crash counts again)',
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'hookstream_outbox_relay_failures_total',
      help: 'Relay rounds that failed (database or broker) and were retried',
      registers: [registry],
    });
    this.retained = new Counter({
      name: 'hookstream_outbox_retention_deleted_total',
      help: 'Sent outbox rows deleted by the retention',
      registers: [registry],
    });
  }
}
