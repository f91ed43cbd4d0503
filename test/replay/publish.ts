import type { Producer } from 'kafkajs';
import { structuredEvent } from '../support/stack';

/** Publishes `count` `record.updated` events of one tenant, 1,000 a send; resolves with their ids in order. */
export async function publishMany(
  producer: Producer,
  topic: string,
  tenantId: string,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let sent = 0; sent < count; sent += 1000) {
    const events = Array.from({ length: Math.min(1000, count - sent) }, (_, i) =>
      structuredEvent(tenantId, 'record.updated', { seq: sent + i }),
    );
    await producer.send({ topic, acks: -1, messages: events.map((event) => event.message) });
    ids.push(...events.map((event) => event.id));
  }
  return ids;
}
