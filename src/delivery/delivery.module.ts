import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { EgressPolicy } from '../domain/egress/ip-classifier';
import { ClusterModule } from '../cluster/cluster.module';
import { ReplicaRegistry } from '../cluster/replica-registry';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { ConsumerRunner } from '../kafka/consumer-runner';
import { PARTITION_HANDOVER, type SwitchablePartitionHandover } from '../kafka/partition-handover';
import { RetryModule } from '../retry/retry.module';
import { AttemptLog } from './attempt-log';
import { AttemptsController } from './attempts.controller';
import { AttemptsRepository } from './attempts.repository';
import { AttemptsService } from './attempts.service';
import { DeliveryConsumersController } from './delivery-consumers.controller';
import { DeliveryEngine, HTTP_SENDER } from './delivery-engine';
import { DeliveryGate } from './delivery-gate';
import { DeliveryHandover } from './delivery-handover';
import { DeliveryMetrics } from './delivery-metrics';
import { EndpointHealth } from './endpoint-health';
import { HangingLanes } from './hanging-lanes';
import { HeldRelease } from './held-release';
import { RemoteRefusals } from './remote-refusals';
import { StrictReleaseRecovery } from './strict-release-recovery';
import { HostResolver } from '../common/host-resolver';
import { LaneHangsRepository } from './lane-hangs.repository';
import { HttpSender } from './http-sender';
import { NotificationPublisher } from './notifications/notification-publisher';
import { NotificationWindows } from './notifications/notification-windows.repository';
import { Notifier } from './notifications/notifier';
import { PartitionOwners } from './partition-owners';
import { Settler } from './settler';

/**
 * Making delivery attempts and settling them: the engine (lanes, signing, the HTTP sender), the
 * settler that applies each outcome through the retry module, endpoint circuits, the attempt log
 * (REST: /v1/endpoints/:id/attempts), the release of held deliveries, the consumers of the
 * deliveries and retry tier topics, how their partitions move between replicas, and the
 * operational notifications that tell a tenant of its endpoints' trouble (notifications/).
 */
@Module({
  imports: [ClusterModule, EndpointsModule, RetryModule],
  controllers: [AttemptsController, DeliveryConsumersController],
  providers: [
    {
      provide: HTTP_SENDER,
      inject: [APP_CONFIG, EgressPolicy, HostResolver],
      useFactory: (config: AppConfig, policy: EgressPolicy, resolver: HostResolver) =>
        new HttpSender({
          timeoutMs: config.delivery.timeoutMs,
          responseBodyLimitBytes: config.delivery.responseBodyLimitBytes,
          policy,
          connectionsPerOrigin: config.delivery.maxInFlight,
          userAgent: 'Hookstream-Webhooks/0.1 (+https://www.standardwebhooks.com)',
          resolver,
        }),
    },
    AttemptLog,
    AttemptsRepository,
    AttemptsService,
    DeliveryEngine,
    DeliveryGate,
    DeliveryHandover,
    DeliveryMetrics,
    EndpointHealth,
    HangingLanes,
    HeldRelease,
    LaneHangsRepository,
    NotificationPublisher,
    NotificationWindows,
    Notifier,
    PartitionOwners,
    RemoteRefusals,
    Settler,
    StrictReleaseRecovery,
  ],
  exports: [DeliveryEngine, DeliveryGate, EndpointHealth, AttemptLog, AttemptsRepository],
})
export class DeliveryModule implements OnModuleInit {
  constructor(
    @Inject(PARTITION_HANDOVER) private readonly handover: SwitchablePartitionHandover,
    private readonly delivery: DeliveryHandover,
    private readonly replicas: ReplicaRegistry,
    private readonly consumers: ConsumerRunner,
    private readonly engine: DeliveryEngine,
    private readonly health: EndpointHealth,
  ) {}

  /**
   * The delivery consumer (kafka module, below this one) hands partitions over through PostgreSQL
   * (src/delivery/delivery-handover.ts); each heartbeat reports what this replica delivers.
   */
  onModuleInit(): void {
    this.handover.attach(this.delivery);
    this.replicas.report('delivery', () => ({
      partitions: this.consumers.ownedDeliveryPartitions(),
      inFlight: this.engine.inFlight(),
      unfinishedRecords: this.consumers.inFlight(),
      circuits: this.health.countByState(),
    }));
  }
}
