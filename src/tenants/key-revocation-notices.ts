import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger.module';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ChangeNotices } from '../database/change-notices';
import { KeyRevocations } from './key-revocations';

/**
 * The channel the `api_keys` trigger NOTIFYs with a key's id when it is revoked or deleted, and the
 * `tenants` trigger with `portal-links:<tenant id>` when the tenant's portal links are voided.
 */
const CHANNEL = 'hookstream_api_keys';
const PORTAL_LINKS_VOIDED = 'portal-links:';

/**
 * Revocations (and voids of a tenant's portal links) made by any process, heard by this one: without
 * them a key revoked through one replica (or one worker of `npm start`) kept working on the others
 * for the cache TTL. Only processes that serve the API listen; while the connection is lost, notices
 * are missed, so on reconnecting every cached key and portal-link floor is forgotten and looked up again.
 */
@Injectable()
export class KeyRevocationNotices implements OnModuleInit, OnApplicationShutdown {
  private readonly notices: ChangeNotices;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    revocations: KeyRevocations,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.notices = new ChangeNotices(
      config.databaseUrl,
      CHANNEL,
      {
        notice: (payload) =>
          payload.startsWith(PORTAL_LINKS_VOIDED)
            ? revocations.portalLinksVoided(payload.slice(PORTAL_LINKS_VOIDED.length))
            : revocations.revoked(payload),
        reconnected: () => revocations.missed(),
      },
      logger,
    );
  }

  async onModuleInit(): Promise<void> {
    if (this.config.roles.has('api')) await this.notices.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.notices.stop();
  }
}
