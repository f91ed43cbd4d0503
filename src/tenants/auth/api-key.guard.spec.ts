import { contextFor } from '../../testing/http-context';
import { generateApiKey } from './api-key';
import type { ApiKeyAuthenticator } from './api-key-authenticator';
import { ApiKeyGuard } from './api-key.guard';

describe('ApiKeyGuard', () => {
  const { key } = generateApiKey();
  const authenticator = {
    tenantFor: async (candidate: string) => (candidate === key ? 'tenant-1' : null),
  } as ApiKeyAuthenticator;
  const guard = new ApiKeyGuard(authenticator);

  it('puts the tenant of a live key on the request', async () => {
    const { request, context } = contextFor(`Bearer ${key}`);
    await expect(guard.canActivate(context)).resolves.toBe(true);
    expect(request.tenantId).toBe('tenant-1');
  });

  it.each([undefined, 'Bearer hs_nope'])('refuses %p', async (header) => {
    const { request, context } = contextFor(header);
    await expect(guard.canActivate(context)).rejects.toMatchObject({ code: 'unauthorized' });
    expect(request.tenantId).toBeUndefined();
  });
});
