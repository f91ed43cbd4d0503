import { DomainError } from '../common/domain-error';
import { formatDuration } from '../config/units';

/** A validated time window of the input topics to replay: [sinceMs, untilMs), untilMs null = up to now. */
export interface ReplayWindow {
  sinceMs: number;
  untilMs: number | null;
}

/**
 * Checks a requested window against the clock and the input topics' retention.
 * @param retentionMs the shortest retention of the input topics; null when unbounded
 */
export function replayWindow(
  since: string,
  until: string | undefined,
  nowMs: number,
  retentionMs: number | null,
): ReplayWindow {
  const sinceMs = Date.parse(since);
  const untilMs = until === undefined ? null : Date.parse(until);
  const problems: string[] = [];
  if (Number.isNaN(sinceMs)) problems.push('since must be an ISO 8601 date-time');
  if (untilMs !== null && Number.isNaN(untilMs)) problems.push('until must be an ISO 8601 date-time');
  if (problems.length) throw DomainError.invalid('replay window is not valid', problems);

  if (sinceMs > nowMs) problems.push('since must not be in the future');
  if (untilMs !== null && untilMs <= sinceMs) problems.push('until must be after since');
  if (retentionMs !== null && nowMs - sinceMs > retentionMs) {
    problems.push(
      `since is older than the input topics' retention (${formatDuration(retentionMs)}): those events are gone`,
    );
  }
  if (problems.length) throw DomainError.invalid('replay window is not valid', problems);
  // A window reaching past now ends at what the topics hold when the request arrives.
  return { sinceMs, untilMs: untilMs !== null && untilMs < nowMs ? untilMs : null };
}
