import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
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
import { PortalLinkFloors } from './portal-link-floors';
import { PortalLinks } from './portal-links';

/** Live keys cached, and keys remembered by lastKnownTenant: bounds memory whatever the traffic. */
const MAX_CACHED_KEYS = 10_000;

interface LiveKey {
  keyId: string;
  tenantId: string;
}

/**
 * Resolves a tenant credential to its tenant: an API key, looked up by hash (the comparison is on a
 * digest in an index), or a portal link token, checked by its signature and expiry, and against the
 * tenant's last void of its links (`PortalLinkFloors`, cached the same way).
 * A live key is cached for HOOKSTREAM_API_KEY_CACHE_TTL, so a busy client costs no PostgreSQL
 * round trip per request; unknown keys are never cached (a key created a moment ago works at once,
 * and the auth brake bounds the lookups of wrong ones). A revocation made here forgets the key at
 * once; one made through another process within moments (its NOTIFY), or within the TTL at worst
 * (a renewal finds it revoked) if the notice is lost with its connection, which also forgets every key.
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
  /** Key hash to tenant, for keys this process has admitted lately (oldest first), without expiry. */
  private readonly admitted = new LRUCache<string, string>({ max: MAX_CACHED_KEYS });
  /**
   * The key hashed last and its hash: the early ingest refusal and then the guard ask about the same
   * request's key, and a busy client sends the same key request after request.
   */
  private lastHashed: { key: string; hash: string } | null = null;

  constructor(
    private readonly tenants: TenantsRepository,
    revocations: KeyRevocations,
    private readonly portalLinks: PortalLinks,
    private readonly portalLinkFloors: PortalLinkFloors,
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
    revocations.onMissed(() => {
      this.revocationsSeen += 1;
      this.cache.deleteWhere(() => true);
    });
  }

  /** The tenant id for a live key or portal token, or null for an unknown, revoked, voided or expired one. */
  async tenantFor(key: string): Promise<string | null> {
    if (this.portalLinks.isPortalToken(key)) {
      const claims = this.portalLinks.claimsOf(key);
      return claims !== null && (await this.portalLinkFloors.admits(claims)) ? claims.tenantId : null;
    }
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return null;
    const hash = this.hashOf(key);
    return this.cachedTenant(hash) ?? (await this.lookUp(hash))?.tenantId ?? null;
  }

  /**
   * The tenant of an API key resolved within the TTL, without waiting: such a key is live, so the
   * guard admits it without the brake on failed authentications (which counts every request that
   * waits on a lookup as failed until it succeeds, and so refused busy clients at cache expiry).
   * The same for a portal link whose tenant's floor is cached and does not void it.
   */
  cachedTenantFor(key: string): string | undefined {
    if (this.portalLinks.isPortalToken(key)) {
      const claims = this.portalLinks.claimsOf(key);
      return claims !== null && this.portalLinkFloors.cachedAdmits(claims) === true
        ? claims.tenantId
        : undefined;
    }
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return undefined;
    return this.cachedTenant(this.hashOf(key));
  }

  /**
   * The tenant this process last admitted `key` for, without asking PostgreSQL; undefined when it
   * has not lately. The key may have been revoked since: only ever used to REFUSE a request early
   * (a tenant over its rate), never to admit one, which goes through {@link tenantFor}.
   */
  lastKnownTenant(key: string): string | undefined {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return undefined;
    return this.admitted.peek(this.hashOf(key));
  }

  private hashOf(key: string): string {
    const last = this.lastHashed;
    if (last !== null && last.key === key) return last.hash;
    const hash = hashApiKey(key);
    this.lastHashed = { key, hash };
    return hash;
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
        if (live === null) {
          this.cache.delete(hash);
        } else {
          if (current) this.cache.set(hash, live, this.clock.now());
          this.remember(hash, live.tenantId);
        }
        return live;
      })
      .finally(() => this.inFlight.delete(hash));
    this.inFlight.set(hash, lookup);
    return lookup;
  }

  private remember(hash: string, tenantId: string): void {
    if (this.admitted.peek(hash) === tenantId) return;
    this.admitted.set(hash, tenantId);
  }
}
