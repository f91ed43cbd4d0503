import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { EgressPolicy } from '../domain/egress/ip-classifier';
import { CIRCUIT_REPORTER, SwitchableCircuitReporter } from '../endpoints/circuit-report';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { RetryModule } from '../retry/retry.module';
import { AttemptLog } from './attempt-log';
import { AttemptsController } from './attempts.controller';
import { AttemptsRepository } from './attempts.repository';
import { AttemptsService } from './attempts.service';
import { DeliveryConsumersController } from './delivery-consumers.controller';
import { DeliveryEngine, HTTP_SENDER } from './delivery-engine';
import { DeliveryGate } from './delivery-gate';
import { DeliveryMetrics } from './delivery-metrics';
import { EndpointHealth } from './endpoint-health';
import { HeldRelease } from './held-release';
import { HostResolver } from './host-resolver';
import { HttpSender } from './http-sender';
import { Settler } from './settler';

/**
 * Making delivery attempts and settling them: the engine (lanes, signing, the HTTP sender), the
 * settler that applies each outcome through the retry module, endpoint circuits, the attempt log
 * (REST: /v1/endpoints/:id/attempts), the release of held deliveries, and the consumers of the
 * deliveries and retry tier topics.
 */
@Module({
  imports: [EndpointsModule, RetryModule],
  controllers: [AttemptsController, DeliveryConsumersController],
  providers: [
    {
      provide: HTTP_SENDER,
      inject: [APP_CONFIG, EgressPolicy, METRICS_REGISTRY],
      useFactory: (config: AppConfig, policy: EgressPolicy, registry: Registry) =>
        new HttpSender({
          timeoutMs: config.delivery.timeoutMs,
          responseBodyLimitBytes: config.delivery.responseBodyLimitBytes,
          policy,
          userAgent: 'Hookstream-Webhooks/0.1 (+https://www.standardwebhooks.com)',
          resolver: new HostResolver({
            timeoutMs: config.limits.dnsTimeoutMs,
            cacheTtlMs: config.limits.dnsCacheTtlMs,
            registry,
          }),
        }),
    },
    AttemptLog,
    AttemptsRepository,
    AttemptsService,
    DeliveryEngine,
    DeliveryGate,
    DeliveryMetrics,
    EndpointHealth,
    HeldRelease,
    Settler,
  ],
  exports: [DeliveryEngine, DeliveryGate, EndpointHealth, AttemptLog, AttemptsRepository],
})
export class DeliveryModule implements OnModuleInit {
  constructor(
    @Inject(CIRCUIT_REPORTER) private readonly reporter: SwitchableCircuitReporter,
    private readonly health: EndpointHealth,
  ) {}

  /** The REST API (endpoints module, below this one) reports circuits from this process's health. */
  onModuleInit(): void {
    this.reporter.attach(this.health);
  }
}
