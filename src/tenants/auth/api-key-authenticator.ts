import { Injectable } from '@nestjs/common';
import { TenantsRepository } from '../tenants.repository';
import { API_KEY_PREFIX, hashApiKey } from './api-key';
import { PortalLinks } from './portal-links';

/**
 * Resolves a tenant credential to its tenant: an API key, looked up by hash (the comparison is on a
 * digest in an index), or a portal link token, checked by its signature and expiry alone.
 */
@Injectable()
export class ApiKeyAuthenticator {
  constructor(
    private readonly tenants: TenantsRepository,
    private readonly portalLinks: PortalLinks,
  ) {}

  /** The tenant id for a live key or portal token, or null for an unknown, revoked or expired one. */
  async tenantFor(key: string): Promise<string | null> {
    if (this.portalLinks.isPortalToken(key)) return this.portalLinks.tenantFor(key);
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return null;
    return this.tenants.tenantForKeyHash(hashApiKey(key));
  }
}
