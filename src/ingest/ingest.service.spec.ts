import { CatalogueSchemas } from '../domain/catalogue-schemas';
import { Registry } from 'prom-client';
import { QuotaMetrics } from '../common/quota-metrics';
import { requestFingerprint } from '../domain/idempotency';
import { FakeClock, RecordingProducer, silentLogger, testConfig } from '../testing/fakes';
import { FakeIdempotencyKeys as FakeKeys } from '../testing/fake-idempotency-keys';
import { IngestIdempotency } from './ingest-idempotency';
import { IngestRate } from './ingest-rate';
import { IngestService } from './ingest.service';

const TENANT = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';

describe('IngestService with idempotency keys', () => {
  const config = testConfig();
  const topic = config.kafka.inputTopics[0];
  let clock: FakeClock;
  let keys: FakeKeys;
  let producer: RecordingProducer;
  let registry: Registry;
  let service: IngestService;
  let catalogue: CatalogueSchemas;

  beforeEach(() => {
    clock = new FakeClock();
    keys = new FakeKeys(clock);
    producer = new RecordingProducer();
    registry = new Registry();
    const idempotency = new IngestIdempotency(keys, config, registry, silentLogger);
    const rate = new IngestRate(config, new QuotaMetrics(registry, config), clock);
    catalogue = new CatalogueSchemas();
    service = new IngestService(config, producer, rate, clock, idempotency, catalogue, registry);
  });

  const published = () =>
    producer.to(topic).map((record) => JSON.parse(String(record.value)) as { id: string });
  const duplicates = async (answer: string) =>
    (await registry.getSingleMetric('hookstream_ingest_duplicates_total')!.get()).values.find(
      (value) => value.labels.answer === answer,
    )?.value;

  it("refuses data failing its type's reject-mode schema (400 naming the path), claiming no key", async () => {
    catalogue.apply({
      name: 'order.created',
      schema: JSON.stringify({ type: 'object', properties: { total: { type: 'number' } } }),
      validation: 'reject',
      deprecated: false,
      version: 2,
    });
    const bad = { type: 'order.created', data: { total: 'ten' }, id: 'evt-schema' };
    await expect(service.publish(TENANT, bad)).rejects.toMatchObject({
      code: 'validation_failed',
      message: 'data/total must be number (schema of event type order.created, version 2)',
    });
    expect(published()).toHaveLength(0);
    // The corrected event under the same id goes through: the refusal claimed nothing.
    await expect(service.publish(TENANT, { ...bad, data: { total: 10 } })).resolves.toEqual({
      id: 'evt-schema',
      replayed: false,
    });
  });

  it('publishes an event id once and answers a repeat with it, replayed', async () => {
    const body = { type: 'record.updated', data: { n: 1 }, id: 'evt-1' };
    await expect(service.publish(TENANT, body)).resolves.toEqual({ id: 'evt-1', replayed: false });
    await expect(service.publish(TENANT, { ...body })).resolves.toEqual({ id: 'evt-1', replayed: true });
    expect(published().map((event) => event.id)).toEqual(['evt-1']);
    expect(await duplicates('replayed')).toBe(1);
  });

  it('keys on the Idempotency-Key header when given, answering with the generated id', async () => {
    const body = { type: 'record.updated', data: null };
    const first = await service.publish(TENANT, body, 'order-42');
    const again = await service.publish(TENANT, body, 'order-42');
    expect(again).toEqual({ id: first.id, replayed: true });
    expect(published()).toHaveLength(1);
  });

  it('publishes every request that has neither a key nor an id, without asking PostgreSQL', async () => {
    keys.down = true;
    const body = { type: 'record.updated', data: null };
    const ids = [(await service.publish(TENANT, body)).id, (await service.publish(TENANT, body)).id];
    expect(new Set(ids).size).toBe(2);
    expect(published()).toHaveLength(2);
  });

  it("refuses Hookstream's own notification types (400): only Hookstream publishes them", async () => {
    const body = { type: 'hookstream.endpoint.disabled', data: { endpoint: { id: 'x' } } };
    await expect(service.publish(TENANT, body)).rejects.toMatchObject({ code: 'validation_failed' });
    expect(published()).toEqual([]);
  });

  it('refuses the same key with another body (422), publishing nothing more', async () => {
    await service.publish(TENANT, { type: 'record.updated', data: { n: 1 } }, 'k');
    await expect(
      service.publish(TENANT, { type: 'record.updated', data: { n: 2 } }, 'k'),
    ).rejects.toMatchObject({
      code: 'idempotency_key_reused',
    });
    expect(published()).toHaveLength(1);
    expect(await duplicates('body_mismatch')).toBe(1);
  });

  it('answers in progress (409, Retry-After) while the first request is publishing, and takes an abandoned claim over', async () => {
    const body = { type: 'record.updated', data: null, id: 'evt-slow' };
    await keys.claim({
      tenantId: TENANT,
      key: 'evt-slow',
      eventId: 'evt-slow',
      bodyHash: requestFingerprint(body),
      token: '00000000-0000-4000-8000-000000000001',
      windowMs: config.idempotencyWindowMs,
      abandonedAfterMs: 60_000,
    });
    await expect(service.publish(TENANT, body)).rejects.toMatchObject({
      code: 'idempotency_key_in_progress',
      retryAfterSeconds: 1,
    });
    expect(published()).toHaveLength(0);
    clock.advance(60_001);
    await expect(service.publish(TENANT, body)).resolves.toEqual({ id: 'evt-slow', replayed: false });
    expect(published().map((event) => event.id)).toEqual(['evt-slow']);
  });

  it('lets the retry of a failed publish through, under the id the first attempt was given', async () => {
    const body = { type: 'record.updated', data: null };
    producer.failWith = new Error('KafkaJSNumberOfRetriesExceeded');
    await expect(service.publish(TENANT, body, 'retry-me')).rejects.toMatchObject({ code: 'unavailable' });
    const [claim] = keys.rows.values();
    expect(claim.state).toBe('failed');
    producer.failWith = null;
    await expect(service.publish(TENANT, body, 'retry-me')).resolves.toEqual({
      id: claim.eventId,
      replayed: false,
    });
    await expect(service.publish(TENANT, body, 'retry-me')).resolves.toEqual({
      id: claim.eventId,
      replayed: true,
    });
    expect(published().map((event) => event.id)).toEqual([claim.eventId]);
  });

  it('answers 503 and publishes nothing when PostgreSQL is unavailable for a keyed request', async () => {
    keys.down = true;
    await expect(
      service.publish(TENANT, { type: 'record.updated', data: null, id: 'evt-x' }),
    ).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('PostgreSQL') as string,
    });
    expect(published()).toHaveLength(0);
  });

  it('still answers an accepted event as accepted when its claim cannot be settled', async () => {
    const body = { type: 'record.updated', data: null, id: 'evt-settle' };
    const settleMany = keys.settleMany.bind(keys);
    keys.settleMany = async () => {
      throw new Error('Connection terminated unexpectedly');
    };
    await expect(service.publish(TENANT, body)).resolves.toEqual({ id: 'evt-settle', replayed: false });
    keys.settleMany = settleMany;
    // The claim stays pending: a repeat is "in progress" until it is abandoned, never published twice meanwhile.
    await expect(service.publish(TENANT, body)).rejects.toMatchObject({
      code: 'idempotency_key_in_progress',
    });
    expect(published()).toHaveLength(1);
  });

  describe('while Kafka does not answer', () => {
    /** A producer whose sends wait until the test acknowledges or fails them. */
    class GatedProducer {
      readonly sends: Array<{ bytes: number; done: () => void; fail: (error: Error) => void }> = [];
      send(_topic: string, records: Array<{ value: string | Buffer | null }>): Promise<void> {
        return new Promise((resolve, reject) => {
          const bytes = records.reduce((sum, record) => sum + Buffer.byteLength(record.value ?? ''), 0);
          this.sends.push({ bytes, done: resolve, fail: reject });
        });
      }
    }
    let gated: GatedProducer;
    const withGate = (env: Record<string, string>) => {
      const gatedConfig = testConfig(env);
      gated = new GatedProducer();
      const gatedRegistry = new Registry();
      const idempotency = new IngestIdempotency(keys, gatedConfig, gatedRegistry, silentLogger);
      const rate = new IngestRate(gatedConfig, new QuotaMetrics(gatedRegistry, gatedConfig), clock);
      const gatedService = new IngestService(
        gatedConfig,
        gated,
        rate,
        clock,
        idempotency,
        catalogue,
        gatedRegistry,
      );
      const unavailable = async (reason: string) =>
        (await gatedRegistry.getSingleMetric('hookstream_ingest_unavailable_total')!.get()).values.find(
          (value) => value.labels.reason === reason,
        )?.value;
      return { service: gatedService, unavailable };
    };
    afterEach(() => jest.useRealTimers());

    it('answers 503 at HOOKSTREAM_INGEST_TIMEOUT, and keeps a keyed event claimed until its write ends', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const { service: gatedService, unavailable } = withGate({ HOOKSTREAM_INGEST_TIMEOUT: '5s' });
      const body = { type: 'record.updated', data: null, id: 'evt-late' };
      const first = gatedService.publish(TENANT, body);
      const answered = expect(first).rejects.toMatchObject({
        code: 'unavailable',
        message: expect.stringContaining('within 5000 ms') as string,
      });
      await jest.advanceTimersByTimeAsync(5_000);
      await answered;
      expect(await unavailable('timeout')).toBe(1);
      // The write still runs: a retry meanwhile waits for it (409) rather than publishing a copy.
      expect(gated.sends).toHaveLength(1);
      await expect(gatedService.publish(TENANT, body)).rejects.toMatchObject({
        code: 'idempotency_key_in_progress',
      });
      gated.sends[0].done();
      await jest.advanceTimersByTimeAsync(0);
      await expect(gatedService.publish(TENANT, body)).resolves.toEqual({ id: 'evt-late', replayed: true });
      expect(gated.sends).toHaveLength(1);
    });

    it('refuses at once (503) past HOOKSTREAM_INGEST_BUFFER bytes waiting, and takes events again once acknowledged', async () => {
      const { service: gatedService, unavailable } = withGate({ HOOKSTREAM_INGEST_BUFFER: '2KiB' });
      const event = () => ({ type: 'record.updated', data: { pad: 'x'.repeat(700) } });
      const waiting = [gatedService.publish(TENANT, event()), gatedService.publish(TENANT, event())];
      await new Promise((resolve) => setImmediate(resolve));
      expect(gated.sends).toHaveLength(2);
      await expect(gatedService.publish(TENANT, event())).rejects.toMatchObject({
        code: 'unavailable',
        message: expect.stringContaining('HOOKSTREAM_INGEST_BUFFER') as string,
      });
      expect(gated.sends).toHaveLength(2);
      expect(await unavailable('buffer_full')).toBe(1);
      for (const send of gated.sends) send.done();
      await Promise.all(waiting);
      const next = gatedService.publish(TENANT, event());
      await new Promise((resolve) => setImmediate(resolve));
      expect(gated.sends).toHaveLength(3);
      gated.sends[2].done();
      await expect(next).resolves.toMatchObject({ replayed: false });
    });

    it('lets one event through an empty buffer whatever its size', async () => {
      const { service: gatedService } = withGate({ HOOKSTREAM_INGEST_BUFFER: '100' });
      const published = gatedService.publish(TENANT, {
        type: 'record.updated',
        data: { pad: 'x'.repeat(500) },
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(gated.sends).toHaveLength(1);
      gated.sends[0].done();
      await expect(published).resolves.toMatchObject({ replayed: false });
    });
  });
});
