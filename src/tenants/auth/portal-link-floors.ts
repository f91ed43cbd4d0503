import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { CLOCK } from '../../common/clock.module';
import type { Clock } from '../../domain/clock';
import { ExpiringCache } from '../../domain/expiring-cache';
import { isVoided, type PortalLinkClaims } from '../../domain/portal-link';
import { KeyRevocations } from '../key-revocations';
import { TenantsRepository } from '../tenants.repository';

/** Tenants whose floor is cached: bounds memory whatever the traffic, as the key cache does. */
const MAX_CACHED_TENANTS = 10_000;
/** The floor of a tenant that does not exist: every link of it is refused. */
const NO_TENANT = Number.POSITIVE_INFINITY;

/**
 * Each tenant's `portal_links_not_before` (its floor), cached for HOOKSTREAM_API_KEY_CACHE_TTL like
 * live API keys, so a portal session costs no PostgreSQL round trip per request. A void made here
 * forgets the tenant's floor at once, one made through another process within moments (its NOTIFY);
 * a lost notices connection forgets every floor, and a busy tenant's floor is renewed past half its
 * TTL, so a void whose notice was lost is seen within the TTL.
 */
@Injectable()
export class PortalLinkFloors {
  private readonly cache: ExpiringCache<string, number | null>;
  private readonly ttlMs: number;
  /** Lookups in flight by tenant, and the voids seen when each began. */
  private readonly inFlight = new Map<string, { voidsBefore: number; floor: Promise<number | null> }>();
  /** Bumped by every void heard: a lookup that began before one may have read the old floor. */
  private voidsSeen = 0;

  constructor(
    private readonly tenants: TenantsRepository,
    revocations: KeyRevocations,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.ttlMs = config.security.apiKeyCacheTtlMs;
    this.cache = new ExpiringCache({ ttlMs: this.ttlMs, maxEntries: MAX_CACHED_TENANTS });
    revocations.onPortalLinksVoided((tenantId) => {
      this.voidsSeen += 1;
      this.cache.delete(tenantId);
    });
    revocations.onMissed(() => {
      this.voidsSeen += 1;
      this.cache.deleteWhere(() => true);
    });
  }

  /** Whether a link with these (verified) claims is still good, if known without asking PostgreSQL. */
  cachedAdmits(claims: PortalLinkClaims): boolean | undefined {
    const floor = this.cachedFloor(claims.tenantId);
    return floor === undefined ? undefined : !isVoided(claims, floor);
  }

  /** Whether a link with these (verified) claims is still good: not voided, of a tenant that exists. */
  async admits(claims: PortalLinkClaims): Promise<boolean> {
    const cached = this.cachedFloor(claims.tenantId);
    const floor = cached === undefined ? await this.lookUp(claims.tenantId) : cached;
    return !isVoided(claims, floor);
  }

  private cachedFloor(tenantId: string): number | null | undefined {
    const now = this.clock.now();
    const floor = this.cache.get(tenantId, now);
    if (floor === undefined) return undefined;
    if (this.cache.remainingMs(tenantId, now) < this.ttlMs / 2 && !this.inFlight.has(tenantId)) {
      void this.lookUp(tenantId).catch(() => undefined); // a failed renewal leaves the entry to expire
    }
    return floor;
  }

  private lookUp(tenantId: string): Promise<number | null> {
    const pending = this.inFlight.get(tenantId);
    // A lookup that began before a void may answer the floor before it: not joined, a new one asks.
    if (pending && pending.voidsBefore === this.voidsSeen) return pending.floor;
    const voidsBefore = this.voidsSeen;
    const floor = this.tenants.portalLinksNotBefore(tenantId).then((notBefore) => {
      const value = notBefore === undefined ? NO_TENANT : (notBefore?.getTime() ?? null);
      if (voidsBefore === this.voidsSeen) this.cache.set(tenantId, value, this.clock.now());
      return value;
    });
    const entry = { voidsBefore, floor };
    this.inFlight.set(tenantId, entry);
    void floor
      .finally(() => {
        if (this.inFlight.get(tenantId) === entry) this.inFlight.delete(tenantId);
      })
      .catch(() => undefined); // the caller of lookUp sees the error
    return floor;
  }
}
