import { Module } from '@nestjs/common';
import { ClusterModule } from '../cluster/cluster.module';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { DashboardController } from './dashboard/dashboard.controller';
import { OpsDeadLetters } from './dead-letters/ops-dead-letters';
import { LagMonitor } from './lag/lag-monitor';
import { OpsController } from './ops.controller';
import { OpsSurface } from './ops-listener';
import { RuntimeGauges } from './runtime-gauges';
import { DeliveryStats } from './summary/delivery-stats';
import { OpsSummary } from './summary/ops-summary';

/** Operations: consumer lag, runtime gauges, the replicas, the dashboard and its JSON endpoints. */
@Module({
  imports: [ClusterModule, EndpointsModule, DeliveryModule, DeadLettersModule],
  controllers: [OpsController, DashboardController],
  providers: [LagMonitor, RuntimeGauges, DeliveryStats, OpsSummary, OpsDeadLetters, OpsSurface],
})
export class OpsModule {}
