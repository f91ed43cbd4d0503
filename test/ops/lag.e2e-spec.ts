import { randomUUID } from 'node:crypto';
import { lagFromMetrics } from '../support/lag-metrics';
import { createStack, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

interface LagBody {
  groups: Array<{
    group: string;
    topic: string;
    members: number;
    kind: 'fanout' | 'delivery' | 'retry' | 'dlq-mirror';
    totalLag: number;
    partitions: Array<{ partition: number; committedOffset: number; logEndOffset: number; lag: number }>;
  }>;
  oldestUnfinishedAgeMs?: number;
}

describe('ops: consumer lag builds up while delivery is stopped and drains when it resumes', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await createStack('lag', { HOOKSTREAM_DELIVERY_PARTITIONS: '3' });
  });
  afterAll(() => stopStack(stack));

  it('reports the lag per partition in /v1/ops/lag and /metrics, then sees it drain (every record consumed)', async () => {
    const { receiver, producer, inputTopic, namespace } = stack;
    const deliveryGroup = `${namespace}-delivery`;
    const fanoutGroup = `${namespace}-fanout`;
    let api = await stack.boot('lag-full');
    const tenant = await api.createTenant('Lagging Inc');
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/hook') });

    const produce = async (count: number) =>
      producer.send({
        topic: inputTopic,
        acks: -1,
        messages: Array.from({ length: count }, () => ({
          key: tenant.id,
          value: JSON.stringify({
            specversion: '1.0',
            id: randomUUID(),
            source: '/tests/lag',
            type: 'record.updated',
            time: new Date().toISOString(),
            tenantid: tenant.id,
            data: {},
          }),
        })),
      });

    // First a delivered event, so the delivery group has committed offsets.
    await produce(1);
    await waitFor(() => receiver.on('/hook').length >= 1, { what: 'the first delivery' });
    // The delivery group also reads every retry tier (kind 'retry'); these figures are its first attempts.
    const lagOf = async (group: string) => {
      const body = await api.ok<LagBody>('GET', '/v1/ops/lag');
      return body.groups.filter((g) => g.group === group && g.kind !== 'retry');
    };
    await waitFor(
      async () => (await lagOf(deliveryGroup)).some((g) => g.partitions.some((p) => p.committedOffset > 0)),
      {
        what: 'a committed offset of the delivery group',
      },
    );

    // Now only the API and fan-out run: deliveries pile up in hookstream.deliveries, unconsumed.
    api = await stack.boot('lag-no-delivery', { HOOKSTREAM_ROLES: 'api,fanout' });
    const backlog = 25;
    await produce(backlog);
    // The fan-out still consumes: wait until it has caught up, so the delivery backlog is complete.
    await waitFor(async () => (await lagOf(fanoutGroup)).every((g) => g.totalLag === 0 && g.members === 1), {
      what: 'the fan-out group to be caught up',
    });
    let seen: unknown;
    const lagging = await waitFor(
      async () => {
        const groups = await lagOf(deliveryGroup);
        seen = groups;
        // Offsets also number the fan-out's transaction commit markers, so the offset lag is the
        // backlog plus at most one marker per fan-out transaction (as Kafka exporters report it too).
        return groups.length === 1 && groups[0].totalLag >= backlog ? groups[0] : undefined;
      },
      { what: () => `the delivery group to lag by at least ${backlog} (last seen ${JSON.stringify(seen)})` },
    );
    expect(lagging.topic).toBe(`${namespace}.deliveries`);
    expect(lagging.members).toBe(0);
    expect(lagging.partitions).toHaveLength(3);
    expect(lagging.totalLag).toBeLessThanOrEqual(2 * backlog);
    for (const p of lagging.partitions) {
      const start = p.committedOffset < 0 ? 0 : p.committedOffset;
      expect(p.lag).toBe(p.logEndOffset - start);
    }
    expect(receiver.on('/hook')).toHaveLength(1);

    const metrics = async () => {
      const response = await fetch(`${stack.service.url}/metrics`);
      return response.text();
    };
    const fromMetrics = await waitFor(
      async () => {
        const lag = lagFromMetrics(await metrics(), deliveryGroup, stack.deliveriesTopic);
        return lag.total === lagging.totalLag ? lag : undefined;
      },
      {
        what: `kafka_consumergroup_lag of ${deliveryGroup} on the deliveries topic in /metrics to sum to ${lagging.totalLag}`,
      },
    );
    expect(fromMetrics.series).toBe(3);
    const text = await metrics();
    expect(text).toMatch(
      new RegExp(`^kafka_consumergroup_members\\{consumergroup="${deliveryGroup}"\\} 0$`, 'm'),
    );
    expect(text).toMatch(/^hookstream_in_flight_deliveries \d+$/m);
    expect(text).toMatch(/^hookstream_dead_letters \d+$/m);
    expect(text).toMatch(/^hookstream_endpoint_circuits\{state="closed"\} \d+$/m);
    expect(text).toMatch(/^hookstream_retry_tier_depth\{tier="1"\} 0$/m);
    expect(text).toMatch(/^hookstream_attempt_log_buffered \d+$/m);
    expect(text).not.toMatch(/endpoint_id=|tenant_id=|endpointId=|tenantId=/);

    // Delivery resumes: every piled-up delivery reaches the receiver and the lag drains to 0.
    api = await stack.boot('lag-resumed');
    await waitFor(() => receiver.on('/hook').length >= backlog + 1, {
      what: () => `${backlog + 1} deliveries (got ${receiver.on('/hook').length})`,
    });
    // Drained: the committed offsets reach the log end, past the commit marker that follows each
    // fan-out transaction, so the lag is exactly 0 in both the JSON and /metrics.
    await waitFor(async () => (seen = await lagOf(deliveryGroup)).every((g) => g.totalLag === 0), {
      what: () => `the delivery group lag to drain to 0 (last seen ${JSON.stringify(seen)})`,
    });
    await waitFor(async () => lagFromMetrics(await metrics(), deliveryGroup).total === 0, {
      what: 'the delivery group lag in /metrics to drain to 0',
    });
    await waitFor(async () => (await lagOf(fanoutGroup)).every((g) => g.totalLag === 0), {
      what: 'the fan-out group lag to be 0',
    });
  });

  it('refuses the lag without the admin token', async () => {
    const response = await fetch(`${stack.service.url}/v1/ops/lag`);
    expect(response.status).toBe(401);
  });
});
