import { randomUUID } from 'node:crypto';
import { DomainError } from '../common/domain-error';
import type { DeliveryTask } from '../domain/delivery-task';
import type { StoredDeadLetter } from './dead-letters.repository';

export function replayableTask(deadLetter: StoredDeadLetter): DeliveryTask {
  if (deadLetter.reason === 'task_unauthenticated') {
    // Replaying would seal, with Hookstream's key, a task someone else wrote (docs/security.md).
    throw new DomainError(
      'conflict',
      `dead letter ${deadLetter.id} is a delivery task Hookstream did not write (no valid MAC): it is never replayed`,
    );
  }
  if (deadLetter.task === null || deadLetter.endpointId === null) {
    throw new DomainError(
      'conflict',
      `dead letter ${deadLetter.id} (${deadLetter.reason}) holds no delivery task: it is bad input that ` +
        'never reached an endpoint, so it cannot be replayed; publish a corrected event instead',
    );
  }
  return deadLetter.task;
}

/** Same event (same webhook-id), a new delivery id so the attempt log tells the replay apart;
 *  latency is measured from the replay, not from the original publish. */
export function asReplay(task: DeliveryTask): DeliveryTask {
  return { ...task, deliveryId: randomUUID(), publishedAtMs: Date.now() };
}
