import pino from 'pino';
import { KafkaAdmin } from '../../src/kafka/kafka-admin';
import { DELIVERY_RECORD_OVERHEAD_BYTES } from '../../src/kafka/topics';
import { testConfig } from '../../src/testing/fakes';
import { testKafka, uniqueNamespace } from '../support/kafka';

/**
 * At boot, against the real broker: a HOOKSTREAM_MAX_EVENT_BYTES whose largest delivery record
 * (task and hs-* headers added) the delivery topics' max.message.bytes refuses is warned of; the
 * default (256 KiB against the broker's 1 MiB) is not.
 */
describe('KafkaAdmin: HOOKSTREAM_MAX_EVENT_BYTES against max.message.bytes', () => {
  async function warningsAtBoot(maxEventBytes: string): Promise<Array<Record<string, unknown>>> {
    const namespace = uniqueNamespace('record-limit');
    const config = testConfig({
      HOOKSTREAM_TOPIC_NAMESPACE: namespace,
      HOOKSTREAM_INPUT_TOPICS: `${namespace}.events`,
      HOOKSTREAM_MAX_EVENT_BYTES: maxEventBytes,
      // One partition each: fewer leaders for createTopics to wait for.
      HOOKSTREAM_INPUT_PARTITIONS: '1',
      HOOKSTREAM_DELIVERY_PARTITIONS: '1',
    });
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const admin = new KafkaAdmin(testKafka(), config, logger);
    try {
      await admin.provisionTopics();
    } finally {
      await admin.onApplicationShutdown();
    }
    return lines.filter((line) => line.level === 40);
  }

  it('warns, naming the topics and their limit, when the largest record does not fit', async () => {
    const [warning, ...more] = await warningsAtBoot('1MiB');
    expect(more).toEqual([]);
    expect(String(warning.msg)).toContain('HOOKSTREAM_MAX_EVENT_BYTES');
    const limits = warning.maxMessageBytes as Record<string, number>;
    expect(Object.keys(limits).some((topic) => topic.endsWith('.deliveries'))).toBe(true);
    expect(warning.needed).toBe(1024 * 1024 + DELIVERY_RECORD_OVERHEAD_BYTES);
    // The broker's default message.max.bytes, 1,048,588, which the topics inherit.
    expect(Object.values(limits).every((limit) => limit < (warning.needed as number))).toBe(true);
  });

  it('says nothing with the default limit', async () => {
    expect(await warningsAtBoot('256KiB')).toEqual([]);
  });
});
