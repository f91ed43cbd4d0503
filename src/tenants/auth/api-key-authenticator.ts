import { Inject, Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import { CLOCK } from '../../common/clock.module';
import { METRICS_REGISTRY } from '../../common/metrics.registry';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import type { Clock } from '../../domain/clock';
import { ExpiringCache } from '../../domain/expiring-cache';
import { KeyRevocations } from '../key-revocations';
import { TenantsRepository } from '../tenants.repository';
import { API_KEY_PREFIX, hashApiKey } from './api-key';

/** Live keys remembered at once: far more than the tenants a replica serves, a few MiB at most. */
const MAX_CACHED_KEYS = 10_000;

interface LiveKey {
  keyId: string;
  tenantId: string;
}

/**
 * Resolves an API key to its tenant: looked up by hash, so the comparison is on a digest in an index.
 * A live key is remembered for HOOKSTREAM_API_KEY_CACHE_TTL, so a busy client costs no PostgreSQL
 * round trip per request; unknown keys are never remembered (a key created a moment ago works at
 * once, and the auth brake bounds the lookups of wrong ones). A revocation made here forgets the
 * key at once; one made through another replica is seen within the TTL.
 */
@Injectable()
export class ApiKeyAuthenticator {
  private readonly lookups: Counter;
  private readonly cache: ExpiringCache<string, LiveKey>;
  /** Lookups in flight by hash, so a burst of requests with a key not yet cached asks once. */
  private readonly inFlight = new Map<string, Promise<LiveKey | null>>();
  /** Bumped by every revocation here: a lookup that began before one may have read the key live. */
  private revocationsSeen = 0;
  private readonly ttlMs: number;

  constructor(
    private readonly tenants: TenantsRepository,
    revocations: KeyRevocations,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.lookups = new Counter({
      name: 'hookstream_api_key_lookups_total',
      help: 'API keys looked up in PostgreSQL (what the brake on failed authentications bounds)',
      registers: [registry],
    });
    this.ttlMs = config.security.apiKeyCacheTtlMs;
    this.cache = new ExpiringCache({ ttlMs: this.ttlMs, maxEntries: MAX_CACHED_KEYS });
    revocations.onRevoked((keyId) => {
      this.revocationsSeen += 1;
      this.cache.deleteWhere((key) => key.keyId === keyId);
    });
  }

  /** The tenant id for a live key, or null for an unknown or revoked one. */
  async tenantFor(key: string): Promise<string | null> {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return null;
    const hash = hashApiKey(key);
    return this.cachedTenant(hash) ?? (await this.lookUp(hash))?.tenantId ?? null;
  }

  /**
   * The tenant of a key resolved within the TTL, without waiting: such a key is live, so the
   * guard admits it without the brake on failed authentications (which counts every request that
   * waits on a lookup as failed until it succeeds, and so refused busy clients at cache expiry).
   */
  cachedTenantFor(key: string): string | undefined {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return undefined;
    return this.cachedTenant(hashApiKey(key));
  }

  /**
   * A busy key is looked up again in the background once half its TTL has passed, so its entry is
   * renewed before it expires (no burst of lookups then); a revocation elsewhere is still seen
   * within the TTL, as the renewal finds the key revoked and forgets it.
   */
  private cachedTenant(hash: string): string | undefined {
    const now = this.clock.now();
    const cached = this.cache.get(hash, now);
    if (cached === undefined) return undefined;
    if (this.cache.remainingMs(hash, now) < this.ttlMs / 2 && !this.inFlight.has(hash)) {
      void this.lookUp(hash).catch(() => undefined); // a failed renewal leaves the entry to expire
    }
    return cached.tenantId;
  }

  private lookUp(hash: string): Promise<LiveKey | null> {
    const pending = this.inFlight.get(hash);
    if (pending) return pending;
    this.lookups.inc();
    const revocationsBefore = this.revocationsSeen;
    const lookup = this.tenants
      .liveKeyByHash(hash)
      .then((live) => {
        const current = revocationsBefore === this.revocationsSeen;
        if (live === null) this.cache.delete(hash);
        else if (current) this.cache.set(hash, live, this.clock.now());
        return live;
      })
      .finally(() => this.inFlight.delete(hash));
    this.inFlight.set(hash, lookup);
    return lookup;
  }
}
