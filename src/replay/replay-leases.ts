import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * One window replay at a time per tenant, across every instance: a lease row per tenant in
 * `replay_leases` (its only reader and writer), taken when free or expired and given back when the
 * replay ends. A crashed holder's lease expires by itself.
 */
@Injectable()
export class ReplayLeases {
  constructor(private readonly dataSource: DataSource) {}

  /** True when `holder` now holds the tenant's lease until `ttlMs` from now. */
  async acquire(tenantId: string, holder: string, ttlMs: number): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      `INSERT INTO replay_leases (tenant_id, holder, expires_at)
       VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
       ON CONFLICT (tenant_id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE replay_leases.expires_at < now()
       RETURNING tenant_id`,
      [tenantId, holder, ttlMs],
    );
    return rows.length > 0;
  }

  async release(tenantId: string, holder: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM replay_leases WHERE tenant_id = $1 AND holder = $2`, [
      tenantId,
      holder,
    ]);
  }
}
