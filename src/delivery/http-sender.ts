import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { INVALID_HEADER } from '../domain/attempt-outcome';
import type { EgressPolicy } from '../domain/egress/ip-classifier';
import { invalidHeaders } from '../domain/http-fields';
import { DnsLookupError, HostResolver, type HostLookup } from './host-resolver';

export interface HttpSenderOptions {
  timeoutMs: number;
  responseBodyLimitBytes: number;
  policy: EgressPolicy;
  userAgent: string;
  /**
   * Connections kept per origin. Sized to the process's in-flight cap (HOOKSTREAM_MAX_IN_FLIGHT), so
   * undici never queues a request the lane scheduler admitted: the scheduler's per-tenant share is
   * then the only limit, and one tenant's hanging requests cannot take every connection to an
   * origin it shares with another tenant. Idle connections close after 30 s.
   */
  connectionsPerOrigin: number;
  /** Resolves endpoint host names; by default a HostResolver with its default timeout and cache. */
  resolver?: HostLookup;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The response body, cut at the configured limit. */
  body: string;
  latencyMs: number;
}

/**
 * Raised before sending when a header cannot be sent as it is (a stored endpoint header or an event
 * id from before the API refused such values): the attempt fails, the origin's pool stays whole.
 */
export class InvalidHeaderError extends Error {
  readonly code = INVALID_HEADER;
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidHeaderError';
  }
}

/** Raised when the address actually dialled is refused by the egress policy (SSRF, DNS rebinding). */
export class EgressRefusedError extends Error {
  readonly code = 'EGRESS_REFUSED';
  constructor(reason: string) {
    super(reason);
    this.name = 'EgressRefusedError';
  }
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * POSTs webhooks with undici: keep-alive pools per origin, connect and total timeouts, no redirects,
 * response bodies read up to a cap, and the SSRF check on the IP that is actually dialled.
 */
export class HttpSender {
  private readonly agent: Agent;

  constructor(private readonly options: HttpSenderOptions) {
    const policy = options.policy;
    const resolver = options.resolver ?? new HostResolver();
    // The addresses handed to the connector are exactly the ones checked: no second resolution.
    const guardedLookup = (hostname: string, lookupOptions: LookupOptions, callback: LookupCallback) => {
      resolver.lookup(hostname).then(
        (addresses) => {
          const refused = addresses
            .map((a) => policy.refusalReason(a.address))
            .find((reason) => reason !== null);
          if (refused)
            return callback(
              new EgressRefusedError(`${hostname} resolves to a refused address: ${refused}`),
              [],
            );
          const family = familyOf(lookupOptions.family);
          const usable = family === 0 ? addresses : addresses.filter((a) => a.family === family);
          if (usable.length === 0)
            return callback(new DnsLookupError(hostname, 'ENOTFOUND', `no IPv${family} address`), []);
          if (lookupOptions.all) return callback(null, usable);
          return callback(null, usable[0].address, usable[0].family);
        },
        (error: NodeJS.ErrnoException) => callback(error, []),
      );
    };
    const connectTimeout = Math.min(options.timeoutMs, 10_000);
    const base = buildConnector({
      timeout: connectTimeout,
      lookup: guardedLookup,
    });
    const connector: buildConnector.connector = (connectOptions, callback) => {
      const host = connectOptions.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host)) {
        const reason = policy.refusalReason(host);
        if (reason) return callback(new EgressRefusedError(reason), null);
      }
      return base(connectOptions, callback);
    };
    this.agent = new Agent({
      connect: connector,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      connections: options.connectionsPerOrigin,
      pipelining: 1,
    });
  }

  /**
   * One POST with an overall deadline of `timeoutMs`. The deadline is a timer cleared when the
   * attempt ends, not `AbortSignal.timeout()`: that signal and its timer live for the whole timeout
   * whatever the request does, and at 1,000 deliveries a second they were most of what the service
   * promoted to the old generation (README decision 23).
   */
  async post(url: string, headers: Record<string, string>, body: string): Promise<HttpResponse> {
    const started = performance.now();
    const all = { ...headers, 'user-agent': this.options.userAgent, 'content-type': 'application/json' };
    // undici refuses these only after taking one of the origin's connection slots, which undici 7
    // kept: once they filled the pool every later request to the origin hung, deaf to its abort signal.
    const invalid = invalidHeaders(all);
    if (invalid !== null) throw new InvalidHeaderError(invalid);
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new DOMException('delivery attempt timed out', 'TimeoutError')),
      this.options.timeoutMs,
    );
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: all,
        body,
        signal: deadline.signal,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      const text = await readCapped(response.body, this.options.responseBodyLimitBytes);
      return {
        status: response.statusCode,
        headers: response.headers,
        body: text,
        latencyMs: Math.round(performance.now() - started),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function familyOf(family: LookupOptions['family']): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < limit) chunks.push(chunk.subarray(0, limit - size));
    size += chunk.length;
    if (size > limit * 4) {
      // Far past the cap: stop reading rather than drain a huge body (the connection is dropped).
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}
