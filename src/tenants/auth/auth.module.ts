import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyEntity } from '../api-key.entity';
import { AdminGuard } from './admin.guard';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { ApiKeyGuard } from './api-key.guard';

/**
 * Authentication for every controller: `@UseGuards(AdminGuard)` for operator routes,
 * `@UseGuards(ApiKeyGuard)` + `@CurrentTenant()` for tenant routes. Global so any module can use them.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity])],
  providers: [AdminGuard, ApiKeyGuard, ApiKeyAuthenticator],
  exports: [AdminGuard, ApiKeyGuard, ApiKeyAuthenticator],
})
export class AuthModule {}
