import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import type { DataSource, QueryRunner } from 'typeorm';
import { DomainError } from '../../src/common/domain-error';
import { GlobalExceptionFilter } from '../../src/common/exception.filter';
import { QuotaMetrics } from '../../src/common/quota-metrics';
import { EgressPolicy } from '../../src/domain/egress/ip-classifier';
import { buildWebhookHeaders } from '../../src/domain/standard-webhooks';
import type { EndpointCache } from '../../src/endpoints/endpoint-cache';
import { EndpointDirectory } from '../../src/endpoints/endpoint-directory';
import { EndpointsRepository } from '../../src/endpoints/endpoints.repository';
import { EndpointsService } from '../../src/endpoints/endpoints.service';
import { readHeaders, sealHeaders } from '../../src/endpoints/secrets/endpoint-headers';
import { generateSecret, SecretCipher, secretBinding } from '../../src/endpoints/secrets/secret-cipher';
import { MAX_SIGNING_SECRETS } from '../../src/endpoints/secrets/signing-secrets';
import { endpointRow, RecordingProducer, silentLogger, testConfig } from '../../src/testing/fakes';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/wait';

const config = testConfig();
const cipher = new SecretCipher(config.security.secretKeys);

/**
 * EndpointsService over the real endpoints table: secret rotation keeps a bounded number of earlier
 * secrets (review 8 F1), and a PATCH serialises with the writes racing it (F8, F13).
 */
describe('endpoint changes against PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let repository: EndpointsRepository;
  let directory: EndpointDirectory;
  let service: EndpointsService;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
    repository = new EndpointsRepository(dataSource);
    directory = new EndpointDirectory(repository, cipher, silentLogger, new Registry());
    const registry = new Registry();
    service = new EndpointsService(
      repository,
      cipher,
      new EgressPolicy([]),
      async () => ['93.184.216.34'],
      config,
      { refreshEndpoint: async () => undefined } as unknown as EndpointCache,
      new QuotaMetrics(registry, config),
      new RecordingProducer(),
      registry,
      silentLogger,
      { take: () => undefined },
    );
  });
  afterAll(() => database?.drop());

  async function newEndpoint(headers: Record<string, string> = {}, secret = generateSecret()) {
    const tenantId = randomUUID();
    await dataSource.query(`INSERT INTO tenants (id, name) VALUES ($1, 'endpoint changes')`, [tenantId]);
    const id = randomUUID();
    const row = {
      ...endpointRow(id, tenantId, cipher, new Date(), secret),
      ...sealHeaders(cipher, id, headers),
    };
    await repository.insertWithinQuota(row, 100);
    return { tenantId, id };
  }

  async function storedSecretCount(id: string): Promise<number> {
    const [row] = await dataSource.query<Array<{ n: number }>>(
      'SELECT jsonb_array_length(secrets) AS n FROM endpoints WHERE id = $1',
      [id],
    );
    return row.n;
  }

  describe('rotating the secret (F1)', () => {
    it('keeps the current secret and two earlier ones after 10 rotations; each of those verifies', async () => {
      const first = generateSecret();
      const { tenantId, id } = await newEndpoint({}, first);
      const rotated: string[] = [];
      for (let i = 0; i < 10; i++) rotated.push(await service.rotateSecret(tenantId, id)); // a day's grace

      expect(await storedSecretCount(id)).toBe(MAX_SIGNING_SECRETS);
      const snapshot = await directory.findForCache(id);
      const [latest, previous, beforeThat] = [...rotated].reverse();
      expect(snapshot?.secrets).toEqual([latest, previous, beforeThat]);

      const body = JSON.stringify({ id: 'evt_1', type: 'a.b', data: {} });
      const headers = buildWebhookHeaders({
        id: 'evt_1',
        timestampSeconds: Math.floor(Date.now() / 1000),
        body,
        secrets: snapshot?.secrets ?? [],
      });
      expect(headers['webhook-signature'].split(' ')).toHaveLength(MAX_SIGNING_SECRETS);
      // Receivers still on either earlier secret within the cap verify; one dropped by the cap does not.
      for (const secret of [latest, previous, beforeThat]) {
        expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
      }
      for (const dropped of [first, rotated[0]]) {
        expect(() => new Webhook(dropped).verify(body, headers)).toThrow();
      }
    });

    it('signs with three of a row written before the cap, newest first, and a rotation trims it', async () => {
      const { tenantId, id } = await newEndpoint();
      const now = Date.now();
      // As rotations before the fix left it: ten secrets, newest first, each within its grace period.
      const plains = Array.from({ length: 10 }, () => generateSecret());
      const secrets = plains.map((plain, i) => ({
        ...cipher.encrypt(plain, secretBinding(id), new Date(now - i * 1000)),
        expiresAt: i === 0 ? null : new Date(now + 3_600_000 - i * 1000).toISOString(),
      }));
      await dataSource.query('UPDATE endpoints SET secrets = $2::jsonb WHERE id = $1', [
        id,
        JSON.stringify(secrets),
      ]);

      expect((await directory.findForCache(id))?.secrets).toEqual(plains.slice(0, MAX_SIGNING_SECRETS));

      const fresh = await service.rotateSecret(tenantId, id);
      expect(await storedSecretCount(id)).toBe(MAX_SIGNING_SECRETS);
      expect((await directory.findForCache(id))?.secrets).toEqual([fresh, plains[0], plains[1]]);
    });
  });

  /** Holds the endpoint's row lock in a transaction of its own until `release`. */
  async function lockRow(id: string): Promise<QueryRunner> {
    const holder = dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query('SELECT 1 FROM endpoints WHERE id = $1 FOR UPDATE', [id]);
    return holder;
  }

  async function release(holder: QueryRunner): Promise<void> {
    await holder.commitTransaction();
    await holder.release();
  }

  /** Waits until `n` sessions of this test database wait for a lock. */
  function lockWaiters(n: number): Promise<unknown> {
    return waitFor(
      async () => {
        const [row] = await dataSource.query<Array<{ waiting: number }>>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
            WHERE datname = $1 AND wait_event_type = 'Lock'`,
          [database.name],
        );
        return row.waiting >= n;
      },
      { timeoutMs: 10_000, what: `${n} sessions waiting for the endpoint's row lock` },
    );
  }

  it('keeps both of two concurrent PATCHes of headers (F13)', async () => {
    const { tenantId, id } = await newEndpoint({ 'X-Team': 'x0', 'X-Zone': 'z0' });
    // Both PATCHes read the endpoint before either writes: each keeps the other's header with the mask.
    const holder = await lockRow(id);
    const changeTeam = service.update(tenantId, id, { headers: { 'X-Team': 'x1', 'X-Zone': '***' } });
    await lockWaiters(1);
    const changeZone = service.update(tenantId, id, { headers: { 'X-Team': '***', 'X-Zone': 'z1' } });
    await lockWaiters(2);
    await release(holder);
    await Promise.all([changeTeam, changeZone]);

    const row = await repository.findForTenant(tenantId, id);
    expect(row && readHeaders(cipher, id, row)).toEqual({
      headers: { 'X-Team': 'x1', 'X-Zone': 'z1' },
      problem: null,
    });
  });

  it('answers 404 to a PATCH whose endpoint is deleted while it waits to write (F8)', async () => {
    const { tenantId, id } = await newEndpoint();
    const holder = await lockRow(id);
    const patch = service.update(tenantId, id, { description: 'renamed' }).catch((error: unknown) => error);
    await lockWaiters(1);
    await holder.query('DELETE FROM endpoints WHERE id = $1', [id]);
    await release(holder);

    const error = await patch;
    expect(error).toBeInstanceOf(DomainError);
    expect(statusOf(error)).toBe(404);
  });
});

/** The HTTP status the global exception filter answers `error` with. */
function statusOf(error: unknown): number {
  let status = 0;
  const reply = {
    header: () => reply,
    status: (code: number) => {
      status = code;
      return reply;
    },
    send: () => reply,
  };
  const host = {
    switchToHttp: () => ({
      getResponse: () => reply,
      getRequest: () => ({ headers: {}, url: '/v1/endpoints/e' }),
    }),
  };
  new GlobalExceptionFilter(pino({ level: 'silent' })).catch(error, host as never);
  return status;
}
