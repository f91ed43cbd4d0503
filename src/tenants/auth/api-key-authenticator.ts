import { Injectable } from '@nestjs/common';
import { TenantsRepository } from '../tenants.repository';
import { API_KEY_PREFIX, hashApiKey } from './api-key';

/** Resolves an API key to its tenant: looked up by hash, so the comparison is on a digest in an index. */
@Injectable()
export class ApiKeyAuthenticator {
  constructor(private readonly tenants: TenantsRepository) {}

  /** The tenant id for a live key, or null for an unknown or revoked one. */
  async tenantFor(key: string): Promise<string | null> {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return null;
    return this.tenants.tenantForKeyHash(hashApiKey(key));
  }
}
