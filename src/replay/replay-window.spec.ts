import { DomainError } from '../common/domain-error';
import { replayWindow } from './replay-window';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');
const DAY = 86_400_000;

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return (error as DomainError).details;
  }
  throw new Error('expected a DomainError');
}

describe('replayWindow', () => {
  it('accepts a window inside retention', () => {
    expect(replayWindow('2025-06-01T10:00:00Z', '2025-06-01T11:00:00Z', NOW, 7 * DAY)).toEqual({
      sinceMs: Date.parse('2025-06-01T10:00:00Z'),
      untilMs: Date.parse('2025-06-01T11:00:00Z'),
    });
  });

  it('reads up to now when until is absent or in the future', () => {
    expect(replayWindow('2025-06-01T10:00:00Z', undefined, NOW, 7 * DAY).untilMs).toBeNull();
    expect(replayWindow('2025-06-01T10:00:00Z', '2025-06-02T00:00:00Z', NOW, 7 * DAY).untilMs).toBeNull();
  });

  it('refuses since in the future', () => {
    expect(problemsOf(() => replayWindow('2025-06-01T12:00:01Z', undefined, NOW, null))).toEqual([
      'since must not be in the future',
    ]);
  });

  it('refuses until not after since', () => {
    expect(problemsOf(() => replayWindow('2025-06-01T10:00:00Z', '2025-06-01T10:00:00Z', NOW, null))).toEqual(
      ['until must be after since'],
    );
  });

  it('refuses a since older than the retention, naming it', () => {
    const [problem] = problemsOf(() => replayWindow('2025-05-20T00:00:00Z', undefined, NOW, 7 * DAY));
    expect(problem).toMatch(/retention \(7d\)/);
  });

  it('allows any age when retention is unbounded', () => {
    expect(replayWindow('2001-01-01T00:00:00Z', undefined, NOW, null).sinceMs).toBe(
      Date.parse('2001-01-01T00:00:00Z'),
    );
  });

  it('refuses unparseable times', () => {
    expect(problemsOf(() => replayWindow('yesterday', 'today', NOW, null))).toEqual([
      'since must be an ISO 8601 date-time',
      'until must be an ISO 8601 date-time',
    ]);
  });
});
