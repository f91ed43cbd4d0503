import { Module } from '@nestjs/common';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { RetryModule } from '../retry/retry.module';
import { EndpointStatsController } from './endpoint-stats.controller';
import { EndpointStatsService } from './endpoint-stats.service';
import { PortalController } from './portal.controller';

/** The tenant portal (`/portal`) and the one read it needed that the REST API lacked: endpoint stats. */
@Module({
  imports: [EndpointsModule, RetryModule, DeliveryModule, DeadLettersModule],
  controllers: [PortalController, EndpointStatsController],
  providers: [EndpointStatsService],
})
export class PortalModule {}
