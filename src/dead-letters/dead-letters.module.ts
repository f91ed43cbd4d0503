import { Module } from '@nestjs/common';
import { IngestModule } from '../ingest/ingest.module';
import { ReplayModule } from '../replay/replay.module';
import { DeadLetterJobExecutor } from './dead-letter-job-executor';
import { DeadLetterMirror } from './dead-letter-mirror';
import { DeadLetterMirrorController } from './dead-letter-mirror.controller';
import { DeadLetterRetention } from './dead-letter-retention';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersRepository } from './dead-letters.repository';
import { DeadLettersService } from './dead-letters.service';

/** The DLQ topic mirrored into PostgreSQL, listed and replayed over REST, and deleted after its retention. */
@Module({
  imports: [ReplayModule, IngestModule],
  controllers: [DeadLettersController, DeadLetterMirrorController],
  providers: [
    DeadLettersRepository,
    DeadLetterMirror,
    DeadLettersService,
    DeadLetterJobExecutor,
    DeadLetterRetention,
  ],
  exports: [DeadLettersService, DeadLettersRepository],
})
export class DeadLettersModule {}
