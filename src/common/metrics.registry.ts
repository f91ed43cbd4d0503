import { collectDefaultMetrics, Registry } from 'prom-client';

/** One Prometheus registry per process (not prom-client's global), so in-process tests don't clash. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
