import { parseDurationMs } from './units';

/** Parsers of configuration values: each throws an Error saying what is wrong with `raw`. */

export function integer(min: number, max: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw.trim())) throw new Error(`"${raw}" is not a whole number`);
    const value = Number(raw);
    if (value < min || value > max) throw new Error(`${value} is outside ${min}..${max}`);
    return value;
  };
}

export function durationAtLeast(minMs: number) {
  return (raw: string): number => {
    const ms = parseDurationMs(raw);
    if (ms < minMs) throw new Error(`${raw} is shorter than ${minMs} ms`);
    return ms;
  };
}

export function durationBetween(minMs: number, maxMs: number) {
  const atLeast = durationAtLeast(minMs);
  return (raw: string): number => {
    const ms = atLeast(raw);
    if (ms > maxMs) throw new Error(`${raw} is longer than ${maxMs} ms`);
    return ms;
  };
}

export function durationAtMost(maxMs: number) {
  return (raw: string): number => {
    const ms = parseDurationMs(raw);
    if (ms > maxMs) throw new Error(`${raw} is longer than ${maxMs} ms`);
    return ms;
  };
}

/**
 * Addresses or ranges of trusted proxies. A hop count is refused: it cannot tell a proxy from a
 * client that sends X-Forwarded-For itself, and Fastify (from 5.12) trusts no one when given one.
 */
export function trustedProxies(raw: string): string | null {
  if (raw.trim() === '') return null;
  if (/^\d+$/.test(raw.trim())) {
    throw new Error(`"${raw}" is a hop count; give the proxies' addresses or ranges (e.g. "10.0.0.0/8")`);
  }
  return raw;
}

export function boolean(raw: string): boolean {
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new Error(`"${raw}" is not true or false`);
}

export function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string): T => {
    if (!values.includes(raw as T)) throw new Error(`"${raw}" is not one of ${values.join(', ')}`);
    return raw as T;
  };
}
