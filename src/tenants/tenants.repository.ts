import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { isUUID } from 'class-validator';
import { IsNull, type DataSource } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';
import { TenantEntity } from './tenant.entity';
import { beforeDeadline, type QueryDeadline } from '../database/query-deadline';

/** The `tenants` and `api_keys` tables (a key belongs to its tenant): their only reader and writer. */
@Injectable()
export class TenantsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts a tenant and its first key in one transaction. */
  async insertWithKey(tenant: TenantEntity, key: ApiKeyEntity): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.insert(TenantEntity, tenant);
      await manager.insert(ApiKeyEntity, key);
    });
  }

  async insertKey(key: ApiKeyEntity): Promise<void> {
    await this.dataSource.getRepository(ApiKeyEntity).insert(key);
  }

  /** Whether the tenant exists; the query's connection is destroyed if `deadline` passes first. */
  async exists(id: string, deadline: QueryDeadline = null): Promise<boolean> {
    if (!isUUID(id)) return false;
    return beforeDeadline(this.dataSource, deadline, (manager) =>
      manager.getRepository(TenantEntity).existsBy({ id }),
    );
  }

  async allIds(): Promise<string[]> {
    const rows = await this.dataSource.getRepository(TenantEntity).find({ select: { id: true } });
    return rows.map((row) => row.id);
  }

  /** The tenant's keys, newest first, at most `limit` (no hashes needed by the caller are read). */
  async keysOf(tenantId: string, limit: number): Promise<ApiKeyEntity[]> {
    if (!isUUID(tenantId)) return [];
    return this.dataSource.getRepository(ApiKeyEntity).find({
      select: { id: true, tenantId: true, prefix: true, createdAt: true, revokedAt: true },
      where: { tenantId },
      order: { createdAt: 'DESC', id: 'DESC' },
      take: limit,
    });
  }

  /** Revokes a live key; false when the tenant has no such key (revoking twice is not an error). */
  async revokeKey(tenantId: string, keyId: string, at: Date): Promise<boolean> {
    if (!isUUID(tenantId) || !isUUID(keyId)) return false;
    const keys = this.dataSource.getRepository(ApiKeyEntity);
    const result = await keys.update({ id: keyId, tenantId, revokedAt: IsNull() }, { revokedAt: at });
    return (result.affected ?? 0) > 0 || keys.existsBy({ id: keyId, tenantId });
  }

  /**
   * A live key's id and tenant, found by the key's hash. Plain SQL: it runs on every cache miss of
   * a tenant request, and TypeORM's find builds the same statement anew each time, on the one thread.
   */
  async liveKeyByHash(keyHash: string): Promise<{ keyId: string; tenantId: string } | null> {
    const [row] = await this.dataSource.query<Array<{ id: string; tenant_id: string }>>(
      `SELECT id, tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL LIMIT 1`,
      [keyHash],
    );
    return row ? { keyId: row.id, tenantId: row.tenant_id } : null;
  }

  /**
   * PostgreSQL's clock now, or null when there is no such tenant: a portal link's issue time, read
   * from the clock that stamps a void ({@link voidPortalLinks}), in the query that checks the tenant.
   */
  async portalLinkIssueTime(tenantId: string): Promise<Date | null> {
    if (!isUUID(tenantId)) return null;
    const [row] = await this.dataSource.query<Array<{ now: Date }>>(
      `SELECT now() AS now FROM tenants WHERE id = $1`,
      [tenantId],
    );
    return row?.now ?? null;
  }

  /** Voids every portal link of the tenant issued until now; false when there is no such tenant. */
  async voidPortalLinks(tenantId: string): Promise<boolean> {
    if (!isUUID(tenantId)) return false;
    const result = await this.dataSource
      .getRepository(TenantEntity)
      .update({ id: tenantId }, { portalLinksNotBefore: () => 'now()' });
    return (result.affected ?? 0) > 0;
  }

  /**
   * When the tenant's links were last voided (null: never), or undefined when there is no such
   * tenant. Plain SQL, like {@link liveKeyByHash}: it runs on every cache miss of a portal request.
   */
  async portalLinksNotBefore(tenantId: string): Promise<Date | null | undefined> {
    if (!isUUID(tenantId)) return undefined;
    const [row] = await this.dataSource.query<Array<{ portal_links_not_before: Date | null }>>(
      `SELECT portal_links_not_before FROM tenants WHERE id = $1`,
      [tenantId],
    );
    return row === undefined ? undefined : row.portal_links_not_before;
  }
}
