import { DepthLimitPipe } from './depth-limit.pipe';

/** A body whose `events` are each checked by the handler alone, as PublishBatchDto declares. */
class BatchBody {
  static readonly requestLists = ['events'];
}

describe('DepthLimitPipe', () => {
  const limit = new DepthLimitPipe();
  const check = (json: string) => {
    try {
      limit.transform(JSON.parse(json));
      return 'accepted';
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('names the top-level field the nesting or the number is in', () => {
    expect(check(`{"type":"a","data":${'['.repeat(64)}${']'.repeat(64)}}`)).toBe('accepted');
    expect(check(`{"type":"a","data":${'['.repeat(65)}${']'.repeat(65)}}`)).toBe(
      'data is nested deeper than 64 levels',
    );
    expect(check('{"type":"a","data":[1e400,-1e400]}')).toBe(
      'data holds a number outside the range of a double (RFC 7493 I-JSON)',
    );
    expect(check('{"metadata":{"k":1e999}}')).toMatch(/^metadata holds a number outside/);
    expect(check('{"odd key":-1e400}')).toMatch(/^"odd key" holds a number outside/);
  });

  it("bounds only the depth of a body's list of requests, whose elements are each the handler's to check", () => {
    const batch = (json: string) => {
      try {
        limit.transform(JSON.parse(json), { type: 'body', metatype: BatchBody });
        return 'accepted';
      } catch (error) {
        return (error as Error).message;
      }
    };
    const event = (depth: number) => `{"type":"a","data":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expect(batch(`{"events":[${event(64)},{"data":[1e400]}]}`)).toBe('accepted');
    expect(batch(`{"events":[${event(65)}]}`)).toBe('events is nested deeper than 66 levels');
    // Another body's list is a value like any other.
    expect(check(`{"events":[${event(63)}]}`)).toBe('events is nested deeper than 64 levels');
  });

  it('names the request when the body is not an object', () => {
    expect(check(`${'['.repeat(66)}${']'.repeat(66)}`)).toBe('request is nested deeper than 65 levels');
    expect(check('1e400')).toMatch(/^request holds a number outside/);
  });
});
