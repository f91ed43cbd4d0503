import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { ChangeNotices } from '../database/change-notices';
import { CatalogueSchemas, type CatalogueEntry, type SchemaRejection } from '../domain/catalogue-schemas';
import { CoalescedRuns } from '../domain/coalesced-runs';
import { ReloadCarryOver } from '../domain/reload-carry-over';
import { EventTypesRepository } from './event-types.repository';

const CHANNEL = 'hookstream_event_types';

/**
 * The event catalogue in memory, with each schema compiled once per version, so validating an
 * event costs a map lookup and a compiled function call, never a query. Kept in sync like the
 * endpoint cache: a trigger NOTIFYs every change (applied within about a second on every replica),
 * the replica making a change applies it at once, and a full reload every
 * HOOKSTREAM_CATALOGUE_REFRESH (and on reconnecting) bounds the staleness after a missed notice.
 * While PostgreSQL is down it keeps validating with what it last knew.
 */
@Injectable()
export class EventCatalogue implements OnModuleInit, OnApplicationShutdown {
  private readonly schemas = new CatalogueSchemas();
  private readonly notices: ChangeNotices;
  private refreshTimer?: NodeJS.Timeout;
  private readonly reported = new Map<string, string>();
  /** Types changed while a full reload was reading: carried over at its swap, and re-read after it. */
  private readonly carryOver = new ReloadCarryOver<string>();
  /** Re-reads of one type, one at a time per type, so the newest read lands last. */
  private readonly typeReads = new CoalescedRuns<string>();
  /** Full reloads, one at a time, so an older snapshot never lands after a newer one. */
  private readonly reloads = new CoalescedRuns<'all'>();

  constructor(
    private readonly repository: EventTypesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.notices = new ChangeNotices(
      config.databaseUrl,
      CHANNEL,
      {
        notice: (name) =>
          void this.refresh(name).catch((error: unknown) =>
            this.logger.warn({ err: error, eventType: name }, 'event type refresh failed'),
          ),
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
    }, this.config.catalogueRefreshMs);
  }

  /** Null unless `type`'s schema is in `reject` mode and `data` fails it. */
  check(type: string, data: unknown): SchemaRejection | null {
    return this.schemas.check(type, data);
  }

  /** Every catalogued type as this replica last heard, by name (for the OpenAPI document). */
  entries(): CatalogueEntry[] {
    return this.schemas.entries();
  }

  /** Whether a type is catalogued (as this replica last heard). */
  has(type: string): boolean {
    return this.schemas.has(type);
  }

  size(): number {
    return this.schemas.size();
  }

  /** Applies a change this process made at once (its NOTIFY confirms it a moment later). */
  applied(entry: CatalogueEntry | { name: string; removed: true }): void {
    this.carryOver.changing(entry.name);
    if ('removed' in entry) this.schemas.remove(entry.name);
    else this.schemas.apply(entry);
    this.report();
  }

  /** Re-reads one type after its NOTIFY; a read already going may predate the change, so this runs after it. */
  refresh(name: string): Promise<void> {
    this.carryOver.changing(name);
    return this.typeReads.run(name, () => this.readType(name));
  }

  private async readType(name: string): Promise<void> {
    const row = await this.repository.find(name);
    this.applied(row ?? { name, removed: true });
  }

  /**
   * Reads the whole catalogue again. One at a time: a reload asked for while one reads runs once
   * more after it (changes made while disconnected may be newer than the snapshot being read).
   */
  reload(): Promise<void> {
    return this.reloads.run('all', () => this.reloadOnce());
  }

  private async reloadOnce(): Promise<void> {
    try {
      const changed = await this.carryOver.reload(
        () => this.repository.all(),
        (entries, changed) => {
          // A type changed while the snapshot was read is newer than it: kept as it is live here.
          const kept: CatalogueEntry[] = entries.filter((entry) => !changed.has(entry.name));
          for (const name of changed) {
            const live = this.schemas.get(name);
            if (live) kept.push(live);
          }
          this.schemas.replaceAll(kept);
          this.report();
        },
      );
      await Promise.all([...changed].map((name) => this.refresh(name)));
    } catch (error) {
      this.logger.warn({ err: error }, 'event catalogue reload failed; validating with the last known');
      throw error;
    }
  }

  /** One warning per stored schema this build cannot compile (it validates nothing meanwhile). */
  private report(): void {
    for (const [name, message] of this.schemas.problems()) {
      if (this.reported.get(name) === message) continue;
      this.reported.set(name, message);
      this.logger.warn(
        { eventType: name, problem: message },
        'stored event schema does not compile; not validating',
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.refreshTimer);
    await this.notices.stop();
  }
}
