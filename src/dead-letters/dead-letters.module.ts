import { Module } from '@nestjs/common';
import { ReplayModule } from '../replay/replay.module';
import { DeadLetterMirror } from './dead-letter-mirror';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersRepository } from './dead-letters.repository';
import { DeadLettersService } from './dead-letters.service';

/** The DLQ topic mirrored into PostgreSQL, listed and replayed over REST. */
@Module({
  imports: [ReplayModule],
  controllers: [DeadLettersController],
  providers: [DeadLettersRepository, DeadLetterMirror, DeadLettersService],
  exports: [DeadLetterMirror, DeadLettersService],
})
export class DeadLettersModule {}
