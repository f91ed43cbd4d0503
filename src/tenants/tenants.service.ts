import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { generateApiKey } from './auth/api-key';
import { DomainError } from '../common/domain-error';
import type { ApiKeyEntity } from './api-key.entity';
import type { TenantEntity } from './tenant.entity';
import { KeyRevocations } from './key-revocations';
import { TenantsRepository } from './tenants.repository';

export interface CreatedTenant {
  tenant: TenantEntity;
  apiKey: string;
  apiKeyId: string;
}

export interface CreatedApiKey {
  entity: ApiKeyEntity;
  apiKey: string;
}

@Injectable()
export class TenantsService {
  constructor(
    private readonly tenants: TenantsRepository,
    private readonly revocations: KeyRevocations,
  ) {}

  /** Creates a tenant and its first API key in one transaction. */
  async create(name: string): Promise<CreatedTenant> {
    const tenant: TenantEntity = {
      id: randomUUID(),
      name,
      createdAt: new Date(),
      portalLinksNotBefore: null,
    };
    const { entity, apiKey } = newKey(tenant.id);
    await this.tenants.insertWithKey(tenant, entity);
    return { tenant, apiKey, apiKeyId: entity.id };
  }

  async addKey(tenantId: string): Promise<CreatedApiKey> {
    if (!(await this.tenants.exists(tenantId))) throw DomainError.notFound('tenant');
    const created = newKey(tenantId);
    await this.tenants.insertKey(created.entity);
    return created;
  }

  /** The tenant's keys, newest first (at most 1,000), so one can be found to revoke without its id. */
  async keys(tenantId: string): Promise<ApiKeyEntity[]> {
    if (!(await this.tenants.exists(tenantId))) throw DomainError.notFound('tenant');
    return this.tenants.keysOf(tenantId, 1_000);
  }

  /** Revokes a key; revoking it again is a no-op. A key of another tenant is not found. */
  async revokeKey(tenantId: string, keyId: string): Promise<void> {
    if (!(await this.tenants.revokeKey(tenantId, keyId, new Date()))) throw DomainError.notFound('API key');
    this.revocations.revoked(keyId);
  }

  /**
   * Voids every portal link of the tenant issued until now; links minted afterwards work. Kept apart
   * from revoking keys, both ways: revoking a tenant's keys (a rotation, a leaked key) leaves its portal
   * users signed in, and voiding its links leaves its integrations running; an offboarding does both.
   */
  async voidPortalLinks(tenantId: string): Promise<void> {
    if (!(await this.tenants.voidPortalLinks(tenantId))) throw DomainError.notFound('tenant');
    this.revocations.portalLinksVoided(tenantId.toLowerCase());
  }
}

function newKey(tenantId: string): CreatedApiKey {
  const generated = generateApiKey();
  const entity: ApiKeyEntity = {
    id: randomUUID(),
    tenantId,
    keyHash: generated.hash,
    prefix: generated.prefix,
    createdAt: new Date(),
    revokedAt: null,
  };
  return { entity, apiKey: generated.key };
}
