import { Module } from '@nestjs/common';
import { egressProviders, HOST_LOOKUP } from './egress.providers';
import { EndpointChanges } from './endpoint-changes';
import { EndpointDirectory } from './endpoint-directory';
import { ENDPOINT_HEALTH_VIEW, SwitchableEndpointHealthView } from './endpoint-health';
import { EndpointsController } from './endpoints.controller';
import { EndpointsRepository } from './endpoints.repository';
import { EndpointsService } from './endpoints.service';
import { secretCipherProvider } from './secrets/secret-cipher.provider';
import { EgressPolicy } from '../domain/egress/ip-classifier';
import { SecretCipher } from './secrets/secret-cipher';

/**
 * Endpoint management over REST, plus what the delivery side needs: EndpointDirectory (cache loads),
 * SecretCipher, EgressPolicy (check the dialled address) and ENDPOINT_HEALTH_VIEW (report circuits).
 */
@Module({
  controllers: [EndpointsController],
  providers: [
    EndpointsRepository,
    EndpointsService,
    EndpointDirectory,
    EndpointChanges,
    secretCipherProvider,
    ...egressProviders,
    { provide: ENDPOINT_HEALTH_VIEW, useClass: SwitchableEndpointHealthView },
  ],
  exports: [
    EndpointDirectory,
    EndpointChanges,
    SecretCipher,
    EgressPolicy,
    HOST_LOOKUP,
    ENDPOINT_HEALTH_VIEW,
  ],
})
export class EndpointsModule {}
