import type { Admin, IHeaders, Producer } from 'kafkajs';
import { ApiClient } from '../support/api';
import { collectTopic, connectedAdmin, type ReceivedMessage } from '../support/kafka';
import type { TestReceiver } from '../support/receiver';
import { SeededRandom } from '../support/seeded-random';
import type { RunningService } from '../support/service';
import { kafka, startStack, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { assertSameLiveProcess } from './live-process';

/**
 * Bad input on the Kafka side: a seeded mix of garbage and valid events on the input topic. Every
 * bad message must end in the DLQ with the reason the parser gives for it, every good event must
 * reach both endpoints, no partition may stall, and the service must never restart.
 */

const SEED = 0x7b1d_2025;
const TOTAL = 300;
const MAX_EVENT_BYTES = 8 * 1024;
const PARTITIONS = 3;

type Reason =
  | 'invalid_json'
  | 'missing_attribute'
  | 'too_large'
  | 'unsupported_specversion'
  | 'unsupported_content_type'
  | 'invalid_attribute'
  | 'unknown_tenant';

interface Case {
  /** Unique per message, also the Kafka key of bad messages: the DLQ keeps it. */
  tag: string;
  kind: string;
  message: { key: string; value: Buffer | string | null; headers?: IHeaders };
  /** The DLQ reason, or `good` with the event id. */
  expect: { reason: Reason } | { good: string };
}

function structured(attributes: Record<string, unknown>): string {
  return JSON.stringify(attributes);
}

/** Builds the seeded mix; `tenantId` is the real tenant, good events are about a quarter of it. */
function buildCases(rng: SeededRandom, tenantId: string): Case[] {
  const cases: Case[] = [];
  const validAttributes = (id: string): Record<string, unknown> => ({
    specversion: '1.0',
    id,
    source: '/bad-input',
    type: rng.pick(['record.updated', 'status.changed', 'user_created', 'a-b.c']),
    time: new Date(Date.UTC(2025, 0, 1) + rng.int(0, 1e9)).toISOString(),
    tenantid: tenantId,
    data: { n: rng.int(0, 1e6), text: rng.pick(['plain', 'ünïcødé 😀', 'nul\u0000byte', '']) },
  });
  const binaryHeaders = (id: string): Record<string, string> => ({
    ce_specversion: '1.0',
    ce_id: id,
    ce_source: '/bad-input',
    ce_type: 'binary.event',
    ce_tenantid: tenantId,
    'content-type': 'application/json',
  });

  const generators: Array<(i: number) => Omit<Case, 'tag'>> = [
    // Random bytes, made invalid UTF-8 by a leading 0xff so the reason is certain.
    () => ({
      kind: 'random-bytes',
      message: { key: '', value: Buffer.concat([Buffer.from([0xff]), rng.bytes(rng.int(0, 600))]) },
      expect: { reason: 'invalid_json' },
    }),
    () => ({
      kind: 'invalid-json',
      message: {
        key: '',
        value: rng.pick([
          '{"specversion":"1.0","id":"x"',
          "{'specversion':'1.0'}",
          '{"a":}',
          '{"a":1,}',
          'specversion=1.0',
          '{"data":[1,2,3}',
          '\u0000\u0001',
          '{"id":"\\x41"}',
          ' ',
        ]),
      },
      expect: { reason: 'invalid_json' },
    }),
    () => ({
      kind: 'empty-value',
      message: { key: '', value: rng.pick([null, Buffer.alloc(0)]) },
      expect: { reason: 'invalid_json' },
    }),
    () => ({
      kind: 'json-non-object',
      message: {
        key: '',
        value: rng.pick([
          '[]',
          '[{"specversion":"1.0"}]',
          '1',
          '-0.5e10',
          '"event"',
          'null',
          'true',
          'false',
        ]),
      },
      expect: { reason: 'invalid_json' },
    }),
    (i) => {
      const attributes = validAttributes(`missing-${i}`);
      const name = rng.pick(['specversion', 'id', 'source', 'type', 'tenantid']);
      if (rng.next() < 0.5) delete attributes[name];
      else attributes[name] = null;
      return {
        kind: `missing-${name}`,
        message: { key: '', value: structured(attributes) },
        expect: { reason: 'missing_attribute' },
      };
    },
    (i) => {
      const attributes = validAttributes(`wrong-type-${i}`);
      const [name, value] = rng.pick<[string, unknown]>([
        ['id', 42],
        ['id', ''],
        ['id', 'x'.repeat(257)],
        ['source', { path: '/x' }],
        ['source', ['a']],
        ['type', true],
        ['type', 'has spaces'],
        ['type', 'emoji😀'],
        ['type', ''],
        ['tenantid', 7],
        ['time', 'yesterday'],
        ['time', 1735689600000],
        ['time', '2025-02-30T00:00:00Z'],
        ['time', '2025-01-01 00:00:00'],
        ['data', JSON.parse('['.repeat(80) + ']'.repeat(80)) as unknown],
      ]);
      attributes[name] = value;
      return {
        kind: `wrong-type-${name}`,
        message: { key: '', value: structured(attributes) },
        expect: { reason: 'invalid_attribute' },
      };
    },
    (i) => {
      const attributes = { ...validAttributes(`both-data-${i}`), data_base64: 'aGVsbG8=' };
      return {
        kind: 'data-and-data_base64',
        message: { key: '', value: structured(attributes) },
        expect: { reason: 'invalid_attribute' },
      };
    },
    (i) => {
      const attributes = validAttributes(`specversion-${i}`);
      attributes.specversion = rng.pick<unknown>(['0.3', '2.0', 1.0, 1, '', '1.0 ', { v: 1 }]);
      return {
        kind: 'wrong-specversion',
        message: { key: '', value: structured(attributes) },
        expect: { reason: 'unsupported_specversion' },
      };
    },
    (i) => {
      const attributes = validAttributes(`unknown-tenant-${i}`);
      attributes.tenantid = rng.pick([
        rng.uuid(),
        'acme',
        'not-a-uuid',
        '00000000-0000-0000-0000-00000000000g',
        'ü',
      ]);
      return {
        kind: 'unknown-tenant',
        message: { key: '', value: structured(attributes) },
        expect: { reason: 'unknown_tenant' },
      };
    },
    (i) => {
      const attributes = validAttributes(`too-large-${i}`);
      attributes.data = { padding: 'x'.repeat(MAX_EVENT_BYTES + rng.int(1, 30_000)) };
      return {
        kind: 'oversized-structured',
        message: { key: '', value: structured(attributes) },
        expect: { reason: 'too_large' },
      };
    },
    (i) => ({
      kind: 'oversized-binary',
      message: {
        key: '',
        value: JSON.stringify({ padding: 'y'.repeat(MAX_EVENT_BYTES + rng.int(1, 30_000)) }),
        headers: binaryHeaders(`too-large-binary-${i}`),
      },
      expect: { reason: 'too_large' },
    }),
    (i) => {
      const headers = binaryHeaders(`binary-bad-${i}`);
      const variant = rng.int(0, 6);
      let reason: Reason;
      if (variant === 0) {
        delete headers[rng.pick(['ce_id', 'ce_source', 'ce_type', 'ce_tenantid'])];
        reason = 'missing_attribute';
      } else if (variant === 1) {
        headers.ce_specversion = rng.pick(['0.3', '2.0', '']);
        reason = 'unsupported_specversion';
      } else if (variant === 2) {
        headers.ce_time = rng.pick(['not-a-time', '2025-13-01T00:00:00Z', '']);
        // An empty header is a present, empty attribute: not a valid time either.
        reason = 'invalid_attribute';
      } else if (variant === 3) {
        headers.ce_type = rng.pick(['bad type', 'x/y', '']);
        reason = 'invalid_attribute';
      } else if (variant === 4) {
        headers.ce_tenantid = rng.pick([rng.uuid(), 'someone-else']);
        reason = 'unknown_tenant';
      } else if (variant === 5) {
        return {
          kind: 'binary-invalid-json-body',
          message: { key: '', value: '{"status":', headers },
          expect: { reason: 'invalid_json' },
        };
      } else {
        headers.ce_id = '';
        reason = 'invalid_attribute';
      }
      return {
        kind: `binary-bad-${variant}`,
        message: { key: '', value: JSON.stringify({ ok: false }), headers },
        expect: { reason },
      };
    },
    (i) => ({
      kind: 'unsupported-content-type',
      message: {
        key: '',
        value: structured(validAttributes(`content-type-${i}`)),
        headers: { 'content-type': rng.pick(['text/plain', 'application/xml', 'application/octet-stream']) },
      },
      expect: { reason: 'unsupported_content_type' },
    }),
  ];

  for (let i = 0; i < TOTAL; i++) {
    const tag = `case-${i}`;
    if (rng.next() < 0.3) {
      const id = `good-${i}-${rng.uuid()}`;
      if (rng.next() < 0.5) {
        cases.push({
          tag,
          kind: 'good-structured',
          message: {
            key: tenantId,
            value: structured(validAttributes(id)),
            headers: rng.next() < 0.5 ? { 'content-type': 'application/cloudevents+json' } : undefined,
          },
          expect: { good: id },
        });
      } else {
        const headers = binaryHeaders(id);
        const value = rng.next() < 0.2 ? null : JSON.stringify({ seq: i, note: 'bïnary ✓' });
        cases.push({
          tag,
          kind: 'good-binary',
          message: { key: tenantId, value, headers },
          expect: { good: id },
        });
      }
      continue;
    }
    const generated = rng.pick(generators)(i);
    // Spread bad messages over every partition with their own key, which the DLQ keeps.
    cases.push({ ...generated, tag, message: { ...generated.message, key: `bad:${tag}` } });
  }
  return cases;
}

/** The tenant's endpoints; the API writes one endpoint-change marker into the input topic for each. */
const ENDPOINT_PATHS = ['/one', '/two'];

describe('bad input on Kafka: every bad message dead-lettered with its reason, every good one delivered', () => {
  let stack: Stack;
  let namespace: string;
  let inputTopic: string;
  let receiver: TestReceiver;
  let service: RunningService;
  let producer: Producer;
  let admin: Admin;
  let pid: number | undefined;

  beforeAll(async () => {
    stack = await startStack('bad-input-kafka', {
      HOOKSTREAM_INPUT_PARTITIONS: String(PARTITIONS),
      HOOKSTREAM_RETRY_DELAYS: '1s,2s',
      HOOKSTREAM_MAX_EVENT_BYTES: `${MAX_EVENT_BYTES}`,
    });
    ({ namespace, inputTopic, receiver, service, producer } = stack);
    pid = service.process.pid;
    admin = await connectedAdmin(kafka);
  });

  afterAll(async () => {
    await admin?.disconnect();
    await stopStack(stack);
  });

  it(`survives ${TOTAL} seeded messages of garbage mixed with valid events`, async () => {
    const api = new ApiClient(service.url);
    const tenant = await api.createTenant('Bad input tenant');
    for (const path of ENDPOINT_PATHS) {
      await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url(path) });
    }

    const cases = buildCases(new SeededRandom(SEED), tenant.id);
    const bad = cases.filter((c) => 'reason' in c.expect);
    const goodIds = cases.flatMap((c) => ('good' in c.expect ? [c.expect.good] : []));
    expect(bad.length).toBeGreaterThan(150);
    expect(goodIds.length).toBeGreaterThan(40);

    const dlq = await collectTopic(kafka, `${namespace}.dlq`);
    try {
      // Batches of 20, in order: bad and good messages interleave on the same partitions.
      for (let i = 0; i < cases.length; i += 20) {
        await producer.send({
          topic: inputTopic,
          acks: -1,
          messages: cases.slice(i, i + 20).map((c) => c.message),
        });
      }

      const fromInput = (): ReceivedMessage[] =>
        dlq.messages.filter((m) => (m.headers['hs-origin'] ?? '').startsWith(`${inputTopic}/`));
      await waitFor(() => fromInput().length >= bad.length, {
        timeoutMs: 60_000,
        what: () => `${bad.length} dead letters from the input topic (got ${fromInput().length})`,
      });
      const uniqueOn = (path: string) => new Set(receiver.on(path).map((r) => r.headers['webhook-id']));
      await waitFor(
        () => uniqueOn('/one').size >= goodIds.length && uniqueOn('/two').size >= goodIds.length,
        {
          timeoutMs: 60_000,
          what: () =>
            `${goodIds.length} good events on both endpoints (got ${uniqueOn('/one').size}, ${uniqueOn('/two').size})`,
        },
      );

      // Each bad message exactly once in the DLQ, with the reason it was built to trigger.
      const deadLetters = fromInput();
      const byKey = new Map<string, ReceivedMessage[]>();
      for (const m of deadLetters) byKey.set(m.key ?? '', [...(byKey.get(m.key ?? '') ?? []), m]);
      const mismatches: string[] = [];
      for (const c of bad) {
        const found = byKey.get(`bad:${c.tag}`) ?? [];
        const expected = (c.expect as { reason: Reason }).reason;
        if (
          found.length !== 1 ||
          found[0].headers['hs-reason'] !== expected ||
          !found[0].headers['hs-reason-detail']
        ) {
          mismatches.push(
            `${c.tag} (${c.kind}): expected ${expected}, got ${JSON.stringify(found.map((m) => [m.headers['hs-reason'], m.headers['hs-reason-detail']]))}`,
          );
        }
      }
      expect(mismatches).toEqual([]);
      // No good event went to the DLQ.
      expect(deadLetters.filter((m) => m.key === tenant.id)).toEqual([]);
      expect(deadLetters).toHaveLength(bad.length);
      // Bad messages are keyed `bad:<tag>`, so the many that name the tenant are not filed under it:
      // the tenant's dead-letter list stays empty, the operator's has every one (decision 95).
      await waitFor(
        async () =>
          (await api.ok<{ items: unknown[] }>('GET', '/v1/ops/dead-letters?limit=500')).items.length >=
          bad.length,
        { timeoutMs: 30_000, what: `${bad.length} dead-letter rows in the operator's list` },
      );
      const filed = await tenant.client.ok<{ data: Array<{ reason: string }> }>(
        'GET',
        '/v1/dead-letters?limit=100',
      );
      expect(filed.data.map((row) => row.reason)).toEqual([]);

      const countBy = (reasons: string[]) =>
        reasons.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r]: (acc[r] ?? 0) + 1 }), {});
      const sentCounts = countBy(bad.map((c) => (c.expect as { reason: Reason }).reason));
      const dlqCounts = countBy(deadLetters.map((m) => m.headers['hs-reason']));
      expect(dlqCounts).toEqual(sentCounts);
      // Every reason the parser knows, plus unknown_tenant, was exercised.
      expect(Object.keys(sentCounts).sort()).toEqual([
        'invalid_attribute',
        'invalid_json',
        'missing_attribute',
        'too_large',
        'unknown_tenant',
        'unsupported_content_type',
        'unsupported_specversion',
      ]);

      // Every good event reached both endpoints, and nothing else did.
      for (const path of ['/one', '/two']) {
        expect([...uniqueOn(path)].sort()).toEqual([...goodIds].sort());
      }

      // No partition stalls: the fan-out group's committed offsets reach the log end everywhere.
      const lag = async () => {
        const [committed] = await admin.fetchOffsets({
          groupId: `${namespace}-fanout`,
          topics: [inputTopic],
        });
        const ends = await admin.fetchTopicOffsets(inputTopic);
        return ends.map(({ partition, high }) => {
          const offset = committed.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
          return { partition, lag: Number(high) - Math.max(Number(offset), 0), high: Number(high) };
        });
      };
      const drained = await waitFor(
        async () => {
          const perPartition = await lag();
          return perPartition.length === PARTITIONS && perPartition.every((p) => p.lag === 0)
            ? perPartition
            : null;
        },
        { timeoutMs: 30_000, what: `fan-out lag 0 on every partition` },
      );
      // Besides the test's messages, the topic holds one endpoint-change marker per endpoint the
      // API created (README decision 31).
      expect(drained.reduce((sum, p) => sum + p.high, 0)).toBe(TOTAL + ENDPOINT_PATHS.length);
      expect(drained.every((p) => p.high > 0)).toBe(true);

      console.log(
        `kafka bad input: ${TOTAL} messages, ${bad.length} bad ${JSON.stringify(sentCounts)}, ${goodIds.length} good delivered x2`,
      );
    } finally {
      await dlq.stop();
    }

    assertSameLiveProcess(service, pid);
    const health = await fetch(`${service.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
