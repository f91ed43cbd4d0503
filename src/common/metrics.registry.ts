import { collectDefaultMetrics, Registry } from 'prom-client';

/** One Prometheus registry per process (not prom-client's global), so in-process tests don't clash. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/**
 * The series that describe the whole cluster, not this process (consumer lag, dead letters, held
 * deliveries, endpoints by status): every replica computes them, and GET /metrics serves them from
 * one replica only, the exporter (src/cluster/replica-registry.ts), so sums over replicas are right.
 */
export const CLUSTER_METRICS_REGISTRY = Symbol('CLUSTER_METRICS_REGISTRY');
