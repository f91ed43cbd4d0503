import type { ApiCall } from '../support/app';
import { ADMIN_TOKEN } from '../support/service';

/** A public address: allowed as an endpoint URL, and never sent to (these suites run no delivery). */
export const PUBLIC_URL = 'https://93.184.215.14/hooks';
export const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

export interface Tenant {
  id: string;
  apiKey: string;
}

/** Creating tenants and endpoints through the API, each expected to answer 201. */
export function endpointCalls(api: () => ApiCall) {
  const newTenant = async (name: string): Promise<Tenant> => {
    const response = await api()('POST', '/v1/tenants', { token: ADMIN_TOKEN, body: { name } });
    expect(response.status).toBe(201);
    return response.body;
  };
  const createEndpoint = async (tenant: Tenant, body: Record<string, unknown> = {}) => {
    const response = await api()('POST', '/v1/endpoints', {
      token: tenant.apiKey,
      body: { url: PUBLIC_URL, ...body },
    });
    expect(response.status).toBe(201);
    return response.body;
  };
  return { newTenant, createEndpoint };
}
