import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Registry } from 'prom-client';
import { contextFor } from '../../testing/http-context';
import type { AppConfig } from '../../config/config';
import { DomainError } from '../../common/domain-error';
import { AdminGuard, OpsTokenAdmitted } from './admin.guard';
import { AuthBrake } from './auth-brake';
import { OperatorCredentials, type OperatorRequest } from './operator-credentials';

const ADMIN = 'admin-token-0123456789';
const PREVIOUS_ADMIN = 'previous-admin-token-0123';
const OPS = 'ops-token-0123456789abc';
const PREVIOUS_OPS = 'previous-ops-token-0123';

class Routes {
  adminOnly(): void {}
  @OpsTokenAdmitted()
  readOnly(): void {}
}

/** The context of a request with this Authorization header to one of `Routes`' handlers. */
function routeContext(handler: keyof Routes, authorization?: string) {
  const { request, context } = contextFor(authorization);
  const routed = {
    ...context,
    switchToHttp: context.switchToHttp,
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
  } as unknown as ExecutionContext;
  return { request: request as OperatorRequest, context: routed };
}

function guardFor(tokens: Pick<AppConfig, 'adminToken' | 'previousAdminTokens'> & { opsTokens: string[] }) {
  const config = {
    ...tokens,
    ops: { tokens: tokens.opsTokens },
    security: { authFailureLimit: 1000, authFailureWindowMs: 60_000 },
  } as unknown as AppConfig;
  return new AdminGuard(
    new OperatorCredentials(config),
    new AuthBrake(config, { now: () => 0 }, new Registry()),
    new Reflector(),
  );
}

describe('AdminGuard', () => {
  const guard = guardFor({
    adminToken: ADMIN,
    previousAdminTokens: [PREVIOUS_ADMIN],
    opsTokens: [OPS, PREVIOUS_OPS],
  });

  it.each([ADMIN, PREVIOUS_ADMIN])(
    'admits the admin token %s, current or previous, on every route',
    (token) => {
      for (const handler of ['adminOnly', 'readOnly'] as const) {
        const { request, context } = routeContext(handler, `Bearer ${token}`);
        expect(guard.canActivate(context)).toBe(true);
        expect(request.operatorCredential).toBe('admin');
      }
    },
  );

  it.each([OPS, PREVIOUS_OPS])(
    'admits the ops token %s, current or previous, on a read-only route only',
    (token) => {
      const { request, context } = routeContext('readOnly', `Bearer ${token}`);
      expect(guard.canActivate(context)).toBe(true);
      expect(request.operatorCredential).toBe('ops');
      expect(() => guard.canActivate(routeContext('adminOnly', `Bearer ${token}`).context)).toThrow(
        expect.objectContaining({ code: 'forbidden' }) as DomainError,
      );
    },
  );

  it.each([
    undefined,
    'Bearer wrong',
    `Bearer ${ADMIN}x`,
    `Bearer ${ADMIN.slice(0, -1)}`,
    `Basic ${ADMIN}`,
    `Bearer ${OPS}x`,
  ])('refuses %p with an unauthorized domain error', (header) => {
    for (const handler of ['adminOnly', 'readOnly'] as const) {
      expect(() => guard.canActivate(routeContext(handler, header).context)).toThrow(
        expect.objectContaining({ code: 'unauthorized' }) as DomainError,
      );
    }
  });

  it('admits no ops token when none is configured, and a previous admin token only while listed', () => {
    const plain = guardFor({ adminToken: ADMIN, previousAdminTokens: [], opsTokens: [] });
    expect(plain.canActivate(routeContext('adminOnly', `Bearer ${ADMIN}`).context)).toBe(true);
    for (const token of [OPS, PREVIOUS_ADMIN]) {
      expect(() => plain.canActivate(routeContext('readOnly', `Bearer ${token}`).context)).toThrow(
        expect.objectContaining({ code: 'unauthorized' }) as DomainError,
      );
    }
  });
});
