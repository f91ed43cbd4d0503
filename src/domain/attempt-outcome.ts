import { parseRetryAfterMs } from './backoff';

/** What one HTTP delivery attempt came to. Only the retry module decides what happens next. */
export type AttemptOutcome =
  | { kind: 'delivered'; status: number }
  | {
      kind: 'failed';
      status: number | null;
      error: string;
      retryAfterMs: number | null;
      disableEndpoint: boolean;
    };

/** The code an SSRF guard puts on the error when it refuses to dial an address. */
export const EGRESS_REFUSED = 'EGRESS_REFUSED';
/** The code a sender puts on the error when a header cannot be sent (its message names the header). */
export const INVALID_HEADER = 'INVALID_HEADER';

const RETRY_AFTER_STATUSES = new Set([429, 503]);
const GONE = 410;
const MAX_ERROR_LENGTH = 500;
const MAX_CAUSE_DEPTH = 8;

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ABORT_ERR_TIMEOUT',
]);
const REFUSED_CODES = new Set(['ECONNREFUSED']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'ENODATA']);
const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);
const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_(GET|VERIFY)_|HOSTNAME_MISMATCH)/;

function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

export function classifyResponse(input: {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  nowMs: number;
}): AttemptOutcome {
  const { status, headers, nowMs } = input;
  if (status >= 200 && status <= 299) return { kind: 'delivered', status };
  const retryAfterMs = RETRY_AFTER_STATUSES.has(status)
    ? parseRetryAfterMs(headerValue(headers, 'retry-after'), nowMs)
    : null;
  return { kind: 'failed', status, error: `HTTP ${status}`, retryAfterMs, disableEndpoint: status === GONE };
}

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** The error and its `cause` chain (fetch wraps the socket error in `TypeError: fetch failed`). */
function errorChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && chain.length < MAX_CAUSE_DEPTH) {
    if (chain.includes(current)) break;
    chain.push(current);
    current = (current as ErrorLike).cause;
  }
  return chain;
}

function messageOf(error: unknown): string {
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null) {
    const { message } = error as ErrorLike;
    if (typeof message === 'string' && message.length > 0) return message;
    const { name, code } = error as ErrorLike;
    if (typeof code === 'string') return code;
    if (typeof name === 'string') return name;
  }
  return typeof error === 'number' || typeof error === 'boolean' ? String(error) : 'unknown error';
}

function truncate(text: string): string {
  return text.length <= MAX_ERROR_LENGTH ? text : `${text.slice(0, MAX_ERROR_LENGTH - 1)}…`;
}

function failed(error: string): AttemptOutcome {
  return { kind: 'failed', status: null, error: truncate(error), retryAfterMs: null, disableEndpoint: false };
}

/** An attempt that got no HTTP response: timeout, connection failure, refused egress, or anything else. */
export function classifyError(error: unknown): AttemptOutcome {
  const chain = errorChain(error);
  const codeOf = (e: ErrorLike) => (typeof e.code === 'string' ? e.code : undefined);
  const find = (test: (e: ErrorLike) => boolean) => chain.find(test);

  const egress = find((e) => codeOf(e) === EGRESS_REFUSED);
  if (egress !== undefined) return failed(`egress refused: ${messageOf(egress)}`);

  // Nothing was sent: the same request would fail the same way, so this attempt fails as it is.
  const header = find((e) => codeOf(e) === INVALID_HEADER);
  if (header !== undefined) return failed(messageOf(header));

  // AbortSignal.timeout() rejects with a DOMException named TimeoutError.
  if (find((e) => e.name === 'TimeoutError' || TIMEOUT_CODES.has(codeOf(e) ?? '')) !== undefined) {
    return failed('timeout');
  }

  const categories: Array<[string, (code: string) => boolean]> = [
    ['connection refused', (code) => REFUSED_CODES.has(code)],
    ['connection reset', (code) => RESET_CODES.has(code)],
    ['dns lookup failed', (code) => DNS_CODES.has(code)],
    ['host unreachable', (code) => UNREACHABLE_CODES.has(code)],
    ['tls error', (code) => TLS_CODE.test(code)],
  ];
  for (const [label, matches] of categories) {
    const match = find((e) => matches(codeOf(e) ?? ''));
    if (match !== undefined) return failed(`${label}: ${messageOf(match)}`);
  }

  const aborted = find((e) => e.name === 'AbortError' || codeOf(e) === 'UND_ERR_ABORTED');
  if (aborted !== undefined) return failed(`aborted: ${messageOf(aborted)}`);

  const innermost = chain.at(-1);
  return failed(`request failed: ${messageOf(innermost ?? error)}`);
}
