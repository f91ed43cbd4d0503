import { CatalogueSchemas } from '../../domain/catalogue-schemas';
import type { DeliveryTask } from '../../domain/delivery-task';
import type { ConsumedRecord } from '../../domain/records';
import { isTransientError } from '../../domain/transient';
import { testConfig, testNotificationMark } from '../../testing/fakes';
import type { DeliveryTaskProducer } from '../delivery-task-producer';
import type { ReplayTargets } from '../replay-target';
import type { TopicRangeReader } from '../../kafka/topic-range-reader';
import { windowStart, type ReplayJob } from './replay-job';
import { ReplayJobExecutors } from './replay-job-executors';
import { WindowJobExecutor } from './window-job-executor';

const job = (): ReplayJob => ({
  id: 'job-1',
  tenantId: 'tenant-1',
  endpointId: 'endpoint-1',
  kind: 'window',
  since: new Date(0),
  until: null,
  upTo: null,
  state: 'running',
  cancelRequested: false,
  counts: { read: 0, matched: 0, replayed: 0 },
  resumePoint: windowStart([
    { topic: 'platform.events', partition: 0, from: 0n, end: 10n },
    { topic: 'platform.legacy', partition: 0, from: 0n, end: 10n },
  ]),
  error: null,
  claims: 1,
  createdAt: new Date(0),
  startedAt: new Date(0),
  finishedAt: null,
});

/** Runs a window job over `records` (one chunk of platform.events/0) for `target`; the event ids replayed. */
async function replayedIds(
  records: ConsumedRecord[],
  target: { tenantId: string; eventTypes: string[] },
  catalogue = new CatalogueSchemas(),
): Promise<string[]> {
  const end = BigInt(records.length);
  const replayed: DeliveryTask[] = [];
  const reader = {
    missingTopics: async () => [],
    scan: async (
      _ranges: unknown,
      _window: unknown,
      _options: unknown,
      visit: (records: ConsumedRecord[], position: object) => Promise<unknown>,
    ) => {
      await visit(records, { topic: 'platform.events', partition: 0, next: end });
      return { scanned: records.length, complete: true };
    },
  };
  const executor = new WindowJobExecutor(
    testConfig(),
    reader as unknown as TopicRangeReader,
    { require: async () => ({ id: 'endpoint-1', ...target }) } as unknown as ReplayTargets,
    {
      send: async (tasks: DeliveryTask[]) => void replayed.push(...tasks),
    } as unknown as DeliveryTaskProducer,
    new ReplayJobExecutors(),
    testNotificationMark,
    catalogue,
  );
  const windowJob = {
    ...job(),
    tenantId: target.tenantId,
    resumePoint: windowStart([{ topic: 'platform.events', partition: 0, from: 0n, end }]),
  };
  await expect(executor.run(windowJob, async () => 'continue')).resolves.toBe('done');
  return replayed.map((task) => task.eventId);
}

describe('WindowJobExecutor', () => {
  it('fails a job whose input topic no longer exists, rather than reading it as if the broker were away', async () => {
    const scanned: unknown[] = [];
    const reader = {
      missingTopics: async (topics: string[]) => topics.filter((topic) => topic === 'platform.legacy'),
      scan: async (...args: unknown[]) => void scanned.push(args),
    };
    const executor = new WindowJobExecutor(
      testConfig(),
      reader as unknown as TopicRangeReader,
      { require: async () => ({ id: 'endpoint-1' }) } as unknown as ReplayTargets,
      { send: async () => undefined } as unknown as DeliveryTaskProducer,
      new ReplayJobExecutors(),
      testNotificationMark,
      new CatalogueSchemas(),
    );
    const failure = await executor.run(job(), async () => 'continue').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe(
      'input topic platform.legacy no longer exists; its records cannot be replayed',
    );
    // Not transient: the runner marks the job failed instead of handing it back.
    expect(isTransientError(failure)).toBe(false);
    expect(scanned).toEqual([]);
  });

  it('replays a marked notification, never a hookstream.* record the fan-out dead-lettered as reserved_type', async () => {
    const tenantId = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';
    const about = '0a000000-0000-4000-8000-000000000009';
    const event = (id: string) => ({
      specversion: '1.0' as const,
      id,
      type: 'hookstream.endpoint.disabled',
      source: 'hookstream',
      subject: about,
      time: '2026-12-02T12:00:00.000Z',
      tenantId,
      data: { endpoint: { id: about, url: null } },
    });
    const record = (id: string, headers: Record<string, string>): ConsumedRecord => {
      const { tenantId: tenantid, ...rest } = event(id);
      return {
        topic: 'platform.events',
        partition: 0,
        offset: '0',
        key: tenantId,
        value: Buffer.from(JSON.stringify({ ...rest, tenantid })),
        headers,
        timestampMs: Date.UTC(2026, 11, 2, 12),
      };
    };
    const records = [
      record('n-genuine', { 'hs-notification-mac': testNotificationMark.mark(event('n-genuine')) }),
      record('n-forged', {}),
      record('n-copied', { 'hs-notification-mac': testNotificationMark.mark(event('n-genuine')) }),
    ];
    expect(await replayedIds(records, { tenantId, eventTypes: ['hookstream.*'] })).toEqual(['n-genuine']);
  });

  it('replays only what the fan-out took: never a record it dead-lettered for its key or its schema', async () => {
    const tenantId = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';
    const otherTenant = '2f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';
    const record = (id: string, key: string | null, data: object = { status: 'paid' }): ConsumedRecord => ({
      topic: 'platform.events',
      partition: 0,
      offset: '0',
      key,
      value: Buffer.from(
        JSON.stringify({
          specversion: '1.0',
          id,
          type: 'order.created',
          source: 'orders',
          time: '2026-12-02T12:00:00Z',
          tenantid: tenantId,
          data,
        }),
      ),
      headers: {},
      timestampMs: Date.UTC(2026, 11, 2, 12),
    });
    const catalogue = new CatalogueSchemas();
    catalogue.apply({
      name: 'order.created',
      schema: JSON.stringify({ type: 'object', required: ['status'] }),
      validation: 'reject',
      deprecated: false,
      version: 1,
    });
    const records = [
      record('ok', tenantId),
      record('key-of-other-tenant', otherTenant),
      record('upper-case-key', tenantId.toUpperCase()),
      record('no-key', null),
      record('schema-failing', tenantId, { amount: 1 }),
    ];
    expect(await replayedIds(records, { tenantId, eventTypes: ['*'] }, catalogue)).toEqual(['ok']);
  });
});
