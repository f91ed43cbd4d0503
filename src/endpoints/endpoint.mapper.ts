import type { EndpointDto } from './dto/endpoint-output.dto';
import type { EndpointEntity } from './endpoint.entity';
import type { CircuitReport } from './circuit-report';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import type { SecretCipher } from './secrets/secret-cipher';
import { readSigningSecrets } from './secrets/signing-secrets';
import { maskedHeaders, readHeaders } from './secrets/endpoint-headers';

/** Entity + health -> API shape. Neither a secret nor a header value ever leaves through here. */
export function toEndpointDto(
  entity: EndpointEntity,
  health: CircuitReport,
  problem: string | null,
): EndpointDto {
  return {
    id: entity.id,
    url: entity.url,
    description: entity.description,
    eventTypes: entity.eventTypes,
    ordering: entity.ordering,
    enabled: entity.enabled,
    disabledReason: entity.disabledReason,
    problem,
    circuitState: health.circuitState,
    failureCount: health.failureCount,
    headers: maskedHeaders([...new Set([...entity.headerNames, ...Object.keys(entity.legacyHeaders)])]),
    maxConcurrency: entity.maxConcurrency,
    metadata: entity.metadata,
    createdAt: entity.createdAt.toISOString(),
    updatedAt: entity.updatedAt.toISOString(),
  };
}

/**
 * Entity -> what the delivery cache holds, its secrets decrypted. Never throws: a row that cannot
 * be used (a secret no configured key decrypts, say) gets no secrets and a `problem`, so one bad
 * row costs one endpoint, never the cache load (and with it the boot).
 */
export function toEndpointSnapshot(row: EndpointEntity, cipher: SecretCipher, now: Date): EndpointSnapshot {
  const signing = readSigningSecrets(cipher, row.id, row.secrets, now);
  const headers = readHeaders(cipher, row.id, row);
  const problems = [signing.problem, headers.problem].filter((problem) => problem !== null);
  return {
    id: row.id,
    tenantId: row.tenantId,
    url: row.url,
    eventTypes: row.eventTypes,
    ordering: row.ordering,
    enabled: row.enabled,
    headers: headers.headers,
    maxConcurrency: row.maxConcurrency,
    ...(problems.length === 0 ? signing : { secrets: [], secretExpiries: [], problem: problems.join('. ') }),
  };
}
