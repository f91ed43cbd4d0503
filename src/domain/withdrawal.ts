import { RecordWithdrawn } from './records';

/**
 * How often a record waiting for PostgreSQL asks whether it was withdrawn (its partition moved, or
 * its consumer stops). A hung query (not refused) fails only when TCP keepalive gives up, minutes
 * later, and the partition's handover waits for the record that long (README decision 100).
 */
export const WITHDRAWAL_POLL_MS = 250;

/**
 * `work`'s outcome, or RecordWithdrawn once `withdrawn()` turns true, whichever comes first. `work`
 * is not cancelled: it goes on for whoever else waits for it.
 */
export function unlessWithdrawn<T>(
  work: Promise<T>,
  withdrawn: () => boolean,
  pollMs = WITHDRAWAL_POLL_MS,
): Promise<T> {
  let poll: NodeJS.Timeout | undefined;
  const withdrawal = new Promise<never>((_, reject) => {
    poll = setInterval(() => {
      if (withdrawn()) reject(new RecordWithdrawn());
    }, pollMs);
    poll.unref();
  });
  return Promise.race([work, withdrawal]).finally(() => clearInterval(poll));
}

/** Waits `ms`, or rejects with RecordWithdrawn as soon as `withdrawn()` turns true. */
export function sleepUnlessWithdrawn(
  ms: number,
  withdrawn: () => boolean,
  pollMs = WITHDRAWAL_POLL_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const slept = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return unlessWithdrawn(slept, withdrawn, pollMs).finally(() => clearTimeout(timer));
}
