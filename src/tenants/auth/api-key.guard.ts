import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { DomainError } from '../../common/domain-error';
import { PORTAL_TOKEN_PREFIX } from '../../domain/portal-link';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { bearerToken, type TenantRequest } from './bearer-token';

/** Admits requests carrying a live tenant API key (or portal link token) and records the tenant on the request. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly authenticator: ApiKeyAuthenticator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<TenantRequest>();
    const token = bearerToken(request);
    if (token === null) throw new DomainError('unauthorized', 'missing API key bearer token');
    const tenantId = await this.authenticator.tenantFor(token);
    if (tenantId === null) {
      // The portal shows this message: an expired link must say so, not look like a wrong key.
      const what = token.startsWith(PORTAL_TOKEN_PREFIX)
        ? 'invalid or expired portal link'
        : 'invalid or revoked API key';
      throw new DomainError('unauthorized', what);
    }
    request.tenantId = tenantId;
    return true;
  }
}
