import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { isUUID } from 'class-validator';
import { type DataSource, type Repository } from 'typeorm';
import { EndpointEntity, type StoredSecret } from './endpoint.entity';
import type { PageCursor } from '../common/pagination';
import { beforeDeadline, type QueryDeadline } from '../database/query-deadline';

/** The endpoints table; every tenant-facing read is scoped by tenant id. */
@Injectable()
export class EndpointsRepository {
  private readonly rows: Repository<EndpointEntity>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.rows = dataSource.getRepository(EndpointEntity);
  }

  /**
   * Inserts `endpoint` unless its tenant has `max` endpoints already (false then). The count and the
   * insert run under a transaction-scoped advisory lock on the tenant, so two creations racing at
   * the limit cannot both pass.
   */
  insertWithinQuota(endpoint: EndpointEntity, max: number): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [
        `endpoint-quota/${endpoint.tenantId}`,
      ]);
      const rows = manager.getRepository(EndpointEntity);
      if ((await rows.countBy({ tenantId: endpoint.tenantId })) >= max) return false;
      await rows.insert(endpoint);
      return true;
    });
  }

  countForTenant(tenantId: string): Promise<number> {
    return this.rows.countBy({ tenantId });
  }

  async findForTenant(tenantId: string, id: string): Promise<EndpointEntity | null> {
    if (!isUUID(id)) return null;
    return this.rows.findOneBy({ id, tenantId });
  }

  async findById(id: string): Promise<EndpointEntity | null> {
    if (!isUUID(id)) return null;
    return this.rows.findOneBy({ id });
  }

  /**
   * The endpoints of those ids that exist, in one query (ids that are not UUIDs match none), its
   * connection destroyed if `deadline` passes first.
   */
  async findByIds(ids: string[], deadline: QueryDeadline = null): Promise<EndpointEntity[]> {
    const valid = ids.filter((id) => isUUID(id));
    if (valid.length === 0) return [];
    // One array parameter: `In` binds one parameter per id, and PostgreSQL refuses past 65,535.
    return beforeDeadline(this.dataSource, deadline, (manager) =>
      manager
        .getRepository(EndpointEntity)
        .createQueryBuilder('endpoint')
        .where('endpoint.id = ANY(CAST(:ids AS uuid[]))', { ids: valid })
        .getMany(),
    );
  }

  findAll(): Promise<EndpointEntity[]> {
    return this.rows.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Every endpoint of the tenant (a tenant has at most HOOKSTREAM_MAX_ENDPOINTS_PER_TENANT). */
  allForTenant(tenantId: string): Promise<EndpointEntity[]> {
    return this.rows.find({ where: { tenantId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Up to `limit` endpoints after `after`, in (created_at, id) order. */
  page(tenantId: string, after: PageCursor | null, limit: number): Promise<EndpointEntity[]> {
    const query = this.rows
      .createQueryBuilder('e')
      .where('e.tenant_id = :tenantId', { tenantId })
      .orderBy('e.created_at', 'ASC')
      .addOrderBy('e.id', 'ASC')
      .limit(limit);
    if (after) {
      query.andWhere('(e.created_at, e.id) > (:createdAt, :id)', {
        createdAt: after.createdAt,
        id: after.id,
      });
    }
    return query.getMany();
  }

  /**
   * Changes one tenant's endpoint in one transaction: `change` gets the row as read under a row lock
   * (SELECT … FOR UPDATE) and returns the columns to set, so a change merged into stored values (a
   * masked header keeps its value) cannot undo a concurrent one. `change` may throw to refuse; nothing
   * is written then. Returns the row as stored (fresh updated_at), or null when the endpoint is not
   * the tenant's, deleted since the caller read it included.
   */
  async update(
    tenantId: string,
    id: string,
    change: (locked: EndpointEntity) => Partial<EndpointEntity>,
  ): Promise<EndpointEntity | null> {
    if (!isUUID(id)) return null;
    return this.dataSource.transaction(async (manager) => {
      const rows = manager.getRepository(EndpointEntity);
      const where = { id, tenantId };
      const row = await rows.findOne({ where, lock: { mode: 'pessimistic_write' } });
      if (!row) return null;
      await rows.update(where, change(row));
      // The lock holds until commit, so a DELETE waits and the row is still there to read back.
      return rows.findOneByOrFail(where);
    });
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    if (!isUUID(id)) return false;
    const result = await this.rows.delete({ id, tenantId });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Read-modify-write of an endpoint's secrets under a row lock, so two concurrent rotations cannot
   * lose a secret. Returns null when the endpoint is not the tenant's.
   */
  async changeSecrets(
    tenantId: string,
    id: string,
    change: (secrets: StoredSecret[]) => StoredSecret[],
  ): Promise<StoredSecret[] | null> {
    if (!isUUID(id)) return null;
    return this.changeLockedSecrets({ id, tenantId }, change);
  }

  /**
   * Read-modify-write of any tenant's endpoint's encrypted columns (re-encryption, sealing plaintext
   * headers) under a row lock, in a transaction of its own; `change` returns null to leave the row
   * as it is. Returns whether the endpoint still exists.
   */
  async changeSealedOfAny(
    id: string,
    change: (row: EndpointEntity) => Partial<EndpointEntity> | null,
  ): Promise<boolean> {
    if (!isUUID(id)) return false;
    return this.dataSource.transaction(async (manager) => {
      const rows = manager.getRepository(EndpointEntity);
      const row = await rows.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!row) return false;
      const changes = change(row);
      if (changes !== null) await rows.update({ id }, changes);
      return true;
    });
  }

  /** Ids of endpoints still holding plaintext headers (written before issue 19), oldest first. */
  async idsWithPlaintextHeaders(): Promise<string[]> {
    const rows = await this.rows
      .createQueryBuilder('e')
      .select('e.id', 'id')
      .where(`e.headers <> '{}'::jsonb`)
      .orderBy('e.created_at', 'ASC')
      .getRawMany<{ id: string }>();
    return rows.map((row) => row.id);
  }

  /**
   * Blocks or parked deliveries left from an earlier `strict` era of the endpoint, which the strict
   * release recovery (src/delivery, tables owned by src/retry StrictParking) is still lifting and
   * handing on now that it is not strict.
   */
  async strictLeftovers(id: string): Promise<number> {
    const [row] = await this.dataSource.query<Array<{ leftovers: number }>>(
      `SELECT (SELECT count(*) FROM endpoint_blocks WHERE endpoint_id = $1)::int
            + (SELECT count(*) FROM parked_deliveries WHERE endpoint_id = $1)::int AS leftovers`,
      [id],
    );
    return row.leftovers;
  }

  /** Every endpoint id, oldest first. */
  async allIds(): Promise<string[]> {
    const rows = await this.rows.find({ select: { id: true }, order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map((row) => row.id);
  }

  private changeLockedSecrets(
    where: { id: string; tenantId: string },
    change: (secrets: StoredSecret[]) => StoredSecret[] | null,
  ): Promise<StoredSecret[] | null> {
    return this.dataSource.transaction(async (manager) => {
      const rows = manager.getRepository(EndpointEntity);
      const row = await rows.findOne({ where, lock: { mode: 'pessimistic_write' } });
      if (!row) return null;
      const secrets = change(row.secrets);
      if (secrets !== null) await rows.update(where, { secrets });
      return secrets;
    });
  }

  /** Disables an enabled endpoint; false when it is unknown or already disabled (first reason kept). */
  async disable(id: string, reason: string, at: Date): Promise<boolean> {
    if (!isUUID(id)) return false;
    const result = await this.rows.update(
      { id, enabled: true },
      { enabled: false, disabledReason: reason, disabledAt: at },
    );
    return (result.affected ?? 0) > 0;
  }
}
