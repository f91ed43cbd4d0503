import { ApiProperty } from '@nestjs/swagger';
import { PageQueryDto } from '../../../common/page-query.dto';
import type { ReplayJobKind, ReplayJobState, ResumePoint } from '../replay-job';

export class ListReplayJobsQueryDto extends PageQueryDto {}

export class ReplayWindowDto {
  @ApiProperty({ nullable: true, type: String }) since!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'Exclusive. Null when not given or in the future: the window then ends at what the input ' +
      'topics held when the request arrived, by offset, whatever time the records carry',
  })
  until!: string | null;
}

export class ReplayJobCountsDto {
  @ApiProperty({ description: 'Input records (window) or dead letters read so far' }) read!: number;
  @ApiProperty({ description: 'Of those, the ones for this endpoint' }) matched!: number;
  @ApiProperty({ description: 'Written to Kafka again as deliveries and acknowledged' }) replayed!: number;
}

export class ReplayJobDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['window', 'dead_letters'] }) kind!: ReplayJobKind;
  @ApiProperty({ format: 'uuid' }) endpointId!: string;
  @ApiProperty({ enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] }) state!: ReplayJobState;
  @ApiProperty({ description: 'A cancel was asked for; a running job stops after its current chunk' })
  cancelRequested!: boolean;
  @ApiProperty({ type: ReplayWindowDto, nullable: true, description: 'Window jobs: the window replayed' })
  window!: ReplayWindowDto | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Dead-letter jobs: dead letters dead-lettered up to this time are replayed',
  })
  deadLettersUpTo!: string | null;
  @ApiProperty({ type: ReplayJobCountsDto }) counts!: ReplayJobCountsDto;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'Window jobs: share of the window’s offsets read, 0 to 1; null for dead-letter jobs',
  })
  progress!: number | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'Where the job resumes after a crash: per input partition the next offset to read (window), ' +
      'or the last dead letter replayed',
  })
  resumePoint!: ResumePoint;
  @ApiProperty({ nullable: true, type: String, description: 'Why a failed job failed' }) error!:
    string | null;
  @ApiProperty({ description: 'Runs of the job: more than 1 when it was resumed after a crash' })
  runs!: number;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ nullable: true, type: String }) startedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt!: string | null;
}

export class ReplayJobPageDto {
  @ApiProperty({ type: [ReplayJobDto] }) data!: ReplayJobDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
