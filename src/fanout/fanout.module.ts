import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { TenantEntity } from '../tenants/tenant.entity';
import { DELIVERY_GATE, SwitchableDeliveryGate } from './delivery-gate';
import { EndpointCache } from '../endpoints/endpoint-cache';
import { FanoutService } from './fanout.service';
import { TenantDirectory } from '../tenants/tenant-directory';

@Module({
  imports: [EndpointsModule, TypeOrmModule.forFeature([TenantEntity])],
  providers: [
    EndpointCache,
    TenantDirectory,
    FanoutService,
    { provide: DELIVERY_GATE, useClass: SwitchableDeliveryGate },
  ],
  exports: [EndpointCache, DELIVERY_GATE],
})
export class FanoutModule {}
