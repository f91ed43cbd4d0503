/**
 * Whether a failure is worth retrying as it is: infrastructure that will come back (a broker or
 * database connection, a timeout), as opposed to something the record itself or a bug causes,
 * which fails the same way every time and must be isolated instead of retried forever.
 */

/** A failure known to pass: something this process needs is unreachable for now. */
export class TransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** SQLSTATE classes caused by the data (data exception, integrity, program limit). */
const DATA_SQLSTATE_CLASSES = new Set(['22', '23', '54']);
const CONNECTION_MESSAGE = /connection (terminated|refused|reset|closed)|timeout|ECONN|socket hang up/i;
/**
 * Broker answers to a produce that refuse the record itself (kafkajs' error `type`): sent again, the
 * same record is refused again, whatever error wraps the answer.
 */
const KAFKA_RECORD_REFUSALS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'INVALID_TIMESTAMP',
]);

export function isTransientError(error: unknown): boolean {
  if (refusesTheRecord(error)) return false;
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; depth++) {
    if (e instanceof TransientError) return true;
    const { name, code, retriable, message } = e as {
      name?: unknown;
      code?: unknown;
      retriable?: unknown;
      message?: unknown;
    };
    if (retriable === true) return true;
    // The Kafka client's own errors are about the broker and the network, never about a record's data.
    if (typeof name === 'string' && name.startsWith('KafkaJS')) return true;
    if (typeof code === 'string') {
      if (/^[0-9A-Z]{5}$/.test(code)) return !DATA_SQLSTATE_CLASSES.has(code.slice(0, 2));
      if (/^E[A-Z]+$/.test(code)) return true;
    }
    if (name === 'AbortError' || name === 'TimeoutError') return true;
    if (typeof message === 'string' && CONNECTION_MESSAGE.test(message)) return true;
    e = (e as { driverError?: unknown; cause?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Whether a broker's answer somewhere in the chain refuses the record, not the connection. */
function refusesTheRecord(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; depth++) {
    const { type } = e as { type?: unknown };
    if (typeof type === 'string' && KAFKA_RECORD_REFUSALS.has(type)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
