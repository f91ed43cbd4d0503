import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { isUUID } from 'class-validator';
import { IsNull, type DataSource, type EntityManager } from 'typeorm';
import { generateApiKey } from './auth/api-key';
import { DomainError } from '../common/domain-error';
import { ApiKeyEntity } from './api-key.entity';
import { TenantEntity } from './tenant.entity';

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
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Creates a tenant and its first API key in one transaction. */
  async create(name: string): Promise<CreatedTenant> {
    return this.dataSource.transaction(async (manager) => {
      const tenant = manager.create(TenantEntity, { id: randomUUID(), name, createdAt: new Date() });
      await manager.insert(TenantEntity, tenant);
      const { entity, apiKey } = await this.insertKey(manager, tenant.id);
      return { tenant, apiKey, apiKeyId: entity.id };
    });
  }

  async addKey(tenantId: string): Promise<CreatedApiKey> {
    if (
      !isUUID(tenantId) ||
      !(await this.dataSource.getRepository(TenantEntity).existsBy({ id: tenantId }))
    ) {
      throw DomainError.notFound('tenant');
    }
    return this.insertKey(this.dataSource.manager, tenantId);
  }

  /** Revokes a key; revoking it again is a no-op. A key of another tenant is not found. */
  async revokeKey(tenantId: string, keyId: string): Promise<void> {
    if (!isUUID(tenantId) || !isUUID(keyId)) throw DomainError.notFound('API key');
    const keys = this.dataSource.getRepository(ApiKeyEntity);
    const result = await keys.update({ id: keyId, tenantId, revokedAt: IsNull() }, { revokedAt: new Date() });
    if (!result.affected && !(await keys.existsBy({ id: keyId, tenantId }))) {
      throw DomainError.notFound('API key');
    }
  }

  private async insertKey(manager: EntityManager, tenantId: string): Promise<CreatedApiKey> {
    const generated = generateApiKey();
    const entity = manager.create(ApiKeyEntity, {
      id: randomUUID(),
      tenantId,
      keyHash: generated.hash,
      prefix: generated.prefix,
      createdAt: new Date(),
      revokedAt: null,
    });
    await manager.insert(ApiKeyEntity, entity);
    return { entity, apiKey: generated.key };
  }
}
