import type { Consumer } from 'kafkajs';

type Partitions = Parameters<Consumer['pause']>[0];

/**
 * Pauses or resumes partitions on the consumer group kafkajs reads with now. Between a retriable
 * crash and its restart kafkajs has no group and throws (from a timer, that would end the process);
 * the group it creates then starts with nothing paused, which every pauser allows for (README
 * decision 94): the window and byte budget pause again on the next batch that needs it, the idle
 * probe on its next probe, and a handover holds its partitions back in eachBatch.
 */
export function setPaused(consumer: Consumer | undefined, partitions: Partitions, paused: boolean): void {
  if (!consumer || partitions.length === 0) return;
  try {
    if (paused) consumer.pause(partitions);
    else consumer.resume(partitions);
  } catch {
    // No consumer group now (see above); the arguments are ours and well formed.
  }
}
