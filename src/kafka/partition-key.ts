/**
 * `topic:partition`: how consumers key what they track per partition. A Kafka topic name has no
 * `:` (its characters are letters, digits, `.`, `_` and `-`), so the key splits back unambiguously.
 */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** A `partitionKey` split again. */
export function splitPartitionKey(key: string): { topic: string; partition: number } {
  const separator = key.lastIndexOf(':');
  return { topic: key.slice(0, separator), partition: Number(key.slice(separator + 1)) };
}
