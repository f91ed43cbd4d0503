import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { DomainError } from '../common/domain-error';
import { LOGGER } from '../common/logger.module';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import { endpointChangeMarker } from '../domain/endpoint-change-marker';
import { RecordProducer } from '../kafka/record-producer';
import { QuotaMetrics } from '../common/quota-metrics';
import type { CreateEndpointDto, UpdateEndpointDto } from './dto/endpoint-input.dto';
import { HOST_LOOKUP } from './egress.providers';
import { EndpointEntity } from './endpoint.entity';
import { EndpointCache } from './endpoint-cache';
import { EndpointsRepository } from './endpoints.repository';
import { decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor } from '../common/pagination';
import { generateSecret, secretBinding, SecretCipher } from './secrets/secret-cipher';
import { HEADER_VALUE_MASK, mergeHeaderUpdate, readHeaders, sealHeaders } from './secrets/endpoint-headers';
import { secretsKeptByRotation } from './secrets/signing-secrets';
import { toEndpointSnapshot } from './endpoint.mapper';
import { checkEndpointUrl, type HostLookup } from './ssrf/endpoint-url';
import { EgressPolicy } from '../domain/egress/ip-classifier';
import { EndpointWriteRate } from './endpoint-write-rate';

export const DEFAULT_GRACE_PERIOD_SECONDS = 86_400;

export interface EndpointPage {
  endpoints: EndpointEntity[];
  nextCursor: string | null;
}

/**
 * Tenant-scoped endpoint management: another tenant's endpoint is simply not found. Each write
 * (create, change, delete, rotation) takes a token of the tenant's EndpointWriteRate first.
 */
@Injectable()
export class EndpointsService {
  private readonly markersLost: Counter;

  constructor(
    private readonly endpoints: EndpointsRepository,
    private readonly cipher: SecretCipher,
    private readonly egress: EgressPolicy,
    @Inject(HOST_LOOKUP) private readonly lookup: HostLookup,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cache: EndpointCache,
    private readonly quotas: QuotaMetrics,
    @Inject(RecordProducer) private readonly producer: Pick<RecordProducer, 'send'>,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(EndpointWriteRate) private readonly writeRate: Pick<EndpointWriteRate, 'take'>,
  ) {
    this.markersLost = new Counter({
      name: 'hookstream_endpoint_markers_failed_total',
      help: 'Endpoint changes whose marker could not be written to the input topic (Kafka down)',
      registers: [registry],
    });
  }

  /**
   * Creates an endpoint, up to HOOKSTREAM_MAX_ENDPOINTS_PER_TENANT per tenant: refused early on a
   * count, and the insert itself counts again under a lock on the tenant, so two creations racing
   * at the limit cannot both pass.
   */
  async create(tenantId: string, input: CreateEndpointDto, now = new Date()): Promise<EndpointEntity> {
    await this.writeRate.take(tenantId, Date.now());
    const max = this.config.limits.maxEndpointsPerTenant;
    if ((await this.endpoints.countForTenant(tenantId)) >= max) throw this.overQuota(tenantId, max);
    await this.assertUrlAllowed(input.url);
    const masked = Object.entries(input.headers ?? {}).find(([, value]) => value === HEADER_VALUE_MASK);
    if (masked)
      throw DomainError.invalid(
        `headers.${masked[0]}: "${HEADER_VALUE_MASK}" keeps a stored value; there is none`,
      );
    const ordering = input.ordering ?? 'none';
    const id = randomUUID();
    const endpoint: EndpointEntity = {
      id,
      tenantId,
      url: input.url,
      description: input.description ?? null,
      eventTypes: input.eventTypes ?? ['*'],
      ordering,
      enabled: input.enabled ?? true,
      disabledReason: null,
      disabledAt: input.enabled === false ? now : null,
      ...sealHeaders(this.cipher, id, input.headers ?? {}),
      // Strict with more than one request at a time orders per key; only when asked for (ordering-key.ts).
      maxConcurrency:
        input.maxConcurrency ?? (ordering === 'strict' ? 1 : this.config.delivery.defaultMaxConcurrency),
      metadata: input.metadata ?? {},
      secrets: [this.cipher.encrypt(input.secret ?? generateSecret(), secretBinding(id), now)],
      // Set here (millisecond precision) rather than by now() (microseconds) so cursors round-trip exactly.
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.endpoints.insertWithinQuota(endpoint, max))) throw this.overQuota(tenantId, max);
    await this.announce(tenantId, endpoint.id);
    return endpoint;
  }

  async list(tenantId: string, limit = DEFAULT_PAGE_SIZE, cursor?: string): Promise<EndpointPage> {
    const after = cursor === undefined ? null : decodeCursor(cursor);
    if (cursor !== undefined && after === null) throw DomainError.invalid('cursor is not valid');
    const rows = await this.endpoints.page(tenantId, after, limit + 1);
    const endpoints = rows.slice(0, limit);
    const last = endpoints[endpoints.length - 1];
    const nextCursor = rows.length > limit ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null;
    return { endpoints, nextCursor };
  }

  async get(tenantId: string, id: string): Promise<EndpointEntity> {
    const endpoint = await this.endpoints.findForTenant(tenantId, id);
    if (!endpoint) throw DomainError.notFound('endpoint');
    return endpoint;
  }

  async update(tenantId: string, id: string, input: UpdateEndpointDto): Promise<EndpointEntity> {
    await this.writeRate.take(tenantId, Date.now());
    const endpoint = await this.get(tenantId, id);
    if (input.url !== undefined) await this.assertUrlAllowed(input.url);
    const changes: Partial<EndpointEntity> = {};
    if (input.url !== undefined) changes.url = input.url;
    if (input.description !== undefined) changes.description = input.description;
    if (input.eventTypes !== undefined) changes.eventTypes = input.eventTypes;
    if (input.ordering !== undefined) changes.ordering = input.ordering;
    if (input.maxConcurrency !== undefined) changes.maxConcurrency = input.maxConcurrency;
    if (input.metadata !== undefined) changes.metadata = input.metadata;
    if (changes.ordering === 'strict' && endpoint.ordering !== 'strict') {
      strictNeedsConcurrency(endpoint.maxConcurrency, input.maxConcurrency);
      await this.assertNoStrictLeftovers(id);
    }
    if (input.disabledReason !== undefined && input.enabled !== false) {
      throw DomainError.invalid('disabledReason goes with enabled: false', [
        'disabledReason is accepted only with "enabled": false',
      ]);
    }
    if (input.enabled === true) {
      Object.assign(changes, { enabled: true, disabledReason: null, disabledAt: null });
    } else if (input.enabled === false && endpoint.enabled) {
      Object.assign(changes, {
        enabled: false,
        disabledReason: input.disabledReason?.trim() || 'disabled by the client',
        disabledAt: new Date(),
      });
    } else if (input.enabled === false && input.disabledReason !== undefined) {
      // Already disabled: a new reason replaces the old one (the platform's own reason included).
      changes.disabledReason = input.disabledReason.trim() || 'disabled by the client';
    }
    const headers = input.headers;
    if (Object.keys(changes).length === 0 && headers === undefined) return endpoint;
    // Headers merge into the stored ones, so they are merged from the row as locked for the write:
    // merged from `endpoint`, a concurrent PATCH of headers committed since would be undone.
    const updated = await this.endpoints.update(tenantId, id, (locked) =>
      headers === undefined ? changes : { ...changes, ...this.headerChanges(locked, headers) },
    );
    if (updated === null) throw DomainError.notFound('endpoint'); // deleted since `get`
    await this.announce(tenantId, id);
    return updated;
  }

  /**
   * An endpoint taken off `strict` has its blocks lifted and its parked deliveries handed on by the
   * strict release recovery, 100 every 10 s. Made strict again before that ends, a block could name
   * a delivery already delivered as unordered (never to hand on again), and the rows still parked
   * would have no block to release them: both would wait for good. So it waits for them (409).
   */
  private async assertNoStrictLeftovers(id: string): Promise<void> {
    const leftovers = await this.endpoints.strictLeftovers(id);
    if (leftovers === 0) return;
    throw new DomainError(
      'conflict',
      'ordering cannot return to "strict" yet',
      [
        `${leftovers} blocks and parked deliveries from this endpoint's earlier strict ordering are still ` +
          'being handed on (100 every 10 s); retry once they are',
      ],
      10,
    );
  }

  async remove(tenantId: string, id: string): Promise<void> {
    await this.writeRate.take(tenantId, Date.now());
    if (!(await this.endpoints.delete(tenantId, id))) throw DomainError.notFound('endpoint');
    await this.announce(tenantId, id);
  }

  /** Why deliveries to this endpoint cannot be made (as the delivery cache sees it), or null. */
  problemOf(endpoint: EndpointEntity, now = new Date()): string | null {
    return toEndpointSnapshot(endpoint, this.cipher, now).problem;
  }

  /** The newest active signing secret, decrypted; a conflict naming the problem when it cannot be. */
  async currentSecret(tenantId: string, id: string, now = new Date()): Promise<string> {
    const endpoint = await this.get(tenantId, id);
    const { secrets, problem } = toEndpointSnapshot(endpoint, this.cipher, now);
    if (problem !== null) throw new DomainError('conflict', problem);
    return secrets[0];
  }

  /**
   * Adds a new secret in front; the previous ones keep signing for the grace period (never longer
   * than an expiry they already had), at most MAX_PREVIOUS_SECRETS of them (those expiring soonest
   * are dropped past that), and secrets already expired are dropped. So are secrets no configured
   * key decrypts: they cannot sign, and rotating is how a tenant fixes such an endpoint.
   */
  async rotateSecret(
    tenantId: string,
    id: string,
    gracePeriodSeconds = DEFAULT_GRACE_PERIOD_SECONDS,
    now = new Date(),
  ): Promise<string> {
    await this.writeRate.take(tenantId, Date.now());
    const secret = generateSecret();
    const graceEndsMs = now.getTime() + gracePeriodSeconds * 1000;
    const stored = await this.endpoints.changeSecrets(tenantId, id, (secrets) => [
      this.cipher.encrypt(secret, secretBinding(id), now),
      ...secretsKeptByRotation(this.cipher, id, secrets, now, graceEndsMs),
    ]);
    if (stored === null) throw DomainError.notFound('endpoint');
    await this.announce(tenantId, id);
    return secret;
  }

  /**
   * Makes a committed change known before the API answers: this process's cache refreshes the
   * endpoint, and a marker in the input topic, in the tenant's partition, makes every replica's
   * fan-out refresh it before the events published after the answer (README decision 31). Other
   * instances' caches also hear of it by LISTEN/NOTIFY. The change is committed either way: if the
   * marker cannot be written now (Kafka down), NOTIFY and the periodic reload still carry it, only
   * without the guarantee for an event published at once; that is logged and counted.
   */
  private async announce(tenantId: string, endpointId: string): Promise<void> {
    await this.cache.refreshEndpoint(endpointId).catch(() => undefined);
    const marker = endpointChangeMarker(tenantId, endpointId);
    await Promise.all(
      this.config.kafka.inputTopics.map((topic) => this.producer.send(topic, [marker])),
    ).catch((error: unknown) => {
      this.markersLost.inc();
      this.logger.warn({ err: error, tenantId, endpointId }, 'could not write the endpoint-change marker');
    });
  }

  /** The sealed columns after a PATCH of `headers` (the mask keeps a stored value: endpoint-headers.ts). */
  private headerChanges(endpoint: EndpointEntity, update: Record<string, string>): Partial<EndpointEntity> {
    const stored = readHeaders(this.cipher, endpoint.id, endpoint);
    const merged = mergeHeaderUpdate(stored.headers, update);
    if ('unknownMasked' in merged) {
      throw DomainError.invalid(
        `headers.${merged.unknownMasked}: "${HEADER_VALUE_MASK}" keeps a stored value, and ` +
          (stored.problem === null
            ? 'this header has none'
            : 'the stored headers cannot be read; send every value'),
      );
    }
    return sealHeaders(this.cipher, endpoint.id, merged.headers);
  }

  /** The endpoint quota's refusal (409 quota_exceeded), counted. */
  private overQuota(tenantId: string, max: number): DomainError {
    this.quotas.rejected('endpoints', tenantId);
    return new DomainError(
      'quota_exceeded',
      `tenant has ${max} endpoints, the most allowed (HOOKSTREAM_MAX_ENDPOINTS_PER_TENANT); delete one first`,
    );
  }

  private async assertUrlAllowed(url: string): Promise<void> {
    const problems = await checkEndpointUrl(url, this.egress, {
      httpsOnly: this.config.security.httpsOnly,
      lookup: this.lookup,
    });
    if (problems.length) throw DomainError.invalid(`url is not allowed: ${problems[0]}`, problems);
  }
}

/**
 * Turning an endpoint with `maxConcurrency` above 1 strict would make it strict per order key, not
 * for the whole stream as strict meant before keys (and as a client switching may expect): refused
 * unless the same request says which it wants.
 */
function strictNeedsConcurrency(stored: number, given: number | undefined): void {
  if (given !== undefined || stored <= 1) return;
  throw DomainError.invalid('ordering "strict" needs maxConcurrency in the same request', [
    `this endpoint has maxConcurrency ${stored}: with "ordering": "strict", send "maxConcurrency": 1 ` +
      'to keep the whole stream in order, or a larger number for strict order per ordering key ' +
      "(the event's partitionkey, else its subject)",
  ]);
}
