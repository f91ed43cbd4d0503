import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { INVALID_HEADER } from '../domain/attempt-outcome';
import { BoundedMemo } from '../domain/bounded-memo';
import type { EgressPolicy } from '../domain/egress/ip-classifier';
import { invalidHeaders } from '../domain/http-fields';
import { DnsLookupError, HostResolver, type HostLookup } from '../common/host-resolver';

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
  private readonly targets = new BoundedMemo(10_000, targetOf);
  private readonly deadlines: Deadlines;

  constructor(private readonly options: HttpSenderOptions) {
    this.deadlines = new Deadlines(options.timeoutMs);
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
   * One POST with an overall deadline of `timeoutMs`. Dispatched with a handler of our own rather
   * than undici's `request()`: that one gives every response a Readable stream, read here with an
   * async iterator, and took an AbortSignal with its own timer; together they were a tenth of the
   * service's CPU per delivery (README, issue 21). The deadline is a shared sweep, not a timer per
   * request (README decision 23: per-request timers were most of what was promoted to old space).
   */
  post(url: string, headers: Record<string, string>, body: string): Promise<HttpResponse> {
    const all: Record<string, string> = { ...headers, 'content-type': 'application/json' };
    // A tenant's User-Agent, in any case, replaces ours: undici would send both names as given.
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'user-agent')) {
      all['user-agent'] = this.options.userAgent;
    }
    // undici refuses these only after taking one of the origin's connection slots, which undici 7
    // kept: once they filled the pool every later request to the origin hung, deaf to its abort signal.
    const invalid = invalidHeaders(all);
    if (invalid !== null) return Promise.reject(new InvalidHeaderError(invalid));
    const target = this.targets.get(url);
    return new Promise<HttpResponse>((resolve, reject) => {
      const handler = new PostHandler(this.options.responseBodyLimitBytes, resolve, reject, this.deadlines);
      this.deadlines.add(handler, this.options.timeoutMs);
      try {
        this.agent.dispatch(
          {
            origin: target.origin,
            path: target.path,
            method: 'POST',
            headers: all,
            body,
            headersTimeout: this.options.timeoutMs,
            bodyTimeout: this.options.timeoutMs,
          },
          handler,
        );
      } catch (error) {
        handler.fail(error as Error);
      }
    });
  }

  async close(): Promise<void> {
    this.deadlines.stop();
    await this.agent.close();
  }
}

function familyOf(family: LookupOptions['family']): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

/** Origin and path of an endpoint URL, parsed once per URL rather than once per attempt. */
function targetOf(url: string): { origin: string; path: string } {
  const parsed = new URL(url);
  return { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
}

/**
 * The overall deadline of every request in flight, checked by one timer that sweeps them a few
 * times per timeout (at least every 50 ms, at most every second): a request ends within about a
 * twentieth of its timeout after it, for no timer of its own.
 */
class Deadlines {
  private readonly inFlight = new Map<PostHandler, number>();
  private readonly sweepEveryMs: number;
  private sweeper?: NodeJS.Timeout;

  constructor(timeoutMs: number) {
    this.sweepEveryMs = Math.min(1_000, Math.max(50, Math.floor(timeoutMs / 20)));
  }

  add(handler: PostHandler, timeoutMs: number): void {
    this.inFlight.set(handler, performance.now() + timeoutMs);
    if (this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.sweep(), this.sweepEveryMs);
      this.sweeper.unref();
    }
  }

  delete(handler: PostHandler): void {
    this.inFlight.delete(handler);
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private sweep(): void {
    const now = performance.now();
    for (const [handler, deadline] of this.inFlight) {
      if (deadline <= now) handler.fail(new DOMException('delivery attempt timed out', 'TimeoutError'));
    }
    if (this.inFlight.size === 0) this.stop();
  }
}

/**
 * One POST's undici handler: keeps the status and headers, the body up to the cap, and settles
 * the promise once (a late error after it settled, such as the abort of a body far past the cap,
 * changes nothing).
 */
class PostHandler implements Dispatcher.DispatchHandler {
  private readonly started = performance.now();
  private controller: Dispatcher.DispatchController | null = null;
  private settled = false;
  private status = 0;
  private headers: Record<string, string | string[] | undefined> = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly limit: number,
    private readonly resolve: (response: HttpResponse) => void,
    private readonly reject: (error: Error) => void,
    private readonly deadlines: Deadlines,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Timed out while waiting for a connection: it is not sent.
    if (this.settled) controller.abort(new DOMException('delivery attempt timed out', 'TimeoutError'));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // 1xx informational responses come before the real one.
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.size < this.limit) this.chunks.push(chunk.subarray(0, this.limit - this.size));
    this.size += chunk.length;
    if (this.size > this.limit * 4 && !this.settled) {
      // Far past the cap: the answer is known, the rest is not read (the connection is dropped).
      this.succeed();
      controller.abort(new Error('response body far past the cap; not read further'));
    }
  }

  onResponseEnd(): void {
    this.succeed();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.settle(error);
  }

  /** Ends the attempt with an error (its deadline, or dispatch refused it); undici's request is aborted. */
  fail(error: Error): void {
    if (this.settle(error)) this.controller?.abort(error);
  }

  /** False when the attempt had already ended. */
  private settle(error: Error): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.deadlines.delete(this);
    this.reject(error);
    return true;
  }

  private succeed(): void {
    if (this.settled) return;
    this.settled = true;
    this.deadlines.delete(this);
    this.resolve({
      status: this.status,
      headers: this.headers,
      body: Buffer.concat(this.chunks).toString('utf8'),
      latencyMs: Math.round(performance.now() - this.started),
    });
  }
}
