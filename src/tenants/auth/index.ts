export { AuthModule } from './auth.module';
export { AdminGuard, OpsTokenAdmitted } from './admin.guard';
export {
  CurrentOperatorCredential,
  OperatorCredentials,
  type OperatorCredential,
  type OperatorRequest,
} from './operator-credentials';
export { ApiKeyGuard } from './api-key.guard';
export { ApiKeyAuthenticator } from './api-key-authenticator';
export { CurrentTenant } from './current-tenant.decorator';
export { generateApiKey, hashApiKey, API_KEY_PREFIX, type NewApiKey } from './api-key';
export { bearerToken, type TenantRequest } from './bearer-token';
export { PortalLinks } from './portal-links';
