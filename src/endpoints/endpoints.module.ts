import { CatalogueModule } from '../catalogue/catalogue.module';
import { Module } from '@nestjs/common';
import { leaseChannelProvider } from '../cluster/lease-channel.provider';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EgressPolicy } from '../domain/egress/ip-classifier';
import { TenantsModule } from '../tenants/tenants.module';
import { HostResolver } from '../common/host-resolver';
import { egressProviders, HOST_LOOKUP } from './egress.providers';
import { EndpointCache } from './endpoint-cache';
import { EndpointDirectory } from './endpoint-directory';
import { EndpointHealthRepository } from './endpoint-health.repository';
import { EndpointEntity } from './endpoint.entity';
import { EndpointsController } from './endpoints.controller';
import { EndpointsRepository } from './endpoints.repository';
import { EndpointsService } from './endpoints.service';
import { ENDPOINT_WRITE_RATE_LEASES, EndpointWriteRate } from './endpoint-write-rate';
import { secretCipherProvider } from './secrets/secret-cipher.provider';
import { SecretCipher } from './secrets/secret-cipher';
import { PlaintextHeaderSealer } from './secrets/plaintext-header-sealer';

/**
 * Endpoint management over REST, and what the delivery side needs of endpoints: the in-memory
 * EndpointCache (no database round trip per event), EndpointDirectory (reads across tenants, and
 * disabling), EndpointsRepository (the only owner of the `endpoints` table), SecretCipher,
 * EgressPolicy (checked again on the dialled address), EndpointHealthRepository (the
 * failing endpoints' circuits, kept in PostgreSQL for every replica) and EndpointWriteRate (each
 * tenant's endpoint writes, metered).
 */
@Module({
  imports: [TypeOrmModule.forFeature([EndpointEntity]), TenantsModule, CatalogueModule],
  controllers: [EndpointsController],
  providers: [
    EndpointsRepository,
    EndpointsService,
    EndpointDirectory,
    EndpointCache,
    secretCipherProvider,
    ...egressProviders,
    EndpointHealthRepository,
    PlaintextHeaderSealer,
    leaseChannelProvider(ENDPOINT_WRITE_RATE_LEASES, 'endpoint_writes'),
    EndpointWriteRate,
  ],
  exports: [
    EndpointCache,
    EndpointDirectory,
    EndpointsRepository,
    SecretCipher,
    EgressPolicy,
    HOST_LOOKUP,
    HostResolver,
    EndpointHealthRepository,
  ],
})
export class EndpointsModule {}
