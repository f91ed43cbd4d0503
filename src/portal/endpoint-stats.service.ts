import { Inject, Injectable } from '@nestjs/common';
import { CLOCK } from '../common/clock.module';
import { DeadLettersRepository } from '../dead-letters/dead-letters.repository';
import { AttemptsRepository } from '../delivery/attempts.repository';
import type { Clock } from '../domain/clock';
import { endpointWindowStats } from '../domain/endpoint-stats';
import { CLOSED_CIRCUIT } from '../endpoints/circuit-report';
import { EndpointHealthRepository } from '../endpoints/endpoint-health.repository';
import { EndpointsRepository } from '../endpoints/endpoints.repository';
import { HeldDeliveries } from '../retry/held-deliveries';
import type { EndpointStatsPageDto } from './dto/endpoint-stats.dto';

/** The last hour in twelve 5-minute buckets: enough points for a sparkline, cheap to aggregate. */
const WINDOW_MS = 3_600_000;
const BUCKET_MS = 300_000;

/** Health at a glance for every endpoint of a tenant: what the portal's overview draws. */
@Injectable()
export class EndpointStatsService {
  constructor(
    private readonly endpoints: EndpointsRepository,
    private readonly health: EndpointHealthRepository,
    private readonly attempts: AttemptsRepository,
    private readonly held: HeldDeliveries,
    private readonly deadLetters: DeadLettersRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async lastHour(tenantId: string): Promise<EndpointStatsPageDto> {
    // Buckets aligned to the clock, so two reads a minute apart draw the same bars.
    const startMs = Math.floor((this.clock.now() - WINDOW_MS) / BUCKET_MS) * BUCKET_MS + BUCKET_MS;
    const endpoints = await this.endpoints.allForTenant(tenantId);
    const ids = endpoints.map((endpoint) => endpoint.id);
    const [aggregates, circuits, held, deadLetters] = await Promise.all([
      this.attempts.aggregateSince(ids, new Date(startMs), BUCKET_MS),
      this.health.circuitsOf(ids),
      this.held.countsFor(ids),
      this.deadLetters.unreplayedCounts(tenantId, ids),
    ]);
    const stats = endpointWindowStats(ids, aggregates, {
      startMs,
      bucketMs: BUCKET_MS,
      bucketCount: WINDOW_MS / BUCKET_MS,
    });
    return {
      windowStart: new Date(startMs).toISOString(),
      bucketSeconds: BUCKET_MS / 1000,
      data: endpoints.map((endpoint, index) => ({
        ...stats[index],
        url: endpoint.url,
        enabled: endpoint.enabled,
        disabledReason: endpoint.disabledReason,
        circuitState: (circuits.get(endpoint.id) ?? CLOSED_CIRCUIT).circuitState,
        held: held.get(endpoint.id) ?? 0,
        deadLetters: deadLetters.get(endpoint.id) ?? 0,
        buckets: stats[index].buckets.map(({ startMs: bucketStart, ...bucket }) => ({
          ...bucket,
          start: new Date(bucketStart).toISOString(),
        })),
      })),
    };
  }
}
