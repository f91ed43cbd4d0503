import { Module } from '@nestjs/common';
import { ClusterModule } from '../cluster/cluster.module';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { EventLogModule } from '../event-log/event-log.module';
import { ReplayModule } from '../replay/replay.module';
import { RetryModule } from '../retry/retry.module';
import { DashboardController } from './dashboard/dashboard.controller';
import { DocsController } from './docs/docs.controller';
import { OpsDeadLetters } from './dead-letters/ops-dead-letters';
import { LagMonitor } from './lag/lag-monitor';
import { ClusterGauges } from './metrics/cluster-gauges';
import { OpsController } from './ops.controller';
import { OpsSurface } from './ops-listener';
import { RuntimeGauges } from './runtime-gauges';
import { DeliveryStats } from './summary/delivery-stats';
import { OpsSummary } from './summary/ops-summary';

/** Operations: consumer lag, runtime gauges, the replicas, the dashboard and its JSON endpoints. */
@Module({
  imports: [
    ClusterModule,
    EndpointsModule,
    RetryModule,
    DeliveryModule,
    DeadLettersModule,
    ReplayModule,
    EventLogModule,
  ],
  controllers: [OpsController, DashboardController, DocsController],
  providers: [
    LagMonitor,
    RuntimeGauges,
    ClusterGauges,
    DeliveryStats,
    OpsSummary,
    OpsDeadLetters,
    OpsSurface,
  ],
})
export class OpsModule {}
