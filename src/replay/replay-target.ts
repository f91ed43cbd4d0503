import { Injectable } from '@nestjs/common';
import { DomainError } from '../common/domain-error';
import { EndpointsRepository } from '../endpoints/endpoints.repository';

/** The endpoint a replay or test event goes to: only what replay needs. */
export interface ReplayTarget {
  id: string;
  tenantId: string;
  eventTypes: string[];
}

/** Finds the caller's endpoint for replay; another tenant's is not found, a disabled one refused. */
@Injectable()
export class ReplayTargets {
  constructor(private readonly endpoints: EndpointsRepository) {}

  async require(tenantId: string, endpointId: string): Promise<ReplayTarget> {
    const endpoint = await this.endpoints.findForTenant(tenantId, endpointId);
    if (!endpoint) throw DomainError.notFound('endpoint');
    if (!endpoint.enabled) throw new DomainError('conflict', 'endpoint is disabled; enable it first');
    return { id: endpoint.id, tenantId: endpoint.tenantId, eventTypes: endpoint.eventTypes };
  }
}
