import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { DomainError } from '../../common/domain-error';
import type { TenantRequest } from './bearer-token';

/** The id of the tenant whose API key authenticated the request (use behind ApiKeyGuard). */
export const CurrentTenant = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const tenantId = context.switchToHttp().getRequest<TenantRequest>().tenantId;
  if (!tenantId) throw new DomainError('unauthorized', 'route needs ApiKeyGuard');
  return tenantId;
});
