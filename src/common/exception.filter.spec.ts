import type { ArgumentsHost } from '@nestjs/common';
import { silentLogger } from '../testing/fakes';
import { DomainError } from './domain-error';
import { GlobalExceptionFilter, type ErrorBody } from './exception.filter';

function answer(exception: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  const sent = { status: 0, body: undefined as unknown as ErrorBody, headers: {} as Record<string, string> };
  const response = {
    header: (name: string, value: string) => (sent.headers[name] = value),
    status: (status: number) => {
      sent.status = status;
      return { send: (body: ErrorBody) => (sent.body = body) };
    },
  };
  const host = {
    switchToHttp: () => ({
      getResponse: () => response,
      getRequest: () => ({ headers: {}, url: '/v1/events' }),
    }),
  } as unknown as ArgumentsHost;
  new GlobalExceptionFilter(silentLogger).catch(exception, host);
  return sent;
}

describe('GlobalExceptionFilter', () => {
  it('answers 503 with Retry-After when PostgreSQL cannot be reached (an API key lookup in an outage)', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const { status, body, headers } = answer(refused);
    expect(status).toBe(503);
    expect(body.error).toBe('unavailable');
    expect(headers['Retry-After']).toBe('5');
  });

  it('keeps 500 for a failure that is not about reaching a dependency', () => {
    expect(answer(new TypeError('x is undefined')).status).toBe(500);
  });

  it('answers an idempotency key reused with another body 422, and one in progress 409 with Retry-After', () => {
    const reused = answer(new DomainError('idempotency_key_reused', 'reused'));
    expect([reused.status, reused.body.error, reused.headers['Retry-After']]).toEqual([
      422,
      'idempotency_key_reused',
      undefined,
    ]);
    const busy = answer(new DomainError('idempotency_key_in_progress', 'busy', [], 1));
    expect([busy.status, busy.body.error, busy.headers['Retry-After']]).toEqual([
      409,
      'idempotency_key_in_progress',
      '1',
    ]);
  });

  it("keeps a domain error's own Retry-After", () => {
    const { status, headers } = answer(DomainError.rateLimited('too fast', 2));
    expect(status).toBe(429);
    expect(headers['Retry-After']).toBe('2');
  });
});
