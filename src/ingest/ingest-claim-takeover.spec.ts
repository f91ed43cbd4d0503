import pino from 'pino';
import { Registry } from 'prom-client';
import { QuotaMetrics } from '../common/quota-metrics';
import { CatalogueSchemas } from '../domain/catalogue-schemas';
import { ABANDONED_CLAIM_AFTER_MS } from '../domain/idempotency';
import { FakeIdempotencyKeys } from '../testing/fake-idempotency-keys';
import { FakeClock, testConfig } from '../testing/fakes';
import { IngestIdempotency, RENEW_CLAIMS_EVERY_MS } from './ingest-idempotency';
import { IngestRate } from './ingest-rate';
import { IngestService } from './ingest.service';

const TENANT = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';

/** A producer whose sends wait until the test acknowledges or fails them, one by one. */
class GatedProducer {
  readonly sends: Array<{ id: string; done: () => void; fail: (error: Error) => void }> = [];
  send(_topic: string, records: Array<{ value: string | Buffer | null }>): Promise<void> {
    return new Promise((resolve, reject) => {
      const { id } = JSON.parse(String(records[0].value)) as { id: string };
      this.sends.push({ id, done: resolve, fail: reject });
    });
  }
}

/**
 * Review H2: a claim taken over while its first write still runs. Each request settles only the
 * claim it holds: the first write's late failure leaves its successor's claim alone, and its late
 * success marks the event published (it is on the topic), which a later failure does not undo.
 */
describe('IngestService: a claim taken over while its first write runs', () => {
  let clock: FakeClock;
  let keys: FakeIdempotencyKeys;
  let gated: GatedProducer;
  let registry: Registry;
  let service: IngestService;
  /** The messages of warnings logged. */
  let warnings: string[];

  beforeEach(() => {
    warnings = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) },
    );
    const config = testConfig();
    clock = new FakeClock();
    keys = new FakeIdempotencyKeys(clock);
    gated = new GatedProducer();
    registry = new Registry();
    const idempotency = new IngestIdempotency(keys, config, registry, logger);
    const rate = new IngestRate(config, new QuotaMetrics(registry, config), clock);
    service = new IngestService(config, gated, rate, clock, idempotency, new CatalogueSchemas(), registry);
  });

  const body = { type: 'record.updated', data: { n: 1 }, id: 'evt-taken-over' };
  /** Event-loop turns until `condition` holds; fails naming it after 100 (claims and settles are batched). */
  const until = async (condition: () => boolean | Promise<boolean>, what: string) => {
    for (let turn = 0; turn < 100; turn++) {
      if (await condition()) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`never happened: ${what}`);
  };
  const claimState = () => keys.rows.get(`${TENANT}/evt-taken-over`)?.state;
  const superseded = async (outcome: string) =>
    (await registry.getSingleMetric('hookstream_ingest_claims_superseded_total')!.get()).values.find(
      (value) => value.labels.outcome === outcome,
    )?.value;

  /** The first request's write hangs; after the abandonment time its retry takes the claim over. */
  const takenOver = async () => {
    const first = service.publish(TENANT, body);
    await until(() => gated.sends.length === 1, 'the first write');
    clock.advance(ABANDONED_CLAIM_AFTER_MS + 1);
    const second = service.publish(TENANT, body);
    await until(() => gated.sends.length === 2, 'the retry taking the claim over');
    expect(gated.sends.map((send) => send.id)).toEqual(['evt-taken-over', 'evt-taken-over']);
    return { first, second };
  };

  it("does not let the first write's late failure mark the retry's claim failed", async () => {
    const { first, second } = await takenOver();
    gated.sends[0].fail(new Error('KafkaJSNumberOfRetriesExceeded'));
    await expect(first).rejects.toMatchObject({ code: 'unavailable' });
    await until(async () => (await superseded('failed')) === 1, "the first write's failure settled");
    expect(claimState()).toBe('pending');
    // The claim is the retry's still: a third request waits for it (409) instead of a third copy.
    await expect(service.publish(TENANT, body)).rejects.toMatchObject({
      code: 'idempotency_key_in_progress',
    });
    expect(gated.sends).toHaveLength(2);

    gated.sends[1].done();
    await expect(second).resolves.toEqual({ id: 'evt-taken-over', replayed: false });
    expect(claimState()).toBe('published');
    await expect(service.publish(TENANT, body)).resolves.toEqual({ id: 'evt-taken-over', replayed: true });
    expect(gated.sends).toHaveLength(2);
  });

  it("marks the event published on the first write's late success, and the retry's failure does not undo it", async () => {
    const { first, second } = await takenOver();
    gated.sends[0].done();
    await expect(first).resolves.toEqual({ id: 'evt-taken-over', replayed: false });
    await until(() => claimState() === 'published', 'the late success settled');
    expect(await superseded('published')).toBe(1);

    gated.sends[1].fail(new Error('KafkaJSNumberOfRetriesExceeded'));
    await expect(second).rejects.toMatchObject({ code: 'unavailable' });
    await until(async () => (await superseded('failed')) === 1, 'the retry settled');
    expect(claimState()).toBe('published');
    // The event is on the topic: a retry is answered with it, and nothing more is written.
    await expect(service.publish(TENANT, body)).resolves.toEqual({ id: 'evt-taken-over', replayed: true });
    expect(gated.sends).toHaveLength(2);
  });

  describe('while the first write runs for minutes', () => {
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
    afterEach(() => jest.useRealTimers());

    /** Time passes for the claims (FakeClock) and for the renewal timer alike. */
    const elapse = async (ms: number) => {
      for (let left = ms; left > 0; left -= 5_000) {
        clock.advance(Math.min(5_000, left));
        await jest.advanceTimersByTimeAsync(Math.min(5_000, left));
      }
    };

    it('keeps its claim renewed, so a retry waits (409) however long Kafka takes', async () => {
      const first = service.publish(TENANT, body);
      const answered = expect(first).rejects.toMatchObject({ code: 'unavailable' });
      await until(() => gated.sends.length === 1, 'the first write');
      await elapse(3 * 60_000);
      await answered; // 503 at HOOKSTREAM_INGEST_TIMEOUT; the write goes on.
      // A retry's answer, or its write: one taking the claim over would wait on Kafka too.
      let answer: string | undefined;
      void service.publish(TENANT, body).then(
        () => (answer = 'accepted'),
        (error: { code?: string }) => (answer = error.code),
      );
      await until(() => answer !== undefined || gated.sends.length > 1, 'the retry answered');
      expect(gated.sends).toHaveLength(1);
      expect(answer).toBe('idempotency_key_in_progress');

      gated.sends[0].done();
      await until(() => claimState() === 'published', 'the write settled');
      await expect(service.publish(TENANT, body)).resolves.toEqual({ id: 'evt-taken-over', replayed: true });
      expect(gated.sends).toHaveLength(1);
      expect(warnings).toEqual([]);
    });

    it('is taken over once its process could not renew it for the abandonment time, and says so', async () => {
      const first = service.publish(TENANT, body);
      const answered = expect(first).rejects.toMatchObject({ code: 'unavailable' });
      await until(() => gated.sends.length === 1, 'the first write');
      keys.down = true; // This process loses PostgreSQL; the write keeps running.
      await elapse(ABANDONED_CLAIM_AFTER_MS + RENEW_CLAIMS_EVERY_MS);
      await answered;
      keys.down = false; // A retry (another replica, say) reaches it and takes the claim over.
      const second = service.publish(TENANT, body);
      await until(() => gated.sends.length === 2, 'the retry taking the claim over');
      await elapse(RENEW_CLAIMS_EVERY_MS);
      expect(warnings.filter((message) => message.includes('still running here'))).toHaveLength(1);

      gated.sends[0].fail(new Error('KafkaJSNumberOfRetriesExceeded'));
      await until(async () => (await superseded('failed')) === 1, "the first write's failure settled");
      expect(claimState()).toBe('pending');
      gated.sends[1].done();
      await expect(second).resolves.toEqual({ id: 'evt-taken-over', replayed: false });
      expect(claimState()).toBe('published');
    });
  });
});
