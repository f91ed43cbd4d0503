import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { KafkaHealthIndicator } from './kafka.health';
import { OperatorRoute } from '../../common/roles';

const POSTGRES_DOWN = { postgres: { status: 'down' as const, message: 'PostgreSQL is not reachable' } };

@ApiTags('ops')
@OperatorRoute()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly kafka: KafkaHealthIndicator,
  ) {}

  /** Liveness: the process answers. Never checks dependencies, so an outage does not restart pods. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: Kafka and PostgreSQL answer; 503 naming the failing part (never its address) otherwise. */
  @Get('readyz')
  @HealthCheck()
  readyz() {
    return this.health.check([
      // The driver's error names host and port; the public port's answer names the part only.
      () =>
        this.database
          .pingCheck('postgres', { timeout: 3000 })
          .then((result) => (result.postgres?.status === 'up' ? result : POSTGRES_DOWN))
          .catch(() => POSTGRES_DOWN),
      () => this.kafka.isHealthy('kafka'),
    ]);
  }
}
