import { formatDuration, parseDurationMs } from './units';

/** A retry tier's topic: `<namespace>.retry.<n>.<delay>`, n counted from 1 (`hookstream.retry.2.30s`). */
export function retryTierTopic(namespace: string, index: number, delayMs: number): string {
  return `${namespace}.retry.${index + 1}.${formatDuration(delayMs)}`;
}

/**
 * The delay a topic named like a retry tier of `namespace` was made for, or null when the name is
 * not one (the delay is spelled as {@link retryTierTopic} spells it, so no other topic matches).
 */
export function retryTierDelayOf(namespace: string, topic: string): number | null {
  const prefix = `${namespace}.retry.`;
  if (!topic.startsWith(prefix)) return null;
  const match = /^[1-9]\d{0,3}\.(\d+(?:ms|s|m|h|d))$/.exec(topic.slice(prefix.length));
  if (!match) return null;
  const delayMs = parseDurationMs(match[1]);
  return delayMs > 0 && formatDuration(delayMs) === match[1] ? delayMs : null;
}
