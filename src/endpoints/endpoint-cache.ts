import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { LOGGER } from '../common/logger.module';
import type { Clock } from '../domain/clock';
import { CoalescedRuns } from '../domain/coalesced-runs';
import { ReloadCarryOver } from '../domain/reload-carry-over';
import { TransientError } from '../domain/transient';
import { ChangeNotices } from '../database/change-notices';
import { deadlineIn, sharedDeadline, type QueryDeadline } from '../database/query-deadline';
import { EndpointDirectory } from './endpoint-directory';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import { SubscriptionIndex } from '../domain/subscription-matcher';
import { TenantsRepository } from '../tenants/tenants.repository';

const CHANNEL = 'hookstream_endpoints';

/**
 * Every endpoint in memory, so matching and delivery make no database round trip per event.
 * Kept in sync by LISTEN/NOTIFY (a trigger on `endpoints`) and a periodic full reload; while
 * PostgreSQL is down it keeps serving the endpoints it last knew.
 */
@Injectable()
export class EndpointCache implements OnModuleInit, OnApplicationShutdown {
  private index = new SubscriptionIndex<EndpointSnapshot>();
  private tenants = new Set<string>();
  /** Tenant ids recently confirmed unknown, with when to ask again. */
  private readonly unknownTenants = new Map<string, number>();
  /** Endpoint ids recently confirmed deleted, with when to ask again. */
  private readonly deletedEndpoints = new Map<string, number>();
  /** Lookups in PostgreSQL in flight, by endpoint id (see `lookup`). */
  private readonly lookups = new Map<string, Promise<EndpointSnapshot | undefined>>();
  private readonly notices: ChangeNotices;
  private refreshTimer?: NodeJS.Timeout;
  private lastRefreshAtMs = 0;
  /** Endpoints changed while a full reload was reading: carried over at its swap, and re-read after it. */
  private readonly carryOver = new ReloadCarryOver<string>();
  /** Tenant lookups going, by tenant id (see {@link isKnownTenant}). */
  private readonly tenantLookups = new Map<string, Promise<boolean>>();
  /** Re-reads of one endpoint, one at a time per endpoint, so the newest read lands last. */
  private readonly endpointReads = new CoalescedRuns<string>();
  /**
   * The deadlines of the callers sharing each endpoint's next read (see {@link refreshEndpoints}):
   * those who asked since its last read started.
   */
  private readonly readDeadlines = new Map<string, QueryDeadline>();
  /** The endpoints whose reads started in this synchronous step, and the one query that answers them. */
  private nextRead: {
    ids: Set<string>;
    deadlines: QueryDeadline[];
    snapshots: Promise<Map<string, EndpointSnapshot>>;
  } | null = null;
  /** Full reloads, one at a time, so an older snapshot never lands after a newer one. */
  private readonly reloads = new CoalescedRuns<'all'>();

  constructor(
    private readonly directory: EndpointDirectory,
    private readonly tenantDirectory: TenantsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.notices = new ChangeNotices(
      config.databaseUrl,
      CHANNEL,
      {
        notice: (endpointId) =>
          void this.refreshEndpoint(endpointId).catch((error: unknown) =>
            this.logger.warn({ err: error, endpointId }, 'endpoint refresh failed'),
          ),
        // Changes made while disconnected were not announced to us: reload everything once back.
        reconnected: () => void this.reload().catch(() => undefined),
      },
      logger,
    );
  }

  async onModuleInit(): Promise<void> {
    await this.notices.start();
    await this.reload();
    // A reload still reading when the next tick comes is fresh enough: the tick is skipped, not queued.
    this.refreshTimer = setInterval(() => {
      if (!this.reloads.running('all')) void this.reload().catch(() => undefined);
    }, this.config.endpointCacheRefreshMs);
  }

  match(tenantId: string, eventType: string): EndpointSnapshot[] {
    return this.index.match(tenantId, eventType);
  }

  get(endpointId: string): EndpointSnapshot | undefined {
    return this.index.get(endpointId);
  }

  all(): EndpointSnapshot[] {
    return this.index.all();
  }

  /**
   * The endpoint, asking PostgreSQL when this process has not seen it (created a moment ago on
   * another instance, or a change notice missed): undefined only once PostgreSQL has confirmed it
   * does not exist. Throws a TransientError while PostgreSQL cannot answer, or has not answered
   * within HOOKSTREAM_FANOUT_DB_TIMEOUT (its connection destroyed then), so the delivery waits.
   */
  lookup(endpointId: string): Promise<EndpointSnapshot | undefined> {
    const cached = this.index.get(endpointId);
    if (cached) return Promise.resolve(cached);
    // One query per endpoint at a time, which every caller awaits in the order it asked: separate
    // queries could answer in any order, and a later delivery reach the endpoint's lane first.
    let pending = this.lookups.get(endpointId);
    if (pending === undefined) {
      pending = this.lookUp(endpointId).finally(() => this.lookups.delete(endpointId));
      this.lookups.set(endpointId, pending);
    }
    return pending;
  }

  private async lookUp(endpointId: string): Promise<EndpointSnapshot | undefined> {
    const deletedUntil = this.deletedEndpoints.get(endpointId);
    if (deletedUntil !== undefined && deletedUntil > this.clock.now()) return undefined;
    let snapshot: EndpointSnapshot | null;
    try {
      // A PostgreSQL that hangs rather than refuses must not hold every delivery of the endpoint.
      snapshot = await this.directory.findForCache(
        endpointId,
        deadlineIn(this.config.fanoutDatabaseTimeoutMs),
      );
    } catch (error) {
      throw new TransientError(`cannot look endpoint ${endpointId} up while PostgreSQL is unavailable`, {
        cause: error,
      });
    }
    if (snapshot) {
      this.index.upsert(snapshot);
      this.tenants.add(snapshot.tenantId);
      return snapshot;
    }
    // A burst of deliveries for a deleted endpoint costs one query, not one each.
    if (this.deletedEndpoints.size >= 10_000) this.deletedEndpoints.clear();
    this.deletedEndpoints.set(endpointId, this.clock.now() + 5_000);
    return undefined;
  }

  /**
   * Re-reads one endpoint after a change (a NOTIFY, an endpoint-change marker, or a change made by
   * this process, which the NOTIFY confirms a moment later). A read already going may have begun
   * before this change, so this one runs after it rather than beside it (CoalescedRuns).
   */
  refreshEndpoint(endpointId: string): Promise<void> {
    return this.refreshEndpoints([endpointId]);
  }

  /**
   * {@link refreshEndpoint} for several endpoints, read in one query where none of them has a read
   * going: a partition's run of endpoint-change markers costs one round trip, not one per marker.
   * `deadline`: when this caller stops waiting. A read answers every caller that asked since the
   * read before it started, and the query answering reads batched together answers all of theirs:
   * its connection is destroyed only once none of them waits (see {@link sharedDeadline}).
   */
  async refreshEndpoints(endpointIds: Iterable<string>, deadline: QueryDeadline = null): Promise<void> {
    const ids = new Set(endpointIds);
    for (const id of ids) this.carryOver.changing(id);
    await Promise.all(
      [...ids].map((id) => {
        const waiting = this.readDeadlines.get(id);
        this.readDeadlines.set(id, waiting === undefined ? deadline : sharedDeadline([waiting, deadline]));
        return this.endpointReads.run(id, () => this.readEndpoint(id));
      }),
    );
  }

  private async readEndpoint(endpointId: string): Promise<void> {
    // Taken as the read starts (in the step CoalescedRuns starts it): later callers wait for the next.
    const deadline = this.readDeadlines.get(endpointId) ?? null;
    this.readDeadlines.delete(endpointId);
    const snapshot = await this.readSoon(endpointId, deadline);
    if (snapshot) {
      this.index.upsert(snapshot);
      this.tenants.add(snapshot.tenantId);
    } else {
      this.index.remove(endpointId);
    }
  }

  /**
   * The endpoint as one query reads it with every other endpoint whose read starts in the same
   * synchronous step. The query is sent just after that step, so it begins after each of their reads
   * did: CoalescedRuns' order (the read that started last lands last) holds for each endpoint.
   */
  private readSoon(endpointId: string, deadline: QueryDeadline): Promise<EndpointSnapshot | undefined> {
    if (this.nextRead === null) {
      const ids = new Set<string>();
      const deadlines: QueryDeadline[] = [];
      const snapshots = Promise.resolve().then(() => {
        this.nextRead = null;
        return this.directory
          .findManyForCache([...ids], sharedDeadline(deadlines))
          .then((found) => new Map(found.map((snapshot) => [snapshot.id, snapshot])));
      });
      this.nextRead = { ids, deadlines, snapshots };
    }
    this.nextRead.ids.add(endpointId);
    this.nextRead.deadlines.push(deadline);
    return this.nextRead.snapshots.then((found) => found.get(endpointId));
  }

  /**
   * Reads every endpoint again. One at a time: a reload asked for while one reads runs once more
   * after it (changes made while disconnected may be newer than the snapshot being read).
   */
  reload(): Promise<void> {
    return this.reloads.run('all', () => this.reloadOnce());
  }

  private async reloadOnce(): Promise<void> {
    try {
      const changed = await this.carryOver.reload(
        () => Promise.all([this.directory.listAllForCache(), this.tenantDirectory.allIds()]),
        ([snapshots, tenants], changed) => {
          const index = new SubscriptionIndex<EndpointSnapshot>();
          for (const snapshot of snapshots) index.upsert(snapshot);
          // Refreshes that landed while the list was read are newer than it: carried over in the
          // same turn as the swap, or events matched until their re-read would miss a just-created
          // endpoint (decision 31). One still reading lands in the new index; a failed one is
          // re-read below.
          for (const id of changed) {
            const live = this.index.get(id);
            if (live) index.upsert(live);
            else index.remove(id);
          }
          this.index = index;
          for (const tenant of this.tenants) tenants.push(tenant);
          this.tenants = new Set(tenants);
          this.lastRefreshAtMs = this.clock.now();
        },
      );
      await this.refreshEndpoints(changed);
    } catch (error) {
      this.logger.warn(
        { err: error, endpoints: this.index.size() },
        'endpoint cache reload failed; serving last known',
      );
      throw error;
    }
  }

  /**
   * A tenant created a moment ago may not be cached yet: ask the database before calling it unknown.
   * `deadline`: when this caller stops waiting. A lookup already going is shared and keeps the
   * deadline of the caller that started it (only the fan-out looks tenants up, all with one timeout),
   * so a caller joining it may be answered with its failure before its own deadline.
   */
  async isKnownTenant(tenantId: string, deadline: QueryDeadline = null): Promise<boolean> {
    if (this.tenants.has(tenantId)) return true;
    // A flood of events for made-up tenants must not become a flood of queries.
    const unknownUntil = this.unknownTenants.get(tenantId);
    if (unknownUntil !== undefined && unknownUntil > this.clock.now()) return false;
    // One query per tenant at a time: while PostgreSQL hangs, the fan-out's deadline abandons a
    // lookup and its retries would otherwise queue one more each in the pool.
    const going = this.tenantLookups.get(tenantId);
    if (going) return going;
    const lookup = this.lookUpTenant(tenantId, deadline).finally(() => this.tenantLookups.delete(tenantId));
    this.tenantLookups.set(tenantId, lookup);
    return lookup;
  }

  private async lookUpTenant(tenantId: string, deadline: QueryDeadline): Promise<boolean> {
    try {
      if (await this.tenantDirectory.exists(tenantId, deadline)) {
        this.tenants.add(tenantId);
        return true;
      }
      if (this.unknownTenants.size >= 10_000) this.unknownTenants.clear();
      this.unknownTenants.set(tenantId, this.clock.now() + 5_000);
      return false;
    } catch (error) {
      // PostgreSQL is down: the tenant can be confirmed neither way, so the caller waits and asks
      // again (the fan-out retries its batch) rather than calling the tenant unknown.
      throw new TransientError(`cannot confirm tenant ${tenantId} while PostgreSQL is unavailable`, {
        cause: error,
      });
    }
  }

  ageMs(): number {
    return this.clock.now() - this.lastRefreshAtMs;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.refreshTimer);
    await this.notices.stop();
  }
}
