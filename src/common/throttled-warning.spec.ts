import { ThrottledWarning } from './throttled-warning';

describe('ThrottledWarning', () => {
  it('logs the first failure at once, then one line per interval counting the ones in between', () => {
    const lines: Array<{ failures: number }> = [];
    const warning = new ThrottledWarning(
      { warn: (fields: { failures: number }) => void lines.push(fields) } as never,
      'it failed',
      10_000,
    );
    warning.warn(new Error('x'), 1_000);
    warning.warn(new Error('x'), 2_000);
    warning.warn(new Error('x'), 10_999);
    expect(lines.map((line) => line.failures)).toEqual([1]);
    warning.warn(new Error('x'), 11_000);
    expect(lines.map((line) => line.failures)).toEqual([1, 3]);
  });
});
