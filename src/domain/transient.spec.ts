import { isTransientError, TransientError } from './transient';

/** A produce refused by the broker, as kafkajs' retrier rejects it: a non-retriable error around it. */
function kafkaRefusal(type: string): Error {
  const answer = Object.assign(new Error(`broker answered ${type}`), {
    name: 'KafkaJSProtocolError',
    type,
    retriable: false,
  });
  return Object.assign(new Error(answer.message, { cause: answer }), {
    name: 'KafkaJSNonRetriableError',
    retriable: false,
  });
}

describe('isTransientError', () => {
  it.each([
    ['our own TransientError', new TransientError('PostgreSQL unavailable')],
    ['a retriable Kafka client error', Object.assign(new Error('leader moved'), { retriable: true })],
    ['any Kafka client error', Object.assign(new Error('x'), { name: 'KafkaJSNumberOfRetriesExceeded' })],
    ['a PostgreSQL connection failure', Object.assign(new Error('x'), { code: '08006' })],
    ['a PostgreSQL shutdown', Object.assign(new Error('x'), { code: '57P01' })],
    ['a socket error', Object.assign(new Error('x'), { code: 'ECONNREFUSED' })],
    ['a driver error wrapped by the ORM', Object.assign(new Error('x'), { driverError: { code: '53300' } })],
    ['a lost connection without a code', new Error('Connection terminated unexpectedly')],
    ['a cause that is transient', new Error('could not hold', { cause: new TransientError('down') })],
  ])('%s is transient', (_what, error) => {
    expect(isTransientError(error)).toBe(true);
  });

  it.each([
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a range error', new RangeError('Invalid time value')],
    ['a data exception', Object.assign(new Error('invalid byte sequence'), { code: '22021' })],
    ['a unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['nothing at all', undefined],
    ["the broker's refusal of a record too large, as kafkajs wraps it", kafkaRefusal('MESSAGE_TOO_LARGE')],
    ['a record the broker finds invalid', kafkaRefusal('INVALID_RECORD')],
  ])('%s is not', (_what, error) => {
    expect(isTransientError(error)).toBe(false);
  });
});
