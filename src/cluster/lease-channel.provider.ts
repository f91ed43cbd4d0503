import type { FactoryProvider } from '@nestjs/common';
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger.module';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { LeaseChannel } from '../domain/token-lease';
import { IpcLeaseChannel } from './ipc-lease-channel';
import type { RateBucket } from './worker-protocol';

/**
 * Where a per-tenant rate's tokens come from (TenantRate): one of several HTTP workers leases them
 * from the supervisor's `bucket` buckets (README decision 69); the only one (decision 73) or a
 * single process holds the instance's buckets itself (null).
 */
export function leaseChannelProvider(
  token: symbol,
  bucket: RateBucket,
): FactoryProvider<LeaseChannel | null> {
  return {
    provide: token,
    useFactory: (config: AppConfig, logger: Logger) =>
      cluster.isWorker && config.httpWorkers > 1 ? new IpcLeaseChannel(logger, bucket) : null,
    inject: [APP_CONFIG, LOGGER],
  };
}
