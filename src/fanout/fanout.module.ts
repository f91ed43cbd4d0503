import { Module } from '@nestjs/common';
import { CatalogueModule } from '../catalogue/catalogue.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { EventLogModule } from '../event-log/event-log.module';
import { FanoutController } from './fanout.controller';
import { FanoutService } from './fanout.service';

/** Platform events in, one delivery task per subscribed endpoint out (or held, or dead-lettered). */
@Module({
  imports: [CatalogueModule, EndpointsModule, DeliveryModule, EventLogModule],
  controllers: [FanoutController],
  providers: [FanoutService],
})
export class FanoutModule {}
