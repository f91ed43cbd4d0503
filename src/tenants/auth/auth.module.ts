import { Global, Module } from '@nestjs/common';
import { TenantsModule } from '../tenants.module';
import { AdminGuard } from './admin.guard';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { ApiKeyGuard } from './api-key.guard';
import { AuthBrake } from './auth-brake';
import { OperatorCredentials } from './operator-credentials';
import { PortalLinkFloors } from './portal-link-floors';
import { PortalLinks } from './portal-links';

/**
 * Authentication for every controller: `@UseGuards(AdminGuard)` for operator routes (`@OpsTokenAdmitted()` on the read-only ones),
 * `@UseGuards(ApiKeyGuard)` + `@CurrentTenant()` for tenant routes (an API key or a portal link token). Global so any module can use them.
 */
@Global()
@Module({
  imports: [TenantsModule],
  providers: [
    AdminGuard,
    OperatorCredentials,
    ApiKeyGuard,
    ApiKeyAuthenticator,
    AuthBrake,
    PortalLinks,
    PortalLinkFloors,
  ],
  exports: [AdminGuard, OperatorCredentials, ApiKeyGuard, ApiKeyAuthenticator, AuthBrake, PortalLinks],
})
export class AuthModule {}
