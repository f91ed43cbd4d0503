import { Injectable } from '@nestjs/common';
import type { EndpointEntity } from './endpoint.entity';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import { EndpointsRepository } from './endpoints.repository';
import { activeSecrets, SecretCipher } from './secrets/secret-cipher';

/**
 * The delivery side's read (and disable) access to endpoints, across tenants: it loads the in-memory
 * cache from here and refreshes single entries when `hookstream_endpoints` notifies a change.
 */
@Injectable()
export class EndpointDirectory {
  constructor(
    private readonly endpoints: EndpointsRepository,
    private readonly cipher: SecretCipher,
  ) {}

  async listAllForCache(now: Date = new Date()): Promise<EndpointSnapshot[]> {
    const rows = await this.endpoints.findAll();
    return rows.map((row) => this.snapshot(row, now));
  }

  async findForCache(id: string, now: Date = new Date()): Promise<EndpointSnapshot | null> {
    const row = await this.endpoints.findById(id);
    return row ? this.snapshot(row, now) : null;
  }

  /** Disables an endpoint (e.g. after 410 Gone or days of failures); false if unknown or already disabled. */
  disable(id: string, reason: string, now: Date = new Date()): Promise<boolean> {
    return this.endpoints.disable(id, reason, now);
  }

  private snapshot(row: EndpointEntity, now: Date): EndpointSnapshot {
    const secrets = activeSecrets(row.secrets, now);
    return {
      id: row.id,
      tenantId: row.tenantId,
      url: row.url,
      eventTypes: row.eventTypes,
      ordering: row.ordering,
      enabled: row.enabled,
      headers: row.headers,
      maxConcurrency: row.maxConcurrency,
      secrets: secrets.map((secret) => this.cipher.decrypt(secret)),
      secretExpiries: secrets.map((secret) => secret.expiresAt),
      problem: null,
    };
  }
}
