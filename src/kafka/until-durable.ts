import type { Logger } from 'pino';
import type { ConsumedRecord } from '../domain/records';
import { RecordWithdrawn } from '../domain/records';
import { retryUntilDone } from '../domain/retry-loop';
import { isTransientError } from '../domain/transient';

const HANDLER_RETRY_MAX_MS = 5_000;
/** Failures of a record that are not transient, in a row, before it is isolated (spec.isolate). */
const PERMANENT_FAILURES_BEFORE_ISOLATING = 3;

/** The consumer a handler runs for (one object per consumer: nothing is allocated per record). */
export interface DurableContext {
  /** The consumer's name, for its log lines. */
  consumer: string;
  logger: Logger;
  /** The consumer stops: give up (the record stays uncommitted and is read again). */
  stopping: () => boolean;
}

/**
 * Retries a consumer's handler until the outcome is durable; gives up only when the consumer stops
 * or the record is withdrawn (its partition moved). With `isolate`, a handler that fails the same
 * non-transient way a few times in a row is handed to it (it takes the record out of the way).
 * `first` names the record (or the first of the batch) in the log lines.
 *
 * A handler that succeeds at once, as nearly every one does, costs one promise: the retry loop and
 * its closures are made only after a failure. A record waits in its lane while this runs, long
 * enough for what it allocates to reach the old generation (README decision 87).
 */
export function handleUntilDurable(
  work: () => Promise<void>,
  first: ConsumedRecord,
  context: DurableContext,
  isolate?: (error: unknown) => Promise<void>,
): Promise<void> {
  try {
    return work().then(undefined, (error: unknown) =>
      retryAfterFailure(error, work, first, context, isolate),
    );
  } catch (error) {
    return retryAfterFailure(error, work, first, context, isolate);
  }
}

function retryAfterFailure(
  firstError: unknown,
  work: () => Promise<void>,
  first: ConsumedRecord,
  context: DurableContext,
  isolate?: (error: unknown) => Promise<void>,
): Promise<void> {
  const { logger, stopping } = context;
  let permanentFailures = 0;
  /** Rethrows what is to be retried (or given up); resolves once the record is isolated. */
  const failed = async (error: unknown): Promise<void> => {
    if (error instanceof RecordWithdrawn) throw error;
    if (!isolate || isTransientError(error)) {
      permanentFailures = 0;
      throw error;
    }
    permanentFailures += 1;
    if (permanentFailures < PERMANENT_FAILURES_BEFORE_ISOLATING) throw error;
    logger.error(
      { ...logFields(context, first), err: error },
      'handler keeps failing on this record for a reason that is not transient; isolating it',
    );
    await isolate(error);
  };
  let firstFailureSeen = false;
  const attempt = async (): Promise<void> => {
    if (!firstFailureSeen) {
      firstFailureSeen = true;
      return failed(firstError);
    }
    try {
      await work();
    } catch (error) {
      await failed(error);
    }
  };
  return retryUntilDone(attempt, {
    baseDelayMs: 100,
    maxDelayMs: HANDLER_RETRY_MAX_MS,
    // A withdrawn record is not retried: it is not this member's any more.
    stopped: (error) => stopping() || error instanceof RecordWithdrawn,
    onRetry: (error, waitMs) =>
      logger.warn(
        { ...logFields(context, first), err: error },
        `record could not be made durable; handing it back in ${waitMs} ms`,
      ),
  });
}

/** Where a failing record is, for a log line: built only when one is written. */
function logFields(context: DurableContext, first: ConsumedRecord) {
  return { consumer: context.consumer, topic: first.topic, partition: first.partition, offset: first.offset };
}
