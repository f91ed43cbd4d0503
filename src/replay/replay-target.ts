import { Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { DataSource } from 'typeorm';
import { DomainError } from '../common/domain-error';

/** The endpoint a replay or test event goes to: only what replay needs. */
export interface ReplayTarget {
  id: string;
  tenantId: string;
  eventTypes: string[];
}

/** Finds the caller's endpoint for replay; another tenant's is not found, a disabled one refused. */
@Injectable()
export class ReplayTargets {
  constructor(private readonly dataSource: DataSource) {}

  async require(tenantId: string, endpointId: string): Promise<ReplayTarget> {
    const rows = isUUID(endpointId)
      ? await this.dataSource.query<
          Array<{ id: string; tenant_id: string; event_types: string[]; enabled: boolean }>
        >(`SELECT id, tenant_id, event_types, enabled FROM endpoints WHERE id = $1 AND tenant_id = $2`, [
          endpointId,
          tenantId,
        ])
      : [];
    if (rows.length === 0) throw DomainError.notFound('endpoint');
    const [row] = rows;
    if (!row.enabled) throw new DomainError('conflict', 'endpoint is disabled; enable it first');
    return { id: row.id, tenantId: row.tenant_id, eventTypes: row.event_types };
  }
}
