import { errors as undiciErrors } from 'undici';
import { classifyError, classifyResponse } from './attempt-outcome';

const now = Date.UTC(2024, 4, 1, 9, 30, 0);

function systemError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, errno: -1, syscall: 'connect' });
}

describe('classifyResponse', () => {
  it.each([200, 201, 202, 204, 299])('counts %i as delivered', (status) => {
    expect(classifyResponse({ status, headers: {}, nowMs: now })).toEqual({ kind: 'delivered', status });
  });

  it.each([100, 199, 300, 301, 302, 304, 307, 400, 401, 403, 404, 408, 413, 422, 500, 502, 504, 599])(
    'counts %i as a failure',
    (status) => {
      expect(classifyResponse({ status, headers: {}, nowMs: now })).toEqual({
        kind: 'failed',
        status,
        error: `HTTP ${status}`,
        retryAfterMs: null,
        disableEndpoint: false,
      });
    },
  );

  it('disables the endpoint on 410 Gone', () => {
    expect(classifyResponse({ status: 410, headers: {}, nowMs: now })).toMatchObject({
      kind: 'failed',
      error: 'HTTP 410',
      disableEndpoint: true,
    });
  });

  it.each([429, 503])('honours Retry-After on %i, in seconds or as a date', (status) => {
    expect(classifyResponse({ status, headers: { 'retry-after': '120' }, nowMs: now })).toMatchObject({
      kind: 'failed',
      status,
      retryAfterMs: 120_000,
    });
    expect(
      classifyResponse({ status, headers: { 'retry-after': 'Wed, 01 May 2024 09:31:00 GMT' }, nowMs: now }),
    ).toMatchObject({ retryAfterMs: 60_000 });
  });

  it('finds Retry-After whatever its case and takes the first of repeated values', () => {
    expect(classifyResponse({ status: 429, headers: { 'Retry-After': '5' }, nowMs: now })).toMatchObject({
      retryAfterMs: 5_000,
    });
    expect(
      classifyResponse({ status: 429, headers: { 'retry-after': ['7', '9'] }, nowMs: now }),
    ).toMatchObject({
      retryAfterMs: 7_000,
    });
  });

  it.each([500, 502, 301, 400, 200])('ignores Retry-After on %i', (status) => {
    const outcome = classifyResponse({ status, headers: { 'retry-after': '120' }, nowMs: now });
    expect(outcome).not.toHaveProperty('retryAfterMs', 120_000);
  });

  it('ignores a malformed Retry-After', () => {
    expect(classifyResponse({ status: 503, headers: { 'retry-after': 'later' }, nowMs: now })).toMatchObject({
      retryAfterMs: null,
    });
  });
});

describe('classifyError', () => {
  it.each([
    ['AbortSignal.timeout', new DOMException('The operation was aborted due to timeout', 'TimeoutError')],
    ['undici headers timeout', new undiciErrors.HeadersTimeoutError()],
    ['undici body timeout', new undiciErrors.BodyTimeoutError()],
    ['undici connect timeout', new undiciErrors.ConnectTimeoutError()],
    ['ETIMEDOUT', systemError('ETIMEDOUT', 'connect ETIMEDOUT 203.0.113.1:443')],
    [
      'a timeout wrapped by fetch',
      new TypeError('fetch failed', { cause: new undiciErrors.HeadersTimeoutError() }),
    ],
  ])('reports %s as a timeout', (_label, error) => {
    expect(classifyError(error)).toEqual({
      kind: 'failed',
      status: null,
      error: 'timeout',
      retryAfterMs: null,
      disableEndpoint: false,
    });
  });

  it('reports a refused connection with the system message', () => {
    expect(classifyError(systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'))).toMatchObject({
      error: 'connection refused: connect ECONNREFUSED 127.0.0.1:9',
      status: null,
      disableEndpoint: false,
    });
  });

  it('finds a refused connection inside a fetch-style cause chain', () => {
    const error = new TypeError('fetch failed', {
      cause: systemError('ECONNREFUSED', 'connect ECONNREFUSED ::1:9'),
    });
    expect(classifyError(error)).toMatchObject({ error: 'connection refused: connect ECONNREFUSED ::1:9' });
  });

  it.each([
    ['ECONNRESET', systemError('ECONNRESET', 'read ECONNRESET'), 'connection reset: read ECONNRESET'],
    ['EPIPE', systemError('EPIPE', 'write EPIPE'), 'connection reset: write EPIPE'],
    [
      'undici socket error',
      new undiciErrors.SocketError('other side closed'),
      'connection reset: other side closed',
    ],
    [
      'ENOTFOUND',
      systemError('ENOTFOUND', 'getaddrinfo ENOTFOUND nope.invalid'),
      'dns lookup failed: getaddrinfo ENOTFOUND nope.invalid',
    ],
    [
      'EHOSTUNREACH',
      systemError('EHOSTUNREACH', 'connect EHOSTUNREACH 10.9.9.9:443'),
      'host unreachable: connect EHOSTUNREACH 10.9.9.9:443',
    ],
    [
      'an expired certificate',
      systemError('CERT_HAS_EXPIRED', 'certificate has expired'),
      'tls error: certificate has expired',
    ],
    [
      'a self-signed certificate',
      systemError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
      'tls error: self-signed certificate',
    ],
    [
      'a host name mismatch',
      systemError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
      "tls error: Hostname/IP does not match certificate's altnames",
    ],
    ['an abort', new undiciErrors.RequestAbortedError(), 'aborted: Request aborted'],
  ])('reports %s', (_label, error, expected) => {
    expect(classifyError(error)).toMatchObject({ kind: 'failed', status: null, error: expected });
  });

  it('reports an SSRF refusal by its code', () => {
    class EgressRefusedError extends Error {
      readonly code = 'EGRESS_REFUSED';
    }
    expect(classifyError(new EgressRefusedError('127.0.0.1 is loopback'))).toMatchObject({
      error: 'egress refused: 127.0.0.1 is loopback',
      disableEndpoint: false,
    });
  });

  it('prefers the SSRF refusal to the connection error that carries it', () => {
    const refusal = Object.assign(new Error('metadata.internal resolves to 169.254.169.254 (link-local)'), {
      code: 'EGRESS_REFUSED',
    });
    const wrapped = Object.assign(new Error('connect failed', { cause: refusal }), { code: 'ECONNREFUSED' });
    expect(classifyError(wrapped)).toMatchObject({
      error: 'egress refused: metadata.internal resolves to 169.254.169.254 (link-local)',
    });
  });

  it.each([
    ['a plain Error', new Error('boom'), 'request failed: boom'],
    [
      'the innermost cause',
      new TypeError('fetch failed', { cause: new Error('bad port') }),
      'request failed: bad port',
    ],
    ['a string', 'weird', 'request failed: weird'],
    ['undefined', undefined, 'request failed: unknown error'],
    ['null', null, 'request failed: unknown error'],
    ['a number', 42, 'request failed: 42'],
    ['an object with only a code', { code: 'EWHATEVER' }, 'request failed: EWHATEVER'],
    ['an object with a non-string message', { message: { nested: true } }, 'request failed: unknown error'],
  ])('reports %s as a generic failure', (_label, error, expected) => {
    expect(classifyError(error)).toMatchObject({ kind: 'failed', status: null, error: expected });
  });

  it('survives a cyclic cause chain', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(classifyError(a)).toMatchObject({ kind: 'failed' });
  });

  it('keeps error texts short', () => {
    const outcome = classifyError(new Error('x'.repeat(10_000)));
    expect(outcome.kind === 'failed' && outcome.error.length).toBeLessThanOrEqual(500);
  });
});
