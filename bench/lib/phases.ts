/**
 * The measured phases that bench.ts and replicas.ts share: warm-up, the e2e throughput runs and the
 * fixed-rate latency runs, with the publishing and waiting they need.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Message, Producer } from 'kafkajs';
import type { Api } from './api';
import { CONFIG, ENDPOINTS, kafka } from './config';
import { cloudEvent } from './kafka';
import type { Delivery, Receiver } from './receiver';
import { sleep, until, type Service } from './service';
import { percentile, round } from './stats';

export interface Tenant {
  index: number;
  id: string;
  api: Api;
}

/**
 * The bench's tenants and endpoints: per tenant, five fan-out 1 endpoints (each its own event type)
 * and five fan-out 5 ones (all on f5.*); tenant 0 also has the isolation phase's ten healthy
 * endpoints and its two bad ones (a hanging one and one that answers 500).
 */
export async function createTenants(admin: Api, receiver: Receiver): Promise<Tenant[]> {
  const tenants: Tenant[] = [];
  for (let index = 0; index < CONFIG.tenants; index++) {
    const tenant = await admin.createTenant(`bench-${index}`);
    tenants.push({ index, ...tenant });
  }
  for (const tenant of tenants) {
    for (let j = 0; j < CONFIG.endpointsPerTenant; j++) {
      await tenant.api.createEndpoint({
        url: receiver.url(`/f1/${tenant.index}/${j}`),
        eventTypes: [`f1.e${j}`],
        maxConcurrency: CONFIG.endpointMaxConcurrency,
      });
      await tenant.api.createEndpoint({
        url: receiver.url(`/f5/${tenant.index}/${j}`),
        eventTypes: ['f5.*'],
        maxConcurrency: CONFIG.endpointMaxConcurrency,
      });
    }
  }
  const isolationTenant = tenants[0];
  for (let j = 0; j < 10; j++) {
    await isolationTenant.api.createEndpoint({ url: receiver.url(`/iso/ok/${j}`), eventTypes: ['iso.*'] });
  }
  await isolationTenant.api.createEndpoint({ url: receiver.url('/iso/hang'), eventTypes: ['iso.bad'] });
  await isolationTenant.api.createEndpoint({ url: receiver.url('/iso/500'), eventTypes: ['iso.bad'] });
  return tenants;
}

export function publishPartition(tenant: Tenant): number {
  return tenant.index % CONFIG.tenants;
}

/** Sends `messages` of one tenant with acks=all in chunks, a few chunks in flight. */
export async function publish(
  producer: Producer,
  topic: string,
  byTenant: Map<Tenant, Message[]>,
): Promise<void> {
  const sends: Array<Promise<unknown>> = [];
  for (const [tenant, messages] of byTenant) {
    for (let i = 0; i < messages.length; i += 500) {
      const chunk = messages.slice(i, i + 500).map((m) => ({ ...m, partition: publishPartition(tenant) }));
      sends.push(producer.send({ topic, acks: -1, messages: chunk }));
      if (sends.length >= 8) await sends.shift();
    }
  }
  await Promise.all(sends);
}

export async function warmUp(
  producer: Producer,
  topic: string,
  tenants: Tenant[],
  receiver: Receiver,
): Promise<void> {
  // Every endpoint (f1, f5, iso) gets at least one delivery before measuring.
  const seen = new Set<string>();
  receiver.setHandler((d) => {
    seen.add(d.path);
    return undefined;
  });
  // f1 and f5 endpoints plus the 10 healthy isolation ones (the two bad ones take only iso.bad)
  const expected = ENDPOINTS * 2 + 10;
  const deadline = Date.now() + 60_000;
  while (seen.size < expected && Date.now() < deadline) {
    const byTenant = new Map<Tenant, Message[]>();
    for (const tenant of tenants) {
      const messages = Array.from({ length: CONFIG.endpointsPerTenant }, (_, j) =>
        cloudEvent({ tenantId: tenant.id, type: `f1.e${j}`, seq: -1 }),
      );
      messages.push(cloudEvent({ tenantId: tenant.id, type: 'f5.warm', seq: -1 }));
      if (tenant.index === 0) messages.push(cloudEvent({ tenantId: tenant.id, type: 'iso.warm', seq: -1 }));
      byTenant.set(tenant, messages);
    }
    await publish(producer, topic, byTenant);
    await until(() => seen.size >= expected, 3_000);
  }
  if (seen.size < expected) throw new Error(`warm-up: only ${seen.size} of ${expected} endpoints answered`);
  await sleep(1_000);
}

/** Publishes `events` as fast as possible; throughput = deliveries / (last 2xx - first publish). */
export async function e2eRun(
  producer: Producer,
  topic: string,
  tenants: Tenant[],
  receiver: Receiver,
  kind: 'f1' | 'f5',
  events: number,
): Promise<number> {
  const fanout = kind === 'f1' ? 1 : CONFIG.endpointsPerTenant;
  const expected = events * fanout;
  const ids = new Set<string>();
  let lastAt = 0;
  const prefix = `/${kind}/`;
  receiver.setHandler((d) => {
    if (!d.path.startsWith(prefix)) return undefined;
    const key = `${d.path}|${d.webhookId}`;
    if (!ids.has(key)) {
      ids.add(key);
      lastAt = d.receivedAtMs;
    }
    return undefined;
  });
  const byTenant = new Map<Tenant, Message[]>(tenants.map((t) => [t, []]));
  for (let seq = 0; seq < events; seq++) {
    const tenant = tenants[seq % tenants.length];
    const type =
      kind === 'f1' ? `f1.e${Math.floor(seq / tenants.length) % CONFIG.endpointsPerTenant}` : 'f5.run';
    byTenant
      .get(tenant)!
      .push(cloudEvent({ tenantId: tenant.id, type, seq, targetBytes: CONFIG.valueBytes }));
  }
  const start = Date.now();
  await publish(producer, topic, byTenant);
  const publishedIn = Date.now() - start;
  await untilProgressing(
    () => ids.size >= expected,
    () => ids.size,
    `${kind}: ${expected} deliveries expected`,
  );
  log(
    `${kind}: ${events} events published in ${publishedIn} ms, ${expected} delivered in ${lastAt - start} ms`,
  );
  return (expected / (lastAt - start)) * 1000;
}

/** A rate-limited producer (10 ms ticks) for `latencySeconds`; latency = receive time - data.sentAt. */
export async function latencyRun(
  producer: Producer,
  topic: string,
  tenants: Tenant[],
  receiver: Receiver,
  rate: number,
  deliveriesTopic: string,
): Promise<{
  rate: number;
  p50Ms: number;
  p99Ms: number;
  delivered: number;
  published: number;
  stagesP50P99Ms?: Record<string, string>;
  /** p50 / p99 ms of the events published in each second of the run (rates up to 1,000/s). */
  bySecondP50P99Ms?: string[];
  /**
   * The bench process's own event-loop delay over the round, p99 / max ms: its receiver stamps each
   * delivery when its handler runs, so a stall here is latency the service did not cause.
   */
  benchLoopDelayP99MaxMs: string;
}> {
  const latencies: number[] = [];
  const seen = new Set<string>();
  const stages = {
    toTaskCreated: [] as number[],
    toTaskVisible: [] as number[],
    taskToReceived: [] as number[],
  };
  const received = new Map<string, { sentAt: number; receivedAt: number }>();
  receiver.setHandler((d: Delivery) => {
    if (!d.path.startsWith('/f1/') || seen.has(d.webhookId)) return undefined;
    seen.add(d.webhookId);
    const sentAt = (JSON.parse(d.body) as { data: { sentAt: number } }).data.sentAt;
    latencies.push(d.receivedAtMs - sentAt);
    if (rate <= 1000) received.set(d.webhookId, { sentAt, receivedAt: d.receivedAtMs });
    return undefined;
  });
  // Where the time goes (rates up to 1,000/s only, to keep the bench process light): a read_committed
  // collector on the deliveries topic sees each task's CreateTime (set by the fan-out producer) and
  // when it became visible to consumers.
  const tasks = new Map<string, { createdMs: number; visibleMs: number }>();
  const collector =
    rate <= 1000 ? kafka.consumer({ groupId: `${topic}-collector-${rate}`, maxWaitTimeInMs: 20 }) : null;
  if (collector) {
    await collector.connect();
    await collector.subscribe({ topic: deliveriesTopic, fromBeginning: false });
    let joined = false;
    collector.on(collector.events.GROUP_JOIN, () => (joined = true));
    await collector.run({
      // It reads from the end and is thrown away: a commit after every batch (kafkajs' default) cost
      // the broker some 800 OffsetCommit requests a second at 1,000 events/s, CPU the service's
      // latency then waited for (README decision 80).
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const task = JSON.parse(String(message.value)) as { eventId: string };
        tasks.set(task.eventId, { createdMs: Number(message.timestamp), visibleMs: Date.now() });
      },
    });
    await until(() => joined, 30_000);
    await sleep(500);
  }
  const total = rate * CONFIG.latencySeconds;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const start = Date.now();
  let published = 0;
  let maxLagMs = 0;
  const sends = new Set<Promise<unknown>>();
  while (published < total) {
    const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * rate));
    if (due > published) {
      const byPartition = new Map<number, Message[]>();
      for (let seq = published; seq < due; seq++) {
        const tenant = tenants[seq % tenants.length];
        const type = `f1.e${Math.floor(seq / tenants.length) % CONFIG.endpointsPerTenant}`;
        const message = cloudEvent({ tenantId: tenant.id, type, seq, targetBytes: CONFIG.valueBytes });
        const list = byPartition.get(publishPartition(tenant)) ?? [];
        list.push({ ...message, partition: publishPartition(tenant) });
        byPartition.set(publishPartition(tenant), list);
      }
      published = due;
      const send = producer.send({ topic, acks: -1, messages: [...byPartition.values()].flat() });
      sends.add(send);
      void send.finally(() => sends.delete(send));
      if (sends.size > 50) {
        const before = Date.now();
        await Promise.race(sends);
        maxLagMs = Math.max(maxLagMs, Date.now() - before);
      }
    }
    await sleep(10);
  }
  await Promise.all(sends);
  const ok = await until(() => seen.size >= total, CONFIG.drainTimeoutMs);
  loopDelay.disable();
  const benchLoopDelayP99MaxMs = `${round(loopDelay.percentile(99) / 1e6, 1)} / ${round(loopDelay.max / 1e6, 1)}`;
  if (!ok) log(`latency ${rate}/s: only ${seen.size} of ${total} delivered within the drain timeout`);
  if (maxLagMs > 100) log(`latency ${rate}/s: the producer fell behind by up to ${maxLagMs} ms`);
  await sleep(500);
  await collector?.disconnect();
  for (const [id, r] of received) {
    const task = tasks.get(id);
    if (!task) continue;
    stages.toTaskCreated.push(task.createdMs - r.sentAt);
    stages.toTaskVisible.push(task.visibleMs - r.sentAt);
    stages.taskToReceived.push(r.receivedAt - task.createdMs);
  }
  const p = (values: number[]): string =>
    values.length ? `${round(percentile(values, 50), 1)} / ${round(percentile(values, 99), 1)}` : 'n/a';
  const stagesP50P99Ms = collector
    ? {
        publishToTaskProduced: p(stages.toTaskCreated),
        publishToTaskVisibleReadCommitted: p(stages.toTaskVisible),
        taskProducedToReceived: p(stages.taskToReceived),
      }
    : undefined;
  if (stagesP50P99Ms) log(`latency ${rate}/s stages p50 / p99 ms: ${JSON.stringify(stagesP50P99Ms)}`);
  // A cold start or a pause shows as a run of bad seconds; a spread-out tail as every second's p99.
  const bySecond: number[][] = [];
  for (const r of received.values()) {
    const second = Math.floor((r.sentAt - start) / 1000);
    if (second >= 0) (bySecond[second] ??= []).push(r.receivedAt - r.sentAt);
  }
  const bySecondP50P99Ms = received.size
    ? Array.from(bySecond, (values) =>
        values?.length
          ? `${Math.round(percentile(values, 50))} / ${Math.round(percentile(values, 99))}`
          : 'n/a',
      )
    : undefined;
  return {
    rate,
    p50Ms: round(percentile(latencies, 50), 1),
    p99Ms: round(percentile(latencies, 99), 1),
    delivered: seen.size,
    published,
    stagesP50P99Ms,
    bySecondP50P99Ms,
    benchLoopDelayP99MaxMs,
  };
}

/** Waits for `done`, failing early when `progress` has not moved for `stallMs` (a stalled pipeline). */
export async function untilProgressing(
  done: () => boolean,
  progress: () => number,
  what: string,
  stallMs = 45_000,
): Promise<void> {
  const deadline = Date.now() + CONFIG.drainTimeoutMs;
  let last = progress();
  let lastMoved = Date.now();
  while (!done()) {
    const now = Date.now();
    const current = progress();
    if (current !== last) {
      last = current;
      lastMoved = now;
    }
    if (now - lastMoved > stallMs || now > deadline) {
      const why = now > deadline ? 'drain timeout' : `no progress for ${stallMs / 1000} s`;
      throw new Error(`${what}: stalled at ${current} (${why}); last service error: ${lastServiceError()}`);
    }
    await sleep(20);
  }
}

let watched: Service[] = [];
/** The services whose error logs a stalled phase reports. */
export function watchServices(services: Service[]): void {
  watched = services;
}

/** The services watched now (to watch one more beside them). */
export function watchedServices(): Service[] {
  return watched;
}

/** SIGKILLs the watched services: a run giving up must not leave them running after it exits. */
export function killWatchedServices(): void {
  for (const service of watched) service.process.kill('SIGKILL');
}

function lastServiceError(): string {
  const errors = watched
    .flatMap((service) => service.logs)
    .filter((l) => typeof l.level === 'number' && l.level >= 50);
  const last = errors.at(-1);
  return last ? String(last.msg).slice(0, 300) : 'none logged';
}

export function log(message: string): void {
  console.log(`[bench] ${message}`);
}
