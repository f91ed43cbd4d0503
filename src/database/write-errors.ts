/**
 * What a failed PostgreSQL write says about retrying it. A data error (SQLSTATE class 22, data
 * exception; 23, integrity constraint; 54, program limit such as a row too large) fails the same way
 * every time: isolate the row that caused it. Anything else (the connection, the server going
 * away, a lock timeout) is worth retrying.
 */
const DATA_CLASSES = new Set(['22', '23', '54']);

export type WriteFailure = 'data' | 'transient';

export function classifyWriteError(error: unknown): WriteFailure {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      return DATA_CLASSES.has(code.slice(0, 2)) ? 'data' : 'transient';
    }
    e = (e as { driverError?: unknown; cause?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return 'transient';
}
