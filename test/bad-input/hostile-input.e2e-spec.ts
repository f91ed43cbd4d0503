import { randomUUID } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { collectTopic, connectedAdmin, type ReceivedMessage } from '../support/kafka';
import { sameJson } from '../support/same-json';
import { SeededRandom } from '../support/seeded-random';
import { createStack, kafka, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { buildEventCorpus, type EventCase, type Group, type KafkaMessage } from './hostile-corpus';
import { assertSameLiveProcess } from './live-process';

/**
 * Issue 15, events: the hostile corpus through POST /v1/events and the input topic (structured and
 * binary CloudEvents, hostile keys, headers and timestamps), to one tenant's `none` endpoint and its
 * blocked `strict` one, while a second tenant publishes normal events. Everything is sent first and
 * judged afterwards, one group per test, so one broken group does not hide the others.
 */

const SEED = 0x4057_1e15;
const PARTITIONS = 3;
/** The strict endpoint refuses its first delivery until the corpus is in, at most this many times. */
const BLOCKER_FAILURES = 4;
const RETRY_DELAYS = '1s,2s,4s,8s';
const PATHS = ['/none', '/strict'] as const;

interface Outcome {
  case: EventCase;
  /** REST: the status and body of the answer. */
  status?: number;
  answer?: string;
  /** Kafka: where the record was written. */
  partition?: number;
  offset?: number;
  origin?: string;
  sendError?: string;
}

const short = (text: string | undefined, max = 240) =>
  text === undefined ? '' : JSON.stringify(text.length > max ? `${text.slice(0, max)}...` : text);

/** The 400 names the field: as a word of its message or details (not of the correlation id). */
function namesField(answer: string | undefined, field: string): boolean {
  try {
    const body = JSON.parse(answer ?? '');
    const text = [body.message, ...(Array.isArray(body.details) ? body.details : [])].join(' ');
    return new RegExp(`(^|[^A-Za-z0-9_])${field}([^A-Za-z0-9_]|$)`, 'i').test(text);
  } catch {
    return false;
  }
}

/** The id a 202 answer gives for the event it accepted. */
function acceptedEventId(answer: string | undefined): string | undefined {
  try {
    return (JSON.parse(answer ?? '') as { id?: string }).id;
  } catch {
    return undefined;
  }
}

describe('hostile input end to end: every field from REST and Kafka, a none and a blocked strict endpoint, a calm tenant beside', () => {
  let stack: Stack;
  let admin: Admin;
  let pid: number | undefined;
  let dlq: { messages: ReceivedMessage[]; stop: () => Promise<void> };
  let tokens: { hostile: string; calm: string };
  let calmTenantId = '';
  const endpointIds: Record<string, string> = {};
  const outcomes: Outcome[] = [];
  const calmIds: string[] = [];
  const calmProblems: string[] = [];
  let blockerId = '';
  let corpusPublished = false;
  let blockerFailures = 0;

  const post = async (token: string, body: Buffer | string): Promise<{ status?: number; answer: string }> => {
    try {
      const response = await fetch(`${stack.service.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
      return { status: response.status, answer: await response.text() };
    } catch (error) {
      return { answer: `request failed: ${String((error as Error & { cause?: unknown }).cause ?? error)}` };
    }
  };
  const produce = async (message: KafkaMessage, partition: number) => {
    const [written] = await stack.producer.send({
      topic: stack.inputTopic,
      acks: -1,
      messages: [{ ...message, partition }],
    });
    return { partition: written.partition, offset: Number(written.baseOffset) };
  };
  /** One normal event of the calm tenant, over REST and Kafka in turn, spread over every partition. */
  const publishCalm = async () => {
    const id = `calm-${calmIds.length}-${randomUUID()}`;
    const event = { type: 'calm.event', id, data: { n: calmIds.length } };
    calmIds.push(id);
    if (calmIds.length % 2) {
      const { status, answer } = await post(tokens.calm, JSON.stringify(event));
      if (status !== 202) calmProblems.push(`calm event ${id}: POST answered ${status} ${short(answer)}`);
      return;
    }
    const time = new Date().toISOString();
    const value = JSON.stringify({
      ...event,
      specversion: '1.0',
      source: '/calm',
      time,
      tenantid: calmTenantId,
    });
    await produce({ key: calmTenantId, value }, calmIds.length % PARTITIONS).catch((error: Error) =>
      calmProblems.push(`calm event ${id}: produce failed: ${error.message}`),
    );
  };

  const firstSuccesses = (path: string) => stack.receiver.firstAnswered(path);
  let deadLetters: { seen: number; byOrigin: Map<string, ReceivedMessage[]> };
  const deadLettersByOrigin = (): Map<string, ReceivedMessage[]> => {
    if (deadLetters?.seen !== dlq.messages.length) {
      const byOrigin = new Map<string, ReceivedMessage[]>();
      for (const m of dlq.messages) {
        const origin = m.headers['hs-origin'] ?? '';
        if (origin.startsWith(`${stack.inputTopic}/`))
          byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), m]);
      }
      deadLetters = { seen: dlq.messages.length, byOrigin };
    }
    return deadLetters.byOrigin;
  };
  const expectedSettled = () => {
    const dead = deadLettersByOrigin();
    const at = PATHS.map(firstSuccesses);
    const calm = firstSuccesses('/calm');
    return (
      calmIds.every((id) => calm.has(id)) &&
      outcomes.every(({ case: c, status, origin }) => {
        if (c.rest && status !== 202) return true;
        if (c.kafka && origin === undefined) return true;
        return c.deliver ? at.every((m) => m.has(c.deliver!.id)) : !c.kafka || dead.has(origin!);
      })
    );
  };
  /** A wait whose deadline is not a failure by itself: the tests below say what is missing. */
  const settle = (what: string, timeoutMs: number) =>
    waitFor(expectedSettled, { timeoutMs, intervalMs: 250, what }).then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    stack = await createStack('hostile', {
      HOOKSTREAM_INPUT_PARTITIONS: String(PARTITIONS),
      // One deliveries partition: every endpoint shares it, so what stalls one endpoint shows on all.
      HOOKSTREAM_DELIVERY_PARTITIONS: '1',
      HOOKSTREAM_RETRY_DELAYS: RETRY_DELAYS,
      HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '1000',
    });
    admin = await connectedAdmin(kafka);
    // The platform's input topic, made before the service reuses it, with far-future timestamps allowed.
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: stack.inputTopic,
          numPartitions: PARTITIONS,
          configEntries: [{ name: 'message.timestamp.after.max.ms', value: '9223372036854775807' }],
        },
      ],
    });
    const api = await stack.boot('hostile-input');
    pid = stack.service.process.pid;
    const hostile = await api.ok('POST', '/v1/tenants', { name: 'Hostile' });
    const calm = await api.ok('POST', '/v1/tenants', { name: 'Calm' });
    tokens = { hostile: hostile.apiKey, calm: calm.apiKey };
    calmTenantId = calm.id;
    const { receiver } = stack;
    const create = (token: string, body: object) => api.as(token).ok('POST', '/v1/endpoints', body);
    endpointIds['/none'] = (await create(tokens.hostile, { url: receiver.url('/none') })).id;
    endpointIds['/strict'] = (
      await create(tokens.hostile, { url: receiver.url('/strict'), ordering: 'strict' })
    ).id;
    endpointIds['/calm'] = (await create(tokens.calm, { url: receiver.url('/calm') })).id;
    receiver.respond('/strict', (request) => {
      const blocking = request.headers['webhook-id'] === blockerId && !corpusPublished;
      if (blocking && blockerFailures < BLOCKER_FAILURES) {
        blockerFailures += 1;
        return { status: 500 };
      }
      return { status: 200 };
    });
    dlq = await collectTopic(kafka, stack.dlqTopic);

    // The strict endpoint's first delivery fails: everything after it parks until the corpus is in.
    blockerId = `blocker-${randomUUID()}`;
    const blocker: EventCase = {
      group: 'data',
      edge: 'rest',
      label: 'the blocker (first delivery of the strict endpoint)',
      rest: Buffer.from(JSON.stringify({ type: 'hostile.blocker', id: blockerId, data: { blocker: true } })),
      deliver: { id: blockerId, data: { blocker: true }, escapes: [] },
    };
    outcomes.push({ case: blocker, ...(await post(tokens.hostile, blocker.rest!)) });
    await waitFor(() => receiver.on('/strict').length > 0, { what: 'the first delivery to /strict' }).catch(
      () => undefined,
    );

    const cases = buildEventCorpus({
      tenantId: hostile.id,
      otherTenantId: calm.id,
      rng: new SeededRandom(SEED),
    });
    let sent = 0;
    const send = async (c: EventCase) => {
      if (++sent % 10 === 0) await publishCalm();
      if (c.rest) return outcomes.push({ case: c, ...(await post(tokens.hostile, c.rest)) });
      try {
        const { partition, offset } = await produce(c.kafka!, sent % PARTITIONS);
        outcomes.push({ case: c, partition, offset, origin: `${stack.inputTopic}/${partition}/${offset}` });
      } catch (error) {
        outcomes.push({ case: c, sendError: (error as Error).message });
      }
    };
    const timestamps = cases.filter((c) => c.group === 'timestamps');
    // REST first, then Kafka; timestamps last, after the rest has settled (or its deadline passed).
    for (const c of cases.filter((c) => c.rest)) await send(c);
    for (const c of cases.filter((c) => c.kafka && c.group !== 'timestamps')) await send(c);
    corpusPublished = true;
    await settle('the corpus without timestamps to settle', 40_000);
    for (const c of timestamps) await send(c);
    for (let i = 0; i < 10; i++) await publishCalm();
    await settle('the timestamps and the last calm events to settle', 15_000);
    const requests = ['/none', '/strict', '/calm'].map(
      (path) =>
        `${path} ${stack.receiver.on(path).length} requests, ${firstSuccesses(path).size} events answered 2xx`,
    );
    console.log(
      `hostile input: ${outcomes.length} cases and ${calmIds.length} calm events sent; ${requests.join('; ')}`,
    );
  }, 200_000);

  afterAll(async () => {
    await dlq?.stop();
    await admin?.disconnect();
    await stopStack(stack);
  });

  /** What became of an event id: where it was delivered, or the dead letter it became. */
  const fate = (id: string | undefined): string => {
    if (id === undefined) return '';
    const at = ['/none', '/strict', '/calm'].filter((path) => firstSuccesses(path).has(id));
    if (at.length) return `; delivered to ${at.join(' and ')}`;
    const dead = dlq.messages.find((m) => {
      try {
        return JSON.parse(m.value ?? '').id === id || m.headers.ce_id === id;
      } catch {
        return m.headers.ce_id === id;
      }
    });
    if (dead)
      return `; then dead-lettered ${dead.headers['hs-reason']} (${dead.headers['hs-reason-detail']})`;
    return '; neither delivered nor dead-lettered';
  };

  const deliveryProblems = (name: string, expected: NonNullable<EventCase['deliver']>, origin?: string) => {
    const problems: string[] = [];
    const dead = origin ? deadLettersByOrigin().get(origin) : undefined;
    const why = dead?.length
      ? `; dead-lettered ${dead[0].headers['hs-reason']} (${dead[0].headers['hs-reason-detail']})`
      : '';
    for (const path of PATHS) {
      const got = firstSuccesses(path).get(expected.id);
      if (!got) {
        problems.push(`${name}: not delivered to ${path}${why}`);
        continue;
      }
      let text: string;
      let body: any;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(got.request.rawBody);
        body = JSON.parse(text);
      } catch (error) {
        problems.push(`${name}: the body at ${path} is not UTF-8 JSON (${(error as Error).message})`);
        continue;
      }
      if (!sameJson(body.data, expected.data)) {
        const at = text.indexOf('"data":');
        problems.push(`${name}: data at ${path} differs, got ${short(text.slice(at, at + 160))}`);
      }
      const lower = text.toLowerCase();
      const lost = expected.escapes.filter((escape) => !lower.includes(escape.toLowerCase()));
      if (lost.length) problems.push(`${name}: the body at ${path} lacks the escapes ${lost.join(' ')}`);
    }
    return problems;
  };

  const caseProblems = ({ case: c, status, answer, origin, sendError }: Outcome): string[] => {
    const name = `[${c.edge}] ${c.label}`;
    if (c.rest) {
      if (status === undefined) return [`${name}: no answer (${answer})`];
      if (c.refuse) {
        const tooLarge = c.refuse.reasons.includes('too_large');
        const statusOk = status === 400 || (tooLarge && status === 413);
        if (statusOk && (!c.refuse.field || namesField(answer, c.refuse.field))) return [];
        const expected = `400${c.refuse.field ? ` naming "${c.refuse.field}"` : tooLarge ? ' or 413' : ''}`;
        const acceptedId = status < 300 ? acceptedEventId(answer) : undefined;
        return [`${name}: expected ${expected}, got ${status} ${short(answer)}${fate(acceptedId)}`];
      }
      if (status !== 202) return [`${name}: expected 202, got ${status} ${short(answer)}`];
      return deliveryProblems(name, c.deliver!);
    }
    if (sendError !== undefined) return [`${name}: the broker refused it (${sendError})`];
    if (c.deliver) return deliveryProblems(name, c.deliver, origin);
    const found = deadLettersByOrigin().get(origin!) ?? [];
    const right = (m: ReceivedMessage) =>
      (c.refuse!.reasons as string[]).includes(m.headers['hs-reason']) && !!m.headers['hs-reason-detail'];
    if (found.length > 0 && found.every(right)) return [];
    const got = found.map((m) => `${m.headers['hs-reason']} (${m.headers['hs-reason-detail']})`).join(', ');
    return [
      `${name}: expected a dead letter ${c.refuse!.reasons.join(' or ')}, got ${got || `none${fate(c.probeId)}`}`,
    ];
  };

  const judgeGroup = (group: Group, edges: string[]) => {
    const chosen = outcomes.filter((o) => o.case.group === group && edges.includes(o.case.edge));
    const problems = chosen.flatMap(caseProblems);
    const bad = chosen.filter((o) => o.case.refuse).length;
    console.log(
      `hostile ${group} [${edges.join(',')}]: ${chosen.length} cases (${bad} bad), ${problems.length} problems`,
    );
    expect(chosen.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  };

  it('REST event attributes: each bad value answers 400 naming the field, each good one is delivered', () => {
    judgeGroup('attributes', ['rest']);
  });

  it('Kafka structured attributes: each bad value is dead-lettered with its reason, each good one delivered', () => {
    judgeGroup('attributes', ['structured']);
  });

  it('Kafka binary ce_* attributes: each bad value is dead-lettered with its reason, each good one delivered', () => {
    judgeGroup('attributes', ['binary']);
  });

  it('data: any JSON within the limits arrives as the same value on every edge; deeper or larger is refused', () => {
    judgeGroup('data', ['rest', 'structured', 'binary']);
  });

  it('Kafka keys, headers and extension attributes do not stop a good event; forged hs-* headers do not fool the DLQ', () => {
    judgeGroup('envelope', ['structured', 'binary']);
  });

  it('Kafka timestamps: an event with a time is delivered whatever the timestamp; one without, only if it is a date', () => {
    judgeGroup('timestamps', ['structured']);
  });

  it('the strict endpoint got the good events in publish order (per REST sequence and per input partition)', () => {
    const arrived = firstSuccesses('/strict');
    const sequences = new Map<string, Outcome[]>();
    for (const o of outcomes) {
      if (!o.case.deliver || (o.case.rest && o.status !== 202) || (o.case.kafka && o.partition === undefined))
        continue;
      const key = o.case.rest ? 'REST' : `partition ${o.partition}`;
      sequences.set(key, [...(sequences.get(key) ?? []), o]);
    }
    const problems: string[] = [];
    for (const [key, sequence] of sequences) {
      if (key !== 'REST') sequence.sort((a, b) => a.offset! - b.offset!);
      let last: { index: number; label: string } | undefined;
      for (const o of sequence) {
        const got = arrived.get(o.case.deliver!.id);
        if (!got) continue;
        if (last && got.index < last.index)
          problems.push(`${key}: "${o.case.label}" arrived before "${last.label}"`);
        if (!last || got.index > last.index) last = { index: got.index, label: o.case.label };
      }
    }
    // The block held the corpus back and was lifted, so the comparison above had events to compare.
    if (blockerFailures === 0) problems.push('the strict endpoint was never blocked by its first delivery');
    if (arrived.size < 100) problems.push(`only ${arrived.size} events reached /strict: it stayed blocked`);
    expect(problems).toEqual([]);
  });

  it("the calm tenant's REST and Kafka events all reached its endpoint, and no tenant got the other's", () => {
    const calm = firstSuccesses('/calm');
    const calmSet = new Set(calmIds);
    const problems = [
      ...calmProblems,
      ...calmIds.filter((id) => !calm.has(id)).map((id) => `calm event ${id} did not reach /calm`),
      ...stack.receiver
        .on('/calm')
        .filter((r) => !calmSet.has(r.headers['webhook-id']))
        .map((r) => `/calm got ${short(r.headers['webhook-id'])}, not a calm event`),
      ...PATHS.flatMap((path) => stack.receiver.on(path))
        .filter((r) => calmSet.has(r.headers['webhook-id']))
        .map((r) => `${r.path} got the calm event ${r.headers['webhook-id']}`),
    ];
    console.log(`hostile calm tenant: ${calmIds.length} events, ${problems.length} problems`);
    expect(calmIds.length).toBeGreaterThan(50);
    expect(problems).toEqual([]);
  });

  it('consumer lag of the fan-out and delivery groups is back to 0', async () => {
    const groups = [`${stack.namespace}-fanout`, `${stack.namespace}-delivery`];
    let seen = 'nothing';
    const drained = await waitFor(
      async () => {
        const response = await stack.api.request('GET', '/v1/ops/lag');
        if (response.status !== 200) {
          seen = `GET /v1/ops/lag answered ${response.status} ${short(JSON.stringify(response.body))}`;
          return false;
        }
        const rows = (response.body.groups as any[]).filter((g) => groups.includes(g.group));
        seen = rows
          .map(
            (g) =>
              `${g.group} ${g.topic}: ${g.partitions.map((p: any) => `p${p.partition}=${p.lag}`).join(' ')}`,
          )
          .join('; ');
        return (
          groups.every((name) => rows.some((g) => g.group === name)) && rows.every((g) => g.totalLag === 0)
        );
      },
      { timeoutMs: 20_000, intervalMs: 500, what: () => `lag 0 (last seen: ${seen})` },
    ).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(drained).toBeNull();
  });

  it('the attempt log lists every delivery the receivers got', async () => {
    const pageThrough = async (token: string, endpointId: string) => {
      const ids = new Set<string>();
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const page = await stack.api
          .as(token)
          .request('GET', `/v1/endpoints/${endpointId}/attempts?limit=100${query}`);
        if (page.status !== 200)
          throw new Error(`attempts answered ${page.status} ${short(JSON.stringify(page.body))}`);
        for (const attempt of page.body.data) ids.add(attempt.eventId);
        cursor = page.body.nextCursor;
      } while (cursor);
      return ids;
    };
    const missing = new Map<string, string[]>();
    const check = async () => {
      for (const [path, token] of [
        ['/none', tokens.hostile],
        ['/strict', tokens.hostile],
        ['/calm', tokens.calm],
      ]) {
        const logged = await pageThrough(token, endpointIds[path]);
        missing.set(
          path,
          [...firstSuccesses(path).keys()].filter((id) => !logged.has(id)),
        );
      }
      return [...missing.values()].every((ids) => ids.length === 0);
    };
    const error = await waitFor(check, {
      timeoutMs: 15_000,
      intervalMs: 500,
      what: 'every delivery in the attempt log',
    }).then(
      () => null,
      (e: Error) => e.message,
    );
    const problems = [...missing].flatMap(([path, ids]) =>
      ids.length
        ? [`${path}: ${ids.length} delivered event ids missing, e.g. ${short(ids.slice(0, 5).join(' | '))}`]
        : [],
    );
    expect(firstSuccesses('/none').size).toBeGreaterThan(0);
    expect(problems.length ? problems : error ? [error] : []).toEqual([]);
  });

  it('the service process never exited and still answers', async () => {
    assertSameLiveProcess(stack.service, pid);
    expect((await fetch(`${stack.service.url}/healthz`)).status).toBe(200);
    expect(stack.service.logs.filter((entry) => entry.level === 60)).toEqual([]);
  });
});
