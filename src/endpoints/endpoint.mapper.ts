import type { EndpointDto } from './dto/endpoint-output.dto';
import type { EndpointEntity } from './endpoint.entity';
import type { CircuitReport } from './circuit-report';

/** Entity + health -> API shape. The secrets column never leaves through here. */
export function toEndpointDto(entity: EndpointEntity, health: CircuitReport): EndpointDto {
  return {
    id: entity.id,
    url: entity.url,
    description: entity.description,
    eventTypes: entity.eventTypes,
    ordering: entity.ordering,
    enabled: entity.enabled,
    disabledReason: entity.disabledReason,
    circuitState: health.circuitState,
    failureCount: health.failureCount,
    headers: entity.headers,
    maxConcurrency: entity.maxConcurrency,
    metadata: entity.metadata,
    createdAt: entity.createdAt.toISOString(),
    updatedAt: entity.updatedAt.toISOString(),
  };
}
