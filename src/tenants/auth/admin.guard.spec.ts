import { contextFor } from '../../testing/http-context';
import type { AppConfig } from '../../config/config';
import { DomainError } from '../../common/domain-error';
import { AdminGuard } from './admin.guard';

const ADMIN = 'admin-token-0123456789';

describe('AdminGuard', () => {
  const guard = new AdminGuard({ adminToken: ADMIN } as AppConfig);

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
