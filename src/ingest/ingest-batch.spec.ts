import { Registry } from 'prom-client';
import { QuotaMetrics } from '../common/quota-metrics';
import { CatalogueSchemas } from '../domain/catalogue-schemas';
import { FakeIdempotencyKeys } from '../testing/fake-idempotency-keys';
import { FakeClock, RecordingProducer, silentLogger, testConfig } from '../testing/fakes';
import { IngestBatch } from './ingest-batch';
import { IngestIdempotency } from './ingest-idempotency';
import { IngestRate } from './ingest-rate';
import { IngestService } from './ingest.service';

const TENANT = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';

describe('IngestBatch', () => {
  const setUp = (env: Record<string, string> = {}) => {
    const config = testConfig(env);
    const clock = new FakeClock();
    const producer = new RecordingProducer();
    const registry = new Registry();
    const idempotency = new IngestIdempotency(new FakeIdempotencyKeys(clock), config, registry, silentLogger);
    const rate = new IngestRate(config, new QuotaMetrics(registry, config), clock);
    const service = new IngestService(
      config,
      producer,
      rate,
      clock,
      idempotency,
      new CatalogueSchemas(),
      registry,
    );
    const published = () =>
      producer
        .to(config.kafka.inputTopics[0])
        .map((record) => JSON.parse(String(record.value)) as { id: string; data: unknown });
    return { batch: new IngestBatch(service), published };
  };

  it('publishes the good events, refuses the bad by index with the status a single POST would get', async () => {
    const { batch, published } = setUp();
    const answer = await batch.publish(TENANT, [
      { type: 'record.updated', data: { n: 0 } },
      { type: 'no spaces allowed', data: { n: 1 } },
      { type: 'record.updated', data: { n: 2 }, extra: 1 },
      42,
      { type: 'hookstream.endpoint.disabled', data: null },
      { type: 'record.updated', data: { n: 5 }, time: 'yesterday' },
      { type: 'record.updated', data: { n: 6 } },
    ]);
    expect(answer.results.map((result) => [result.index, result.status])).toEqual([
      [0, 202],
      [1, 400],
      [2, 400],
      [3, 400],
      [4, 400],
      [5, 400],
      [6, 202],
    ]);
    expect(answer).toMatchObject({ accepted: 2, rejected: 5 });
    expect(answer.results[2].details).toEqual(['property extra should not exist']);
    expect(published().map((event) => event.data)).toEqual([{ n: 0 }, { n: 6 }]);
  });

  it('checks the nesting and numbers of each event alone, as a single POST would', async () => {
    const { batch, published } = setUp();
    const nested = (depth: number): unknown => (depth === 1 ? [] : [nested(depth - 1)]);
    const answer = await batch.publish(TENANT, [
      { type: 'record.updated', data: nested(64) },
      { type: 'record.updated', data: nested(65) },
      { type: 'record.updated', data: { n: Number.POSITIVE_INFINITY } },
      { type: 'record.updated', data: { n: 3 } },
    ]);
    expect(answer.results.map((result) => [result.index, result.status, result.message])).toEqual([
      [0, 202, undefined],
      [1, 400, 'data is nested deeper than 64 levels'],
      [2, 400, 'data holds a number outside the range of a double (RFC 7493 I-JSON)'],
      [3, 202, undefined],
    ]);
    expect(published()).toHaveLength(2);
  });

  it('queues events without an id for Kafka in request order', async () => {
    const { batch, published } = setUp();
    const events = Array.from({ length: 50 }, (_, n) => ({ type: 'record.updated', data: { n } }));
    await batch.publish(TENANT, events);
    expect(published().map((event) => event.data)).toEqual(events.map((event) => event.data));
  });

  it('answers a repeated id 200 with the first id, within a batch and across batches, publishing once', async () => {
    const { batch, published } = setUp();
    const event = { type: 'record.updated', data: { once: true }, id: 'evt-1' };
    const first = await batch.publish(TENANT, [event, { ...event }, { ...event, data: { other: true } }]);
    const again = await batch.publish(TENANT, [event, { ...event, data: { other: true } }]);
    expect(first.results.map((result) => result.status)).toEqual([202, 200, 422]);
    expect(first.results[0]).toMatchObject({ status: 202, id: 'evt-1' });
    expect(again.results.map((result) => result.status)).toEqual([200, 422]);
    expect(again).toMatchObject({ accepted: 0, rejected: 1 });
    expect(published().map((event) => event.id)).toEqual(['evt-1']);
  });

  it("takes one token of the tenant's ingest rate per event, refusing the rest 429", async () => {
    const { batch, published } = setUp({
      HOOKSTREAM_TENANT_INGEST_RATE: '1',
      HOOKSTREAM_TENANT_INGEST_BURST: '3',
    });
    const answer = await batch.publish(
      TENANT,
      Array.from({ length: 5 }, (_, n) => ({ type: 'record.updated', data: { n } })),
    );
    expect(answer.results.map((result) => result.status)).toEqual([202, 202, 202, 429, 429]);
    expect(answer.results[3]).toMatchObject({ error: 'rate_limited', retryAfterSeconds: 1 });
    expect(answer.results[0].retryAfterSeconds).toBeUndefined();
    expect(published()).toHaveLength(3);
  });
});
