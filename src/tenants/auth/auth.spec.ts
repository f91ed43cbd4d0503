import { createHash } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import type { AppConfig } from '../../config/config';
import { DomainError } from '../../common/domain-error';
import { AdminGuard } from './admin.guard';
import { generateApiKey, hashApiKey } from './api-key';
import type { ApiKeyAuthenticator } from './api-key-authenticator';
import { ApiKeyGuard } from './api-key.guard';
import { bearerToken, type TenantRequest } from './bearer-token';

const ADMIN = 'admin-token-0123456789';
const contextFor = (authorization?: string) => {
  const request = { headers: authorization === undefined ? {} : { authorization } } as TenantRequest;
  const context = { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
  return { request, context };
};

describe('API keys', () => {
  it('are hs_ + base64url of 32 bytes, hashed with SHA-256', () => {
    const { key, hash, prefix } = generateApiKey();
    expect(key).toMatch(/^hs_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(3), 'base64url')).toHaveLength(32);
    expect(hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashApiKey(key)).toBe(hash);
    expect(key.startsWith(prefix)).toBe(true);
    expect(prefix).toHaveLength(11);
    expect(generateApiKey().key).not.toBe(key);
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
    ['Basic abc', null],
    ['Bearer', null],
    ['Bearer a b', null],
  ])('reads %p as %p', (header, token) => {
    expect(bearerToken(contextFor(header).request)).toBe(token);
  });

  it('is null without a header', () => {
    expect(bearerToken(contextFor().request)).toBeNull();
  });
});

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
