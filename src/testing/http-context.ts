import type { ExecutionContext } from '@nestjs/common';
import type { TenantRequest } from '../tenants/auth/bearer-token';

/** The execution context a guard sees for an HTTP request with this Authorization header. */
export function contextFor(authorization?: string) {
  const request = { headers: authorization === undefined ? {} : { authorization } } as TenantRequest;
  const context = { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
  return { request, context };
}
