/** Errors the domain raises on purpose; the exception filter maps `code` to an HTTP status. */
export type DomainErrorCode =
  | 'not_found'
  | 'unauthorized'
  /** A valid credential that this route does not admit (the read-only ops token on an admin route). */
  | 'forbidden'
  | 'validation_failed'
  | 'conflict'
  | 'quota_exceeded'
  | 'rate_limited'
  | 'payload_too_large'
  | 'unavailable'
  /** An idempotency key sent again with another body (422, as the IETF Idempotency-Key draft says). */
  | 'idempotency_key_reused'
  /** An idempotency key whose first request is still being processed (409, retry shortly). */
  | 'idempotency_key_in_progress';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: string[] = [],
    /** For `rate_limited` and `idempotency_key_in_progress`: when to try again, in whole seconds (the Retry-After header). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  static rateLimited(message: string, retryAfterSeconds: number): DomainError {
    return new DomainError('rate_limited', message, [message], retryAfterSeconds);
  }

  static notFound(what: string): DomainError {
    return new DomainError('not_found', `${what} not found`);
  }

  static invalid(message: string, details: string[] = [message]): DomainError {
    return new DomainError('validation_failed', message, details);
  }
}
