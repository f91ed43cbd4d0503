/**
 * Two JSON values are the same value: numbers by value (so -0 equals 0, and Infinity, which only a
 * number past the double range parses to, equals nothing JSON can write), objects by their own keys
 * in any order, arrays item by item. JSON.parse output only: no cycles, dates or maps.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return (
    keys.length === Object.keys(right).length &&
    keys.every((key) => Object.hasOwn(right, key) && sameJson(left[key], right[key]))
  );
}
