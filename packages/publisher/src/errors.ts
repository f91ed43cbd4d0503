import type { ParseFailureReason } from './contract';

export type PublishErrorCode = 'invalid_event' | 'not_acknowledged' | 'not_in_transaction' | 'invalid_config';

/**
 * Every error this library throws. `retriable` says whether the same call may succeed later:
 * an event the contract refuses never will; a publish the broker did not acknowledge may.
 */
export class PublishError extends Error {
  constructor(
    readonly code: PublishErrorCode,
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PublishError';
  }
}

/** The event breaks Hookstream's input contract: the service would dead-letter it. Never retriable. */
export class InvalidEventError extends PublishError {
  constructor(
    /** The dead-letter reason the service would give (`invalid_attribute`, `too_large`, ...). */
    readonly reason: ParseFailureReason | 'unknown_tenant',
    /** Which attribute and which rule, as the service words it. */
    readonly detail: string,
  ) {
    super('invalid_event', `event refused (${reason}): ${detail}`, false);
    this.name = 'InvalidEventError';
  }
}
