import type { Consumer } from 'kafkajs';
import { setPaused } from './kafkajs-pauses';

describe('setPaused', () => {
  it('pauses and resumes on the consumer, and skips an empty list', () => {
    const calls: string[] = [];
    const consumer = {
      pause: (partitions: Array<{ topic: string }>) => calls.push(`pause ${partitions[0].topic}`),
      resume: (partitions: Array<{ topic: string }>) => calls.push(`resume ${partitions[0].topic}`),
    } as unknown as Consumer;

    setPaused(consumer, [{ topic: 'a', partitions: [0] }], true);
    setPaused(consumer, [{ topic: 'b', partitions: [1] }], false);
    setPaused(consumer, [], true);

    expect(calls).toEqual(['pause a', 'resume b']);
  });

  it('does not throw while kafkajs restarts the consumer and has no group', () => {
    const notInitialized = () => {
      throw new Error('Consumer group was not initialized, consumer#run must be called first');
    };
    const consumer = { pause: notInitialized, resume: notInitialized } as unknown as Consumer;

    expect(() => setPaused(consumer, [{ topic: 'a', partitions: [0] }], true)).not.toThrow();
    expect(() => setPaused(consumer, [{ topic: 'a', partitions: [0] }], false)).not.toThrow();
  });
});
