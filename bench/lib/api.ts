import { ADMIN_TOKEN } from './service';

/** The few REST calls the bench needs: tenants (admin) and endpoints (tenant API key). */
export class Api {
  constructor(
    readonly baseUrl: string,
    readonly token: string = ADMIN_TOKEN,
  ) {}

  async ok<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async createTenant(name: string): Promise<{ id: string; apiKey: string; api: Api }> {
    const tenant = await this.ok<{ id: string; apiKey: string }>('POST', '/v1/tenants', { name });
    return { id: tenant.id, apiKey: tenant.apiKey, api: new Api(this.baseUrl, tenant.apiKey) };
  }

  async createEndpoint(settings: {
    url: string;
    eventTypes?: string[];
    maxConcurrency?: number;
    ordering?: 'none' | 'strict';
  }): Promise<{ id: string }> {
    return this.ok<{ id: string }>('POST', '/v1/endpoints', settings);
  }
}
