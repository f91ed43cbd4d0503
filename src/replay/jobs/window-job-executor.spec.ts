import { isTransientError } from '../../domain/transient';
import { testConfig } from '../../testing/fakes';
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
});
