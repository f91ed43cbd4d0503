import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyEntity } from './api-key.entity';
import { KeyRevocationNotices } from './key-revocation-notices';
import { KeyRevocations } from './key-revocations';
import { TenantEntity } from './tenant.entity';
import { PortalLinksController } from './portal-links.controller';
import { TenantsController } from './tenants.controller';
import { TenantsRepository } from './tenants.repository';
import { TenantsService } from './tenants.service';

/** Tenants, their API keys and portal links (admin token); auth/ turns a bearer key or link into its tenant. */
@Module({
  imports: [TypeOrmModule.forFeature([TenantEntity, ApiKeyEntity])],
  controllers: [TenantsController, PortalLinksController],
  providers: [TenantsRepository, TenantsService, KeyRevocations, KeyRevocationNotices],
  exports: [TenantsRepository, KeyRevocations],
})
export class TenantsModule {}
