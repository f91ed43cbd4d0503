import type { Admin } from 'kafkajs';
import { decodeFinished } from '../../src/kafka/finished-offsets';
import { connectedAdmin } from '../support/kafka';
import { kafka, startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

const FAST = 50;

/**
 * One tenant's hanging endpoint holds the committed offset of its deliveries partition for as long
 * as its attempt runs; every other endpoint's deliveries finished behind it used to be delivered
 * again after a crash. The commit now names them (README decision 92): after a SIGKILL and a
 * restart, only the hanging delivery is attempted again.
 */
describe('a crash behind a hanging endpoint', () => {
  let stack: Stack;
  let admin: Admin;
  beforeAll(async () => {
    stack = await startStack('crash-behind-hanging', {
      HOOKSTREAM_DELIVERY_PARTITIONS: '1',
      HOOKSTREAM_INPUT_PARTITIONS: '1',
      // The hanging attempt stays in flight for the whole test.
      HOOKSTREAM_DELIVERY_TIMEOUT: '60s',
    });
    admin = await connectedAdmin(kafka);
  });
  afterAll(async () => {
    await admin?.disconnect();
    await stopStack(stack);
  });

  async function committed(groupId: string, topic: string) {
    const [{ partitions }] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return partitions[0];
  }

  it('delivers again only what was in flight, not what finished behind it', async () => {
    const { api, receiver, producer, inputTopic, deliveriesTopic, namespace } = stack;
    const slowTenant = await api.createTenant('Hanging');
    await slowTenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/hanging') });
    const tenant = await api.createTenant('Fast');
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/fast') });
    receiver.respond('/hanging', { hang: true });

    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: [structuredEvent(slowTenant.id, 'record.updated', { n: 'hang' }).message],
    });
    await waitFor(() => receiver.on('/hanging').length === 1, { what: 'the hanging attempt' });
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: Array.from(
        { length: FAST },
        (_, n) => structuredEvent(tenant.id, 'record.updated', { n }).message,
      ),
    });
    await waitFor(() => receiver.on('/fast').length === FAST, { what: `${FAST} fast deliveries` });

    // What a crash leaves: the fan-out's input committed, the deliveries partition's offset held
    // at the hanging delivery, and the commit's metadata naming the 50 finished behind it.
    // The input topic's end: the service publishes its own notifications there too.
    const [{ high: inputEnd }] = await admin.fetchTopicOffsets(inputTopic);
    await waitFor(async () => (await committed(`${namespace}-fanout`, inputTopic)).offset === inputEnd, {
      what: 'the fan-out committed every input record',
    });
    const deliveries = await waitFor(
      async () => {
        const commit = await committed(`${namespace}-delivery`, deliveriesTopic);
        const named = decodeFinished(BigInt(commit.offset), commit.metadata);
        const count = named.reduce((sum, [first, last]) => sum + Number(last - first + 1n), 0);
        return count === FAST ? commit : null;
      },
      { what: `a deliveries commit naming the ${FAST} finished behind the hanging one` },
    );
    expect(deliveries.offset).toBe('0');

    await stack.service.kill();
    receiver.respond('/hanging', { status: 200 });
    await stack.boot('crash-behind-hanging-restarted');

    await waitFor(() => receiver.on('/hanging').length === 2, {
      what: 'the hanging delivery attempted again',
    });
    // A marker after the restart: once it arrives, anything read again before it has arrived too.
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: [structuredEvent(tenant.id, 'record.updated', { n: 'marker' }).message],
    });
    await waitFor(() => receiver.on('/fast').length > FAST, { what: 'the marker delivered' });
    const fast = receiver.on('/fast');
    expect(fast).toHaveLength(FAST + 1);
    expect(JSON.parse(fast[FAST].body).data).toEqual({ n: 'marker' });
  });
});
