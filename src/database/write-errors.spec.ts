import { classifyWriteError } from './write-errors';

describe('classifyWriteError', () => {
  const pg = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

  it.each([
    ['22021 (invalid byte sequence)', pg('22021'), 'data'],
    ['22P05 (unsupported Unicode escape in jsonb)', pg('22P05'), 'data'],
    ['23505 (unique violation)', pg('23505'), 'data'],
    ['54000 (row too large)', pg('54000'), 'data'],
    ['57P01 (server shutting down)', pg('57P01'), 'transient'],
    ['08006 (connection failure)', pg('08006'), 'transient'],
    ['40P01 (deadlock)', pg('40P01'), 'transient'],
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'transient'],
    ['no code at all', new Error('Connection terminated unexpectedly'), 'transient'],
  ])('%s is %s', (_what, error, expected) => {
    expect(classifyWriteError(error)).toBe(expected);
  });

  it('reads the code of the driver error TypeORM wraps', () => {
    const wrapped = Object.assign(new Error('QueryFailedError'), { driverError: pg('22P02') });
    expect(classifyWriteError(wrapped)).toBe('data');
  });
});
