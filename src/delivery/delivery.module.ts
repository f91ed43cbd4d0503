import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { ENDPOINT_HEALTH_VIEW, SwitchableEndpointHealthView } from '../endpoints/endpoint-health';
import { EgressPolicy } from '../domain/egress/ip-classifier';
import { DELIVERY_GATE, SwitchableDeliveryGate } from '../fanout/delivery-gate';
import { FanoutModule } from '../fanout/fanout.module';
import { HeldDeliveries } from '../retry/held-deliveries';
import { HeldRelease } from '../retry/held-release';
import { RetryRouter } from '../retry/retry-router';
import { AttemptLog } from './attempt-log';
import { AttemptsController } from './attempts.controller';
import { AttemptsQuery } from './attempts.query';
import { DeliveryConsumers } from './delivery-consumers';
import { DeliveryEngine, HTTP_SENDER } from './delivery-engine';
import { DeliveryMetrics } from './delivery-metrics';
import { EndpointHealth } from './endpoint-health';
import { HttpSender } from './http-sender';
import { StrictOrderStore } from './strict-order-store';

@Module({
  imports: [EndpointsModule, FanoutModule],
  controllers: [AttemptsController],
  providers: [
    {
      provide: HTTP_SENDER,
      inject: [APP_CONFIG, EgressPolicy],
      useFactory: (config: AppConfig, policy: EgressPolicy) =>
        new HttpSender({
          timeoutMs: config.delivery.timeoutMs,
          responseBodyLimitBytes: config.delivery.responseBodyLimitBytes,
          policy,
          userAgent: 'Hookstream-Webhooks/0.1 (+https://www.standardwebhooks.com)',
        }),
    },
    AttemptLog,
    AttemptsQuery,
    DeliveryEngine,
    DeliveryMetrics,
    DeliveryConsumers,
    EndpointHealth,
    HeldDeliveries,
    HeldRelease,
    RetryRouter,
    StrictOrderStore,
  ],
  exports: [DeliveryEngine, EndpointHealth, AttemptLog, DeliveryConsumers],
})
export class DeliveryModule implements OnModuleInit {
  constructor(
    @Inject(ENDPOINT_HEALTH_VIEW) private readonly view: SwitchableEndpointHealthView,
    @Inject(DELIVERY_GATE) private readonly gate: SwitchableDeliveryGate,
    private readonly health: EndpointHealth,
    private readonly engine: DeliveryEngine,
    private readonly held: HeldDeliveries,
    private readonly metrics: DeliveryMetrics,
  ) {}

  /**
   * The REST API reports circuit states from this process's delivery engine, and the fan-out asks
   * it whether an endpoint can take a delivery now.
   */
  onModuleInit(): void {
    this.view.attach({
      healthOf: (endpointId) => this.health.state(endpointId),
    });
    this.gate.attach({
      unavailable: (endpointId, nowMs) => this.engine.unavailable(endpointId, nowMs),
      hold: async (request) => {
        await this.held.hold(request);
        this.metrics.outcome('held_at_fanout');
      },
    });
  }
}
