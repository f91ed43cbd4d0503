import { collectTopic } from '../support/kafka';
import { waitForJob } from '../support/replay-jobs';
import { createStack, kafka, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { publishMany } from './publish';

const EVENTS = 12_000;
const CHUNK = 200;
/** Two delivery partitions of HOOKSTREAM_PARTITION_WINDOW records: what the delivery side may re-attempt. */
const PARTITION_WINDOW = 500;

describe('a backfill job survives a SIGKILL of the process running it', () => {
  let stack: Stack | undefined;
  afterAll(() => stopStack(stack));

  it('resumes from its resume point after a restart; every event delivered, at most one chunk re-sent', async () => {
    stack = await createStack('backfill-kill', {
      HOOKSTREAM_REPLAY_CHUNK: String(CHUNK),
      HOOKSTREAM_REPLAY_JOB_LEASE: '3s',
      HOOKSTREAM_PARTITION_WINDOW: String(PARTITION_WINDOW),
    });
    const api = await stack.boot('backfill-kill-1');
    const { receiver, producer, inputTopic, deliveriesTopic } = stack;
    const tenant = await api.createTenant('Backfill');
    const since = new Date(Date.now() - 1000).toISOString();
    const ids = await publishMany(producer, inputTopic, tenant.id, EVENTS);
    // Created after the events: the fan-out delivered none of them, only the job does.
    // Unordered and concurrent, so 12,000 deliveries to one endpoint take seconds, not minutes.
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', {
      url: receiver.url('/backfill'),
      maxConcurrency: 16,
    });
    const tasks = await collectTopic(kafka, deliveriesTopic);
    try {
      const job = await tenant.client.ok('POST', `/v1/endpoints/${endpoint.id}/replay`, { since });
      const before = await waitFor(
        async () => {
          const now = await tenant.client.ok('GET', `/v1/replay-jobs/${job.id}`);
          return now.state === 'running' && now.counts.replayed >= 1_000 ? now : null;
        },
        { timeoutMs: 90_000, intervalMs: 20, what: 'the job to replay 1,000 events' },
      );
      expect(before.counts.replayed).toBeLessThan(EVENTS);
      await stack.service.kill();

      const restarted = await stack.boot('backfill-kill-2');
      const done = await waitForJob(restarted.as(tenant.apiKey), job.id, 'succeeded', 180_000);
      // Claimed twice: before the kill and after it, from the saved resume point, not from the start.
      expect(done.runs).toBe(2);
      expect(done.counts.matched).toBe(EVENTS);
      expect(done.counts.replayed).toBe(EVENTS);
      const resumed = stack.service.logs.find(
        (entry) => entry.msg === 'replay job started' && entry.jobId === job.id,
      );
      expect(resumed).toMatchObject({ resumed: true });
      expect(Number(resumed!.replayed)).toBeGreaterThanOrEqual(before.counts.replayed);

      // Every event reached the receiver at least once.
      const missing = () => {
        const delivered = new Set(receiver.on('/backfill').map((request) => request.headers['webhook-id']));
        return ids.filter((id) => !delivered.has(id));
      };
      await waitFor(() => missing().length === 0, {
        timeoutMs: 240_000,
        intervalMs: 1_000,
        what: () => `every event at the receiver (${missing().length} missing)`,
      });

      // The job re-sent at most the one chunk produced but not yet saved when it was killed.
      const forEndpoint = () => tasks.messages.filter((message) => message.key === endpoint.id);
      await waitFor(() => forEndpoint().length >= EVENTS, { what: 'every task in the deliveries topic' });
      const resent = forEndpoint().length - EVENTS;
      expect(resent).toBeGreaterThanOrEqual(0);
      expect(resent).toBeLessThanOrEqual(CHUNK);
      // And the receiver saw at most that plus the delivery side's in-flight window again.
      const duplicates = receiver.on('/backfill').length - EVENTS;
      expect(duplicates).toBeLessThanOrEqual(CHUNK + 2 * PARTITION_WINDOW);
      console.log(`backfill SIGKILL: ${resent} tasks re-sent by the job, ${duplicates} duplicate deliveries`);
    } finally {
      await tasks.stop();
    }
  }, 600_000);
});
