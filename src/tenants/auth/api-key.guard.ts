import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { DomainError } from '../../common/domain-error';
import { PORTAL_TOKEN_PREFIX } from '../../domain/portal-link';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { hashApiKey } from './api-key';
import { AuthBrake, clientAddress, type BrakeSubject } from './auth-brake';
import { bearerToken, type TenantRequest } from './bearer-token';

/**
 * Admits requests carrying a live tenant API key (or portal link token) and records the tenant on the
 * request. A key resolved within HOOKSTREAM_API_KEY_CACHE_TTL is admitted at once; otherwise an
 * address or a key past its failed attempts is refused (429) before the key is looked up.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly brake: AuthBrake,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<TenantRequest>();
    const token = bearerToken(request);
    const cachedTenant = token === null ? undefined : this.authenticator.cachedTenantFor(token);
    if (cachedTenant !== undefined) {
      request.tenantId = cachedTenant;
      return true;
    }
    const subjects: BrakeSubject[] = [clientAddress(request)];
    // Bounded like the authenticator's own check, so an oversized header costs no hashing.
    if (token !== null && token.length <= 200) subjects.push(`key:${hashApiKey(token)}`);
    this.brake.begin(subjects);
    if (token === null) {
      this.brake.failed('api_key');
      throw new DomainError('unauthorized', 'missing API key bearer token');
    }
    let tenantId: string | null;
    try {
      tenantId = await this.authenticator.tenantFor(token);
    } catch (error) {
      // PostgreSQL could not answer: no guess failed, so neither the address nor the key is charged
      // (busy clients were refused 429 for up to a minute after an outage).
      this.brake.succeeded(subjects);
      throw error;
    }
    if (tenantId === null) {
      this.brake.failed('api_key');
      // The portal shows this message: an expired link must say so, not look like a wrong key.
      const what = token.startsWith(PORTAL_TOKEN_PREFIX)
        ? 'invalid or expired portal link'
        : 'invalid or revoked API key';
      throw new DomainError('unauthorized', what);
    }
    this.brake.succeeded(subjects);
    request.tenantId = tenantId;
    return true;
  }
}
