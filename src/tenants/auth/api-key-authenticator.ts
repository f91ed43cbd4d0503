import { Inject, Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import { METRICS_REGISTRY } from '../../common/metrics.registry';
import { TenantsRepository } from '../tenants.repository';
import { API_KEY_PREFIX, hashApiKey } from './api-key';

/** Resolves an API key to its tenant: looked up by hash, so the comparison is on a digest in an index. */
@Injectable()
export class ApiKeyAuthenticator {
  private readonly lookups: Counter;

  constructor(
    private readonly tenants: TenantsRepository,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.lookups = new Counter({
      name: 'hookstream_api_key_lookups_total',
      help: 'API keys looked up in PostgreSQL (what the brake on failed authentications bounds)',
      registers: [registry],
    });
  }

  /** The tenant id for a live key, or null for an unknown or revoked one. */
  async tenantFor(key: string): Promise<string | null> {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return null;
    this.lookups.inc();
    return this.tenants.tenantForKeyHash(hashApiKey(key));
  }
}
