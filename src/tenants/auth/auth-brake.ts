import { Inject, Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { CLOCK } from '../../common/clock.module';
import { DomainError } from '../../common/domain-error';
import { METRICS_REGISTRY } from '../../common/metrics.registry';
import { AuthFailureLimiter } from '../../domain/auth-failure-limiter';
import type { Clock } from '../../domain/clock';

/** Whose failures count: the client address, and the credential presented (its digest). */
export type BrakeSubject = `address:${string}` | `key:${string}`;

/**
 * The brake on guessing credentials (issue 19): HOOKSTREAM_AUTH_FAILURE_LIMIT failed
 * authentications per client address, and per presented API key, in each
 * HOOKSTREAM_AUTH_FAILURE_WINDOW; past it 429 with Retry-After, before any lookup.
 */
@Injectable()
export class AuthBrake {
  private readonly limiter: AuthFailureLimiter;
  private readonly failures: Counter<'credential'>;
  private readonly throttled: Counter;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.limiter = new AuthFailureLimiter(
      config.security.authFailureLimit,
      config.security.authFailureWindowMs,
    );
    this.failures = new Counter({
      name: 'hookstream_auth_failures_total',
      help: 'Requests refused for a missing, wrong or revoked credential, by credential (api_key, admin)',
      labelNames: ['credential'],
      registers: [registry],
    });
    this.throttled = new Counter({
      name: 'hookstream_auth_throttled_total',
      help: 'Requests refused with 429 because their address or key failed authentication too often',
      registers: [registry],
    });
  }

  /**
   * Throws 429 (rate_limited, Retry-After) when any subject is over its failures; otherwise counts
   * this attempt as a failure until `succeeded` takes it back, so that concurrent attempts waiting
   * on their lookup cannot all pass the check: the limit bounds lookups exactly.
   */
  begin(subjects: BrakeSubject[]): void {
    const now = this.clock.now();
    const waitMs = Math.max(...subjects.map((subject) => this.limiter.retryAfterMs(subject, now)));
    if (waitMs <= 0) {
      for (const subject of subjects) this.limiter.recordFailure(subject, now);
      return;
    }
    this.throttled.inc();
    throw DomainError.rateLimited(
      'too many failed authentications from this address or with this key; retry later',
      Math.ceil(waitMs / 1000),
    );
  }

  /** The attempt `begin` counted failed (it stays counted). */
  failed(credential: 'api_key' | 'admin'): void {
    this.failures.inc({ credential });
  }

  succeeded(subjects: BrakeSubject[]): void {
    const now = this.clock.now();
    for (const subject of subjects) this.limiter.forgive(subject, now);
  }
}

/**
 * The client's address as the HTTP server sees it: the peer, or the address a trusted proxy reports when
 * HOOKSTREAM_TRUST_PROXY is set (without it, behind a load balancer every client shares one).
 */
export function clientAddress(request: { ip?: string }): BrakeSubject {
  return `address:${request.ip ?? 'unknown'}`;
}
