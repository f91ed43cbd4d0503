import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { LOGGER } from '../common/logger.module';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import type { QueryDeadline } from '../database/query-deadline';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import { toEndpointSnapshot } from './endpoint.mapper';
import { EndpointsRepository } from './endpoints.repository';
import { SecretCipher } from './secrets/secret-cipher';

/**
 * The delivery side's read (and disable) access to endpoints, across tenants: it loads the in-memory
 * cache from here and refreshes single entries when `hookstream_endpoints` notifies a change.
 * A row that cannot be used (a secret no configured key decrypts) becomes a snapshot with a
 * `problem`, warned about once when it is first found so, not on every reload.
 */
@Injectable()
export class EndpointDirectory {
  /** Endpoints last read with a problem: warned about already. */
  private readonly unreadable = new Set<string>();
  private readonly foundUnreadable: Counter;
  private readonly logger: Logger;

  constructor(
    private readonly endpoints: EndpointsRepository,
    private readonly cipher: SecretCipher,
    @Inject(LOGGER) logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.logger = logger.child({ component: 'endpoint-directory' });
    this.foundUnreadable = new Counter({
      name: 'hookstream_endpoints_unreadable_total',
      help:
        'Times this process found an endpoint unreadable (a signing secret no configured key decrypts), ' +
        'once per endpoint until it is readable again',
      registers: [registry],
    });
  }

  async listAllForCache(now: Date = new Date()): Promise<EndpointSnapshot[]> {
    const rows = await this.endpoints.findAll();
    const snapshots = rows.map((row) => toEndpointSnapshot(row, this.cipher, now));
    const listed = new Set(snapshots.map((snapshot) => snapshot.id));
    for (const id of this.unreadable) if (!listed.has(id)) this.unreadable.delete(id);
    for (const snapshot of snapshots) this.note(snapshot);
    return snapshots;
  }

  /** One endpoint's snapshot, or null when there is none; its connection is destroyed if `deadline` passes first. */
  async findForCache(
    id: string,
    deadline: QueryDeadline = null,
    now: Date = new Date(),
  ): Promise<EndpointSnapshot | null> {
    const [snapshot] = await this.findManyForCache([id], deadline, now);
    return snapshot ?? null;
  }

  /**
   * The snapshots of those ids that exist, read in one query (the cache's batched refreshes), whose
   * connection is destroyed if `deadline` passes first.
   */
  async findManyForCache(
    ids: string[],
    deadline: QueryDeadline = null,
    now: Date = new Date(),
  ): Promise<EndpointSnapshot[]> {
    const rows = await this.endpoints.findByIds(ids, deadline);
    const snapshots = rows.map((row) => toEndpointSnapshot(row, this.cipher, now));
    const found = new Set(snapshots.map((snapshot) => snapshot.id));
    for (const id of ids) if (!found.has(id)) this.unreadable.delete(id);
    for (const snapshot of snapshots) this.note(snapshot);
    return snapshots;
  }

  /** Disables an endpoint (e.g. after 410 Gone or days of failures); false if unknown or already disabled. */
  disable(id: string, reason: string, now: Date = new Date()): Promise<boolean> {
    return this.endpoints.disable(id, reason, now);
  }

  private note(snapshot: EndpointSnapshot): void {
    if (snapshot.problem === null) {
      this.unreadable.delete(snapshot.id);
      return;
    }
    if (this.unreadable.has(snapshot.id)) return;
    this.unreadable.add(snapshot.id);
    this.foundUnreadable.inc();
    this.logger.warn(
      {
        endpointId: snapshot.id,
        tenantId: snapshot.tenantId,
        problem: snapshot.problem,
        configuredKeyIds: this.cipher.keyIds,
      },
      `endpoint ${snapshot.id} is unreadable; its deliveries are dead-lettered (endpoint_unreadable): ${snapshot.problem}`,
    );
  }
}
