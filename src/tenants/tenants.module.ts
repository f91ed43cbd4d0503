import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyEntity } from './api-key.entity';
import { KeyRevocations } from './key-revocations';
import { TenantEntity } from './tenant.entity';
import { TenantsController } from './tenants.controller';
import { TenantsRepository } from './tenants.repository';
import { TenantsService } from './tenants.service';

/** Tenants and their API keys (admin token); auth/ turns a bearer key into its tenant. */
@Module({
  imports: [TypeOrmModule.forFeature([TenantEntity, ApiKeyEntity])],
  controllers: [TenantsController],
  providers: [TenantsRepository, TenantsService, KeyRevocations],
  exports: [TenantsRepository, KeyRevocations],
})
export class TenantsModule {}
