import { ADMIN_TOKEN } from './service';

/** A small client for the service's REST API, as a tenant or as the admin. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string = ADMIN_TOKEN,
  ) {}

  as(token: string): ApiClient {
    return new ApiClient(this.baseUrl, token);
  }

  /** `headers` are sent besides the bearer token and content type; the answer's headers come back. */
  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { ...headers, authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : undefined) as T,
      headers: response.headers,
    };
  }

  async ok<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.request<T>(method, path, body);
    if (response.status >= 300) {
      throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(response.body)}`);
    }
    return response.body;
  }

  /** Creates a tenant (as admin) and returns a client acting with its API key. */
  async createTenant(name: string): Promise<{ id: string; apiKey: string; client: ApiClient }> {
    const tenant = await this.ok<{ id: string; apiKey: string }>('POST', '/v1/tenants', { name });
    return { id: tenant.id, apiKey: tenant.apiKey, client: this.as(tenant.apiKey) };
  }
}
