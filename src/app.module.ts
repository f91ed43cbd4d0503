import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiRoleGuard } from './common/roles';
import type { Logger } from 'pino';
import type { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { ClockModule } from './common/clock.module';
import { MetricsRegistryModule } from './common/metrics-registry.module';
import { LoggerModule } from './common/logger.module';
import { DatabaseModule } from './database/database.module';
import { KafkaModule } from './kafka/kafka.module';
import { HealthModule } from './ops/health/health.module';
import { MetricsModule } from './ops/metrics/metrics.module';
import { FanoutModule } from './fanout/fanout.module';
import { DeliveryModule } from './delivery/delivery.module';
import { RetryModule } from './retry/retry.module';
import { IngestModule } from './ingest/ingest.module';
import { AuthModule } from './tenants/auth/auth.module';
import { TenantsModule } from './tenants/tenants.module';
import { EndpointsModule } from './endpoints/endpoints.module';
import { DeadLettersModule } from './dead-letters/dead-letters.module';
import { ReplayModule } from './replay/replay.module';
import { OpsModule } from './ops/ops.module';
import { EventsModule } from './events/events.module';
import { PortalModule } from './portal/portal.module';
import { CatalogueModule } from './catalogue/catalogue.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(logger),
        ClockModule,
        MetricsRegistryModule,
        DatabaseModule,
        KafkaModule,
        HealthModule,
        AuthModule,
        TenantsModule,
        CatalogueModule,
        EndpointsModule,
        MetricsModule,
        RetryModule,
        DeliveryModule,
        FanoutModule,
        IngestModule,
        ReplayModule,
        DeadLettersModule,
        EventsModule,
        PortalModule,
        OpsModule,
      ],
      providers: [{ provide: APP_GUARD, useClass: ApiRoleGuard }],
    };
  }
}
