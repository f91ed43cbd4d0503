import { Global, Module } from '@nestjs/common';
import { TenantsModule } from '../tenants.module';
import { AdminGuard } from './admin.guard';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { ApiKeyGuard } from './api-key.guard';
import { AuthBrake } from './auth-brake';

/**
 * Authentication for every controller: `@UseGuards(AdminGuard)` for operator routes,
 * `@UseGuards(ApiKeyGuard)` + `@CurrentTenant()` for tenant routes. Global so any module can use them.
 */
@Global()
@Module({
  imports: [TenantsModule],
  providers: [AdminGuard, ApiKeyGuard, ApiKeyAuthenticator, AuthBrake],
  exports: [AdminGuard, ApiKeyGuard, ApiKeyAuthenticator, AuthBrake],
})
export class AuthModule {}
