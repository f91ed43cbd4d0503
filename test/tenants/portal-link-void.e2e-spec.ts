import type { ApiClient } from '../support/api';
import { createStack, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

interface PortalLink {
  token: string;
}

/**
 * An admin voids every portal link of one tenant issued so far (review F5: a link pasted into a
 * ticket, a tenant offboarded): on the replica that served the DELETE at once, and on another
 * replica on the same database within moments, although that one had the tenant's floor cached
 * for five minutes. Other tenants' links, links minted afterwards and the tenant's API keys go on.
 */
describe('tenants: voiding a tenant’s portal links on every replica', () => {
  let stack: Stack | undefined;
  let a: ApiClient;
  let b: ApiClient;

  beforeAll(async () => {
    const env = { HOOKSTREAM_ROLES: 'api', HOOKSTREAM_API_KEY_CACHE_TTL: '5m' };
    stack = await createStack('portal-void', env);
    a = await stack.boot('portal-void-a');
    b = await stack.bootReplica('portal-void-b');
  });
  afterAll(() => stopStack(stack));

  const mint = async (via: ApiClient, tenantId: string) =>
    (await via.ok<PortalLink>('POST', `/v1/tenants/${tenantId}/portal-links`, {})).token;
  const statusWith = async (via: ApiClient, token: string) =>
    (await via.as(token).request('GET', '/v1/endpoints')).status;

  it('refuses the links issued before the void, 401 on this replica at once and on the other within moments', async () => {
    const tenant = await a.createTenant('Offboarded');
    const other = await a.createTenant('Staying');
    const link = await mint(a, tenant.id);
    const otherLink = await mint(b, other.id);
    // Both replicas have admitted the link, so each holds the tenant's floor for five minutes.
    expect([await statusWith(a, link), await statusWith(b, link)]).toEqual([200, 200]);

    const voided = await a.request('DELETE', `/v1/tenants/${tenant.id}/portal-links`);
    expect(voided.status).toBe(204);
    const refused = await a.as(link).request<{ message: string }>('GET', '/v1/endpoints');
    expect([refused.status, refused.body.message]).toEqual([401, 'invalid or expired portal link']);
    await waitFor(async () => (await statusWith(b, link)) === 401, {
      timeoutMs: 10_000,
      what: 'the other replica to refuse the voided link',
    });

    // Another tenant's link, a link minted after the void, and the tenant's API key still work.
    const after = await mint(b, tenant.id);
    expect([
      await statusWith(a, otherLink),
      await statusWith(b, otherLink),
      await statusWith(a, after),
      await statusWith(b, after),
      await statusWith(b, tenant.apiKey),
    ]).toEqual([200, 200, 200, 200, 200]);
    expect(await statusWith(a, link)).toBe(401);
  });

  it('leaves portal links alone when every API key of the tenant is revoked', async () => {
    const tenant = await a.createTenant('Rotating');
    const link = await mint(a, tenant.id);
    const keys = await a.ok<{ keys: Array<{ id: string }> }>('GET', `/v1/tenants/${tenant.id}/keys`);
    for (const key of keys.keys) {
      expect((await a.request('DELETE', `/v1/tenants/${tenant.id}/keys/${key.id}`)).status).toBe(204);
    }
    await waitFor(async () => (await statusWith(b, tenant.apiKey)) === 401, {
      timeoutMs: 10_000,
      what: 'the other replica to refuse the revoked key',
    });
    expect([await statusWith(a, link), await statusWith(b, link)]).toEqual([200, 200]);
  });

  it('is the admin’s: 404 for an unknown tenant, 401 with the tenant’s own link or key', async () => {
    const tenant = await a.createTenant('Not by itself');
    const link = await mint(a, tenant.id);
    const path = `/v1/tenants/${tenant.id}/portal-links`;
    expect(
      (await a.request('DELETE', '/v1/tenants/3f2a9c1e-7b4d-4e8a-9c1f-2b3d4e5f6a7b/portal-links')).status,
    ).toBe(404);
    expect((await a.request('DELETE', '/v1/tenants/not-a-uuid/portal-links')).status).toBe(404);
    expect((await a.as(link).request('DELETE', path)).status).toBe(401);
    expect((await a.as(tenant.apiKey).request('DELETE', path)).status).toBe(401);
    expect(await statusWith(b, link)).toBe(200);
  });
});
