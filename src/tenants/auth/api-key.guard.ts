import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { DomainError } from '../../common/domain-error';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { bearerToken, type TenantRequest } from './bearer-token';

/** Admits requests carrying a live tenant API key and records the tenant on the request. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly authenticator: ApiKeyAuthenticator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<TenantRequest>();
    const token = bearerToken(request);
    if (token === null) throw new DomainError('unauthorized', 'missing API key bearer token');
    const tenantId = await this.authenticator.tenantFor(token);
    if (tenantId === null) throw new DomainError('unauthorized', 'invalid or revoked API key');
    request.tenantId = tenantId;
    return true;
  }
}
