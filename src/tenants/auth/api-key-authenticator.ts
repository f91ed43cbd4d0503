import { Inject, Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import { METRICS_REGISTRY } from '../../common/metrics.registry';
import { TenantsRepository } from '../tenants.repository';
import { API_KEY_PREFIX, hashApiKey } from './api-key';
import { PortalLinks } from './portal-links';

/** Keys remembered by {@link ApiKeyAuthenticator.lastKnownTenant}: bounds its memory whatever the traffic. */
const REMEMBERED_KEYS = 10_000;

/**
 * Resolves a tenant credential to its tenant: an API key, looked up by hash (the comparison is on a
 * digest in an index), or a portal link token, checked by its signature and expiry alone.
 */
@Injectable()
export class ApiKeyAuthenticator {
  private readonly lookups: Counter;
  /** Key hash to tenant, for keys this process has admitted lately (oldest first). */
  private readonly admitted = new Map<string, string>();

  constructor(
    private readonly tenants: TenantsRepository,
    private readonly portalLinks: PortalLinks,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.lookups = new Counter({
      name: 'hookstream_api_key_lookups_total',
      help: 'API keys looked up in PostgreSQL (what the brake on failed authentications bounds)',
      registers: [registry],
    });
  }

  /** The tenant id for a live key or portal token, or null for an unknown, revoked or expired one. */
  async tenantFor(key: string): Promise<string | null> {
    if (this.portalLinks.isPortalToken(key)) return this.portalLinks.tenantFor(key);
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return null;
    this.lookups.inc();
    const hash = hashApiKey(key);
    const tenantId = await this.tenants.tenantForKeyHash(hash);
    if (tenantId !== null) this.remember(hash, tenantId);
    return tenantId;
  }

  /**
   * The tenant this process last admitted `key` for, without asking PostgreSQL; undefined when it
   * has not lately. The key may have been revoked since: only ever used to REFUSE a request early
   * (a tenant over its rate), never to admit one, which always goes through {@link tenantFor}.
   */
  lastKnownTenant(key: string): string | undefined {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return undefined;
    return this.admitted.get(hashApiKey(key));
  }

  private remember(hash: string, tenantId: string): void {
    if (this.admitted.get(hash) === tenantId) return;
    if (this.admitted.size >= REMEMBERED_KEYS) {
      this.admitted.delete(this.admitted.keys().next().value as string);
    }
    this.admitted.set(hash, tenantId);
  }
}
