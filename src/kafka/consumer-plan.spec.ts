import { loadConfig } from '../config/config';
import type { ConsumedRecord } from '../domain/records';
import { CONSUMER, consumerPlan } from './consumer-plan';

const config = loadConfig({
  HOOKSTREAM_ADMIN_TOKEN: 'a'.repeat(16),
  HOOKSTREAM_SECRET_KEY: 'k'.repeat(32),
  HOOKSTREAM_TOPIC_NAMESPACE: 'ns',
  HOOKSTREAM_RETRY_DELAYS: '1s,2m',
});

const deliveries = (retired: Parameters<typeof consumerPlan>[1] = []) => {
  const declaration = consumerPlan(config, retired).find((d) => d.name === 'deliveries');
  if (!declaration || declaration.mode !== 'records') throw new Error('no deliveries consumer');
  return declaration;
};

const record = (topic: string, dueAtMs: number, timestampMs: number) =>
  ({ topic, timestampMs, headers: { 'hs-due-at': String(dueAtMs) } }) as unknown as ConsumedRecord;

describe('consumerPlan: the deliveries consumer', () => {
  it('reads the deliveries topic and every tier of HOOKSTREAM_RETRY_DELAYS', () => {
    const plan = deliveries();
    expect(plan.topics).toEqual(['ns.deliveries', 'ns.retry.1.1s', 'ns.retry.2.2m']);
    expect(plan.idleProbe?.topics).toEqual(['ns.retry.1.1s', 'ns.retry.2.2m']);
    expect(plan.patternFor('ns.deliveries')).toBe(CONSUMER.firstAttempts);
    expect(plan.patternFor('ns.retry.2.2m')).toBe(CONSUMER.retryTiers);
  });

  it('reads retired tiers as tiers too: each record when due, within 1.25 x its delay', () => {
    const plan = deliveries([{ topic: 'ns.retry.1.5s', delayMs: 5000 }]);
    expect(plan.topics).toEqual(['ns.deliveries', 'ns.retry.1.1s', 'ns.retry.2.2m', 'ns.retry.1.5s']);
    expect(plan.idleProbe?.topics).toContain('ns.retry.1.5s');
    expect(plan.patternFor('ns.retry.1.5s')).toBe(CONSUMER.retryTiers);
    // Due as its header says, capped by the retired tier's own delay (not today's 1 s).
    expect(plan.dueAtMs?.(record('ns.retry.1.5s', 4000, 0))).toBe(4000);
    expect(plan.dueAtMs?.(record('ns.retry.1.5s', 60_000, 0))).toBe(6250);
    expect(plan.dueAtMs?.(record('ns.deliveries', 4000, 0))).toBeNull();
  });

  it('probes idle tier partitions at the pace of the shortest tier, retired ones included', () => {
    expect(deliveries().idleProbe?.intervalMs).toBe(500);
    expect(deliveries([{ topic: 'ns.retry.1.200ms', delayMs: 200 }]).idleProbe?.intervalMs).toBe(100);
  });
});
