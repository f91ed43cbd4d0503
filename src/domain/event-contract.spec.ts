import { jsonValueProblem, OUT_OF_DOUBLE_RANGE } from './event-contract';

const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { k: value };
  return value;
};

describe('jsonValueProblem', () => {
  it.each([null, 0, -0, 'x', true, Number.MAX_VALUE, 5e-324, [], {}, { a: [1, { b: null }] }])(
    'finds nothing wrong with %j',
    (value) => {
      expect(jsonValueProblem(value, 64)).toBeNull();
    },
  );

  it('counts the value itself as level 1', () => {
    expect(jsonValueProblem(nested(64), 64)).toBeNull();
    expect(jsonValueProblem(nested(65), 64)).toBe('is nested deeper than 64 levels');
    expect(jsonValueProblem([[1]], 2)).toBeNull();
    expect(jsonValueProblem([[[]]], 2)).toBe('is nested deeper than 2 levels');
  });

  it('walks a hostile nesting without recursion', () => {
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
    expect(jsonValueProblem(deep, 64)).toBe('is nested deeper than 64 levels');
  });

  it.each([Infinity, -Infinity, [1, Infinity], { a: { b: [-Infinity] } }, JSON.parse('{"n":[1e400]}')])(
    'refuses a number past the double range in %j',
    (value) => {
      expect(jsonValueProblem(value, 64)).toBe(OUT_OF_DOUBLE_RANGE);
    },
  );

  it('reads own keys only, whatever they are called', () => {
    const value = JSON.parse('{"__proto__":{"n":1e400},"constructor":1}') as unknown;
    expect(jsonValueProblem(value, 64)).toBe(OUT_OF_DOUBLE_RANGE);
  });
});
