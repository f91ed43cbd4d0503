export { AuthModule } from './auth.module';
export { AdminGuard } from './admin.guard';
export { ApiKeyGuard } from './api-key.guard';
export { ApiKeyAuthenticator } from './api-key-authenticator';
export { CurrentTenant } from './current-tenant.decorator';
export { generateApiKey, hashApiKey, API_KEY_PREFIX, type NewApiKey } from './api-key';
export { bearerToken, type TenantRequest } from './bearer-token';
export { PortalLinks } from './portal-links';
