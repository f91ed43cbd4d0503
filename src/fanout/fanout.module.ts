import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { TenantEntity } from '../tenants/tenant.entity';
import { EndpointCache } from './endpoint-cache';
import { FanoutService } from './fanout.service';
import { TenantDirectory } from './tenant-directory';

@Module({
  imports: [EndpointsModule, TypeOrmModule.forFeature([TenantEntity])],
  providers: [EndpointCache, TenantDirectory, FanoutService],
  exports: [EndpointCache],
})
export class FanoutModule {}
