/** Time and randomness, injected so time-dependent logic is tested with fakes. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A uniform number in [0, 1). */
export type Random = () => number;
