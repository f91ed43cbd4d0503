import { Module } from '@nestjs/common';
import { CatalogueModule } from '../catalogue/catalogue.module';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { IngestModule } from '../ingest/ingest.module';
import { DeliveryTaskProducer } from './delivery-task-producer';
import { ReplayJobExecutors } from './jobs/replay-job-executors';
import { ReplayJobRunner } from './jobs/replay-job-runner';
import { ReplayJobs } from './jobs/replay-jobs.repository';
import { ReplayJobsController } from './jobs/replay-jobs.controller';
import { ReplayJobsService } from './jobs/replay-jobs.service';
import { WindowJobExecutor } from './jobs/window-job-executor';
import { ReplayController } from './replay.controller';
import { ReplayService } from './replay.service';
import { ReplayTargets } from './replay-target';

/**
 * Replay jobs (window backfills from the input topics; dead-letter replays, whose executor
 * src/dead-letters registers) and test events; exports what dead-letter replay reuses.
 */
@Module({
  imports: [CatalogueModule, EndpointsModule, IngestModule],
  controllers: [ReplayController, ReplayJobsController],
  providers: [
    ReplayTargets,
    DeliveryTaskProducer,
    ReplayService,
    ReplayJobs,
    ReplayJobExecutors,
    ReplayJobRunner,
    ReplayJobsService,
    WindowJobExecutor,
  ],
  exports: [ReplayTargets, DeliveryTaskProducer, ReplayJobExecutors, ReplayJobsService, ReplayJobs],
})
export class ReplayModule {}
