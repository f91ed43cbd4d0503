/**
 * `promise`, or a rejection once `ms` have passed without it settling: an Error with `timedOut` when
 * it is a message, or what `timedOut` returns (called once, when the time is up). `promise` goes on
 * either way, and its later rejection is handled (by the race), never left unhandled.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  timedOut: string | (() => Error),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(typeof timedOut === 'string' ? new Error(timedOut) : timedOut()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
