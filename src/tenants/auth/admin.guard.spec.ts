import { contextFor } from '../../testing/http-context';
import type { AppConfig } from '../../config/config';
import { DomainError } from '../../common/domain-error';
import { AdminGuard } from './admin.guard';
import { AuthBrake } from './auth-brake';
import { Registry } from 'prom-client';

const ADMIN = 'admin-token-0123456789';

describe('AdminGuard', () => {
  const config = {
    adminToken: ADMIN,
    security: { authFailureLimit: 1000, authFailureWindowMs: 60_000 },
  } as AppConfig;
  const guard = new AdminGuard(config, new AuthBrake(config, { now: () => 0 }, new Registry()));

  it('admits the admin token', () => {
    expect(guard.canActivate(contextFor(`Bearer ${ADMIN}`).context)).toBe(true);
  });

  it.each([undefined, 'Bearer wrong', `Bearer ${ADMIN}x`, `Bearer ${ADMIN.slice(0, -1)}`, `Basic ${ADMIN}`])(
    'refuses %p with an unauthorized domain error',
    (header) => {
      expect(() => guard.canActivate(contextFor(header).context)).toThrow(
        expect.objectContaining({ code: 'unauthorized' }) as DomainError,
      );
    },
  );
});
